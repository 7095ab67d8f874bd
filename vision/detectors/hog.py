"""dlib's HOG face detector: five linear filters (front, turned left, turned right, and two
tilted fronts) over a HOG image pyramid. It finds the face in a selfie (``vision.identity``);
its score is the filter's margin (0 is dlib's own threshold). Also the tiling of big images."""

from __future__ import annotations

import threading
from typing import Any

import dlib
import numpy as np
from numpy.typing import NDArray

from vision.detectors.port import Detection
from vision.geometry import Box

_per_thread = threading.local()


def _thread_hog() -> Any:
    # dlib's detector keeps scratch buffers inside: one instance per thread, never shared.
    if not hasattr(_per_thread, "hog"):
        _per_thread.hog = dlib.get_frontal_face_detector()
    return _per_thread.hog


def tiles(width: int, height: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles ``(x, y, w, h)`` that cover a ``width`` × ``height`` image."""

    def starts(total: int) -> list[int]:
        if total <= tile:
            return [0]
        out = list(range(0, total - tile, tile - overlap))
        return [*out, total - tile]

    return [
        (x, y, min(tile, width), min(tile, height)) for y in starts(height) for x in starts(width)
    ]


def hog_detect(image: NDArray[np.uint8], upsample: int, floor: float = 0.0) -> list[Detection]:
    """dlib HOG detections on a whole image with ``upsample`` doublings (thread-safe)."""
    rects, scores, variants = _thread_hog().run(image, upsample, floor)
    return [
        Detection(Box(r.left(), r.top(), r.width(), r.height()), float(s), "hog", int(v))
        for r, s, v in zip(rects, scores, variants, strict=True)
    ]


def to_dlib_rect(box: Box) -> dlib.rectangle:
    """A ``dlib.rectangle`` for ``box``."""
    return dlib.rectangle(box.x, box.y, box.x + box.w - 1, box.y + box.h - 1)
