"""The detectors a room photo is searched with, by name."""

from __future__ import annotations

from collections.abc import Sequence

from vision.detectors.blazeface import BlazeFaceDetector
from vision.detectors.models import Models
from vision.detectors.port import FaceDetector
from vision.detectors.yunet import YuNetDetector

#: every room detector. dlib's HOG and OpenCV's Haar cascade were measured too: on top of these
#: they found no head the policy counts (docs/vision-history.md), and cost ~1 s of CPU a photo.
ALL_DETECTORS = ("blaze", "yunet", "yunet_mirrored")


def room_detectors(models: Models, names: Sequence[str] = ALL_DETECTORS) -> list[FaceDetector]:
    """The adapters for ``names`` (``ALL_DETECTORS``), in that order, on loaded ``models``."""
    made: dict[str, FaceDetector] = {
        "blaze": BlazeFaceDetector(models.blazeface),
        "yunet": YuNetDetector(models.yunet),
        "yunet_mirrored": YuNetDetector(models.yunet, mirrored=True),
    }
    unknown = set(names) - set(made)
    if unknown:
        raise ValueError(f"unknown detectors: {sorted(unknown)}")
    return [made[name] for name in names]
