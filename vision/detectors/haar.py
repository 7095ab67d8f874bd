"""OpenCV's Haar frontal-face cascade. Its score is how many raw windows agreed on a face (its
level weights are all about 55 and say nothing about confidence)."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from vision.detectors.models import HAAR_FRONTAL, load_cascade
from vision.detectors.port import Detection, Picture
from vision.geometry import Box

_per_thread = threading.local()


def _thread_cascade() -> cv2.CascadeClassifier:
    # A cascade is not safe to share between threads.
    if not hasattr(_per_thread, "cascade"):
        _per_thread.cascade = load_cascade(HAAR_FRONTAL)
    cascade: cv2.CascadeClassifier = _per_thread.cascade
    return cascade


class HaarDetector:
    """``FaceDetector`` adapter: the frontal cascade on the grey photo, faces from ``min_face``
    px up to a quarter of the photo's shorter side."""

    name = "haar_frontal"

    def __init__(self, min_face: int = 20, scale: float = 1.08) -> None:
        self.min_face = min_face
        self.scale = scale

    def detect(self, picture: Picture) -> list[Detection]:
        """Every window group the cascade finds, scored by its number of windows."""
        largest = max(self.min_face, min(picture.width, picture.height) // 4)
        boxes, neighbours = _thread_cascade().detectMultiScale2(
            picture.gray,
            scaleFactor=self.scale,
            minNeighbors=1,
            minSize=(self.min_face, self.min_face),
            maxSize=(largest, largest),
        )
        return [
            Detection(Box(int(x), int(y), int(w), int(h)), float(n), self.name)
            for (x, y, w, h), n in zip(boxes, np.ravel(neighbours), strict=True)
        ]
