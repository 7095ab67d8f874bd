"""The ``FaceDetector`` port and running several detectors on one photo at once."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
from numpy.typing import NDArray

from vision.geometry import Box

#: The widest face a detector reports, as a share of the photo's shorter side. A quarter loses
#: the nearest face of a close photo of three friends (0.27 of the photo), but anything wider
#: let YuNet and its mirrored run agree on wall patterns of 0.30–0.46 of a 1080p room: sizes
#: alone cannot tell the two apart (docs/vision-history.md, "Real photographs").
LARGEST_FACE: Final = 0.25


@dataclass(frozen=True)
class Picture:
    """A photo as the detectors take it: RGB and grey pixels of the same size."""

    rgb: NDArray[np.uint8]
    gray: NDArray[np.uint8]

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.rgb.shape[0])


def largest_face(picture: Picture) -> int:
    """The widest face, in pixels, a detector reports on ``picture`` (``LARGEST_FACE``)."""
    return int(min(picture.width, picture.height) * LARGEST_FACE)


@dataclass(frozen=True)
class Detection:
    """One detector's hit: its box, its score on the detector's own scale (a probability for
    YuNet and BlazeFace, a margin for dlib's HOG, agreeing windows for Haar), which detector
    (``FaceDetector.name``), which of its filters fired (HOG: 1 and 2 are its turned-head
    filters) and the landmarks it gives, if any (YuNet: eyes, nose tip, mouth corners)."""

    box: Box
    score: float
    detector: str
    variant: int = 0
    landmarks: tuple[tuple[float, float], ...] = ()


class FaceDetector(Protocol):
    """Finds faces in a photo. ``name`` is stored with every face it sees."""

    name: str

    def detect(self, picture: Picture) -> list[Detection]:
        """Every face scoring at least the detector's floor, in the picture's pixels."""
        ...


def detect_all(
    detectors: Sequence[FaceDetector], picture: Picture, pool: Executor
) -> list[Detection]:
    """Every detector's hits on ``picture``, run side by side on ``pool`` (OpenCV and dlib
    release the GIL), in the order of ``detectors`` (list the slowest first)."""
    jobs = [pool.submit(detector.detect, picture) for detector in detectors]
    return [hit for job in jobs for hit in job.result()]
