"""YuNet, OpenCV's own face detector (``cv2.FaceDetectorYN``), with its model file in the repo.

``data/yunet/face_detection_yunet_2023mar.onnx`` (232 KB, MIT, Shiqi Yu; the OpenCV Zoo
file, byte-identical to ``onnx/yunet_s_640_640.onnx`` of libfacedetection.train: sha256
``8f2383e4…2552fa4``) was trained on WIDER FACE, whose faces are turned, bowed, small and
blurred: it sees many heads turned 30–50° that the frontal HOG and Haar detectors and BlazeFace miss
(docs/vision-history.md). It runs on the whole image at its own size (faces of about 10–300 px)
and gives a score (0–1) and five landmarks per face: eyes, nose tip, mouth corners.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.detectors.port import Detection, Picture, largest_face
from vision.geometry import Box

MODEL: Final = Path(__file__).parent / "data" / "yunet" / "face_detection_yunet_2023mar.onnx"
MODEL_SHA256: Final = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
# Hits below this score are not returned at all; callers choose their own evidence thresholds.
FLOOR: Final = 0.1
NMS: Final = 0.3
TOP_K: Final = 5000
MIN_SIDE: Final = 32  # the network's coarsest stride


@dataclass(frozen=True)
class YuNetHit:
    """One face: box and score in image pixels, and the five landmarks ``(x, y)`` in the order
    right eye, left eye (as seen in the image: left, right), nose tip, mouth right, mouth left."""

    box: Box
    score: float
    landmarks: tuple[tuple[float, float], ...]


class YuNet:
    """The loaded model. ``detect`` is thread-safe: a ``FaceDetectorYN`` keeps its input size
    and buffers inside, so each thread gets its own detector."""

    def __init__(self, path: Path) -> None:
        self._path = str(path)
        self._local = threading.local()
        self._detector()  # fail at load, not on the first photo

    @classmethod
    def load(cls, path: Path = MODEL, sha256: str | None = MODEL_SHA256) -> YuNet:
        """Read the model at ``path`` and check its ``sha256`` (``None``: any file OpenCV reads);
        ``FileNotFoundError`` if it is missing, altered or unreadable."""
        try:
            onnx = path.read_bytes()
        except OSError as exc:
            raise FileNotFoundError(f"YuNet model missing at {path}: {exc}") from exc
        if sha256 is not None and hashlib.sha256(onnx).hexdigest() != sha256:
            raise FileNotFoundError(f"YuNet model at {path} is not the shipped file (sha256)")
        try:
            return cls(path)
        except cv2.error as exc:
            raise FileNotFoundError(f"YuNet model did not load from {path}: {exc}") from exc

    def _detector(self) -> cv2.FaceDetectorYN:
        det: cv2.FaceDetectorYN | None = getattr(self._local, "detector", None)
        if det is None:
            det = cv2.FaceDetectorYN.create(self._path, "", (320, 320), FLOOR, NMS, TOP_K)
            self._local.detector = det
        return det

    def detect(
        self, rgb: NDArray[np.uint8], threshold: float, scale: float = 1.0
    ) -> list[YuNetHit]:
        """Faces scoring at least ``threshold`` in an RGB image, run at ``scale`` × its size
        (upscale to find smaller faces), in the image's pixels."""
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if scale != 1.0:
            bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        height, width = bgr.shape[:2]
        if height < MIN_SIDE or width < MIN_SIDE:
            # Thinner than the network's coarsest stride, its output is garbage (boxes far
            # outside the image, seen on a 2×3000 sliver): pad with black up to the stride.
            bgr = cv2.copyMakeBorder(
                bgr,
                0,
                max(0, MIN_SIDE - height),
                0,
                max(0, MIN_SIDE - width),
                cv2.BORDER_CONSTANT,
            )
        det = self._detector()
        det.setScoreThreshold(max(threshold, FLOOR))
        det.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, faces = det.detect(bgr)
        hits = []
        for row in np.empty((0, 15), np.float32) if faces is None else faces:
            x, y, w, h = (float(v) for v in row[:4])
            inside = 0 <= x + w / 2 <= width and 0 <= y + h / 2 <= height
            if not (np.isfinite(row).all() and inside and w >= 1 and h >= 1):
                continue
            marks = tuple(
                (float(row[4 + 2 * i]) / scale, float(row[5 + 2 * i]) / scale) for i in range(5)
            )
            box = Box(int(x / scale), int(y / scale), int(w / scale), int(h / scale))
            hits.append(YuNetHit(box, float(row[14]), marks))
        return hits


def mirrored(hits: list[YuNetHit], width: int) -> list[YuNetHit]:
    """Hits found on an image mirrored left to right, put back on the image itself: boxes
    mirrored, landmarks mirrored and their left/right pairs swapped (right eye stays first)."""
    out = []
    for hit in hits:
        marks = [(width - x, y) for x, y in hit.landmarks]
        if len(marks) == 5:
            marks = [marks[1], marks[0], marks[2], marks[4], marks[3]]
        out.append(YuNetHit(hit.box.mirrored(width), hit.score, tuple(marks)))
    return out


class YuNetDetector:
    """``FaceDetector`` adapter: YuNet on the whole photo, or (``mirrored``) on the photo
    flipped left to right and put back. YuNet is not symmetric: some heads turned 40–50° it
    sees only one way round, so the mirrored run counts as a detector of its own."""

    def __init__(self, model: YuNet, mirrored: bool = False, floor: float = 0.15) -> None:
        self.model = model
        self.mirrored = mirrored
        self.floor = floor
        self.name = "yunet_mirrored" if mirrored else "yunet"

    def detect(self, picture: Picture) -> list[Detection]:
        """Faces scoring at least ``floor``, up to ``LARGEST_FACE`` of the shorter side wide."""
        largest = largest_face(picture)
        if self.mirrored:
            flipped = np.ascontiguousarray(picture.rgb[:, ::-1])
            hits = mirrored(self.model.detect(flipped, self.floor), picture.width)
        else:
            hits = self.model.detect(picture.rgb, self.floor)
        return [
            Detection(h.box, h.score, self.name, 0, h.landmarks) for h in hits if h.box.w <= largest
        ]
