"""dlib's HOG face detector: five linear filters (front, turned left, turned right, and two
tilted fronts) over a HOG image pyramid. Good at frontal faces from about 40 px; run on the
photo upsampled once it reaches about 20 px. Its score is the filter's margin (0 is dlib's own
threshold; weak hits down to -1 are kept, for agreement with other detectors)."""

from __future__ import annotations

import threading
from typing import Any, Final

import dlib
import numpy as np
from numpy.typing import NDArray

from vision.detectors.port import Detection, Picture
from vision.geometry import Box, non_max_suppression

_per_thread = threading.local()
# A photo over this many pixels is searched in tiles: one upsampled pass over a 12 MP photo
# takes the analysis's memory from 1.7 GB to 2.2 GB. A 1080p photo is 2.1 MP.
WHOLE_MAX: Final = 2_600_000
TILE: Final = 720
OVERLAP: Final = 120


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


class HogDetector:
    """``FaceDetector`` adapter: HOG on the grey photo upsampled once (tiles when it is big)."""

    name = "hog"

    def __init__(self, floor: float = -1.0) -> None:
        self.floor = floor

    def detect(self, picture: Picture) -> list[Detection]:
        """Faces with a HOG margin of at least ``floor``, one box per face."""
        gray, width, height = picture.gray, picture.width, picture.height
        if width * height <= WHOLE_MAX:
            hits = hog_detect(gray, 1, self.floor)
        else:
            hits = hog_detect(gray, 0, self.floor)
            for x, y, w, h in tiles(width, height, TILE, OVERLAP):
                part = np.ascontiguousarray(gray[y : y + h, x : x + w])
                hits += [
                    Detection(d.box.scaled(1.0, x, y), d.score, d.detector, d.variant)
                    for d in hog_detect(part, 1, self.floor)
                ]
        kept = non_max_suppression([d.box for d in hits], [d.score for d in hits])
        return [hits[i] for i in sorted(kept)]


def to_dlib_rect(box: Box) -> dlib.rectangle:
    """A ``dlib.rectangle`` for ``box``."""
    return dlib.rectangle(box.x, box.y, box.x + box.w - 1, box.y + box.h - 1)
