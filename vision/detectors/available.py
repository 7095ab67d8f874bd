"""The detectors a room photo can be searched with, by name."""

from __future__ import annotations

from collections.abc import Sequence

from vision.detectors.blazeface import BlazeFaceDetector
from vision.detectors.haar import HaarDetector
from vision.detectors.hog import HogDetector
from vision.detectors.models import Models
from vision.detectors.port import FaceDetector
from vision.detectors.yunet import YuNetDetector

#: every adapter, slowest first (they run side by side: the slow ones should start first)
ALL_DETECTORS = ("hog", "haar_frontal", "blaze", "yunet", "yunet_mirrored")


def room_detectors(models: Models, names: Sequence[str] = ALL_DETECTORS) -> list[FaceDetector]:
    """The adapters for ``names`` (``ALL_DETECTORS``), in that order, on loaded ``models``."""
    made: dict[str, FaceDetector] = {
        "hog": HogDetector(),
        "haar_frontal": HaarDetector(),
        "blaze": BlazeFaceDetector(models.blazeface),
        "yunet": YuNetDetector(models.yunet),
        "yunet_mirrored": YuNetDetector(models.yunet, mirrored=True),
    }
    unknown = set(names) - set(made)
    if unknown:
        raise ValueError(f"unknown detectors: {sorted(unknown)}")
    return [made[name] for name in names]
