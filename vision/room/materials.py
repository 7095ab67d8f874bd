"""Training materials present in a room photo: printed ArUco markers of the course's kit.

A course kit maps marker ids to material names (the screen, PPE, handouts...). A marker stuck on
each item makes "were the materials there?" a fact a photo can show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

ARUCO_DICTIONARY: Final = cv2.aruco.DICT_4X4_50


@dataclass(frozen=True)
class CourseKit:
    """The markers a course's materials carry: marker id → material name."""

    markers: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def from_names(cls, names: Mapping[str, int]) -> CourseKit:
        """A kit from material name → marker id (the way a trainer writes it down)."""
        return cls({marker: name for name, marker in names.items()})


@dataclass(frozen=True)
class MarkerSeen:
    """One detected marker: id, its material (``None`` if not in the kit), corner points."""

    marker_id: int
    material: str | None
    corners: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class MaterialsSeen:
    """Which kit materials are visible, which are missing, and every marker found."""

    present: tuple[str, ...]
    missing: tuple[str, ...]
    markers: tuple[MarkerSeen, ...]


def _detector() -> cv2.aruco.ArucoDetector:
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARY)
    return cv2.aruco.ArucoDetector(dictionary, cv2.aruco.DetectorParameters())


def find_materials(gray: NDArray[np.uint8], kit: CourseKit) -> MaterialsSeen:
    """Detect ArUco markers (4×4, ids 0–49) in a grey image and check them against ``kit``."""
    corners, ids, _rejected = _detector().detectMarkers(gray)
    seen: list[MarkerSeen] = []
    if ids is not None:
        for quad, marker in zip(corners, np.ravel(ids), strict=True):
            pts = tuple((round(float(x), 1), round(float(y), 1)) for x, y in quad.reshape(4, 2))
            seen.append(MarkerSeen(int(marker), kit.markers.get(int(marker)), pts))
    seen.sort(key=lambda m: m.marker_id)
    present = sorted({m.material for m in seen if m.material is not None})
    missing = sorted(set(kit.markers.values()) - set(present))
    return MaterialsSeen(tuple(present), tuple(missing), tuple(seen))


def marker_image(marker_id: int, side: int = 200) -> NDArray[np.uint8]:
    """A printable marker (grey, white quiet zone) from the kit dictionary."""
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICTIONARY)
    inner = cv2.aruco.generateImageMarker(dictionary, marker_id, side)
    pad = side // 5
    return np.asarray(cv2.copyMakeBorder(inner, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255))
