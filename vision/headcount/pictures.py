"""Pictures on the wall are not people: the room's photos from other days.

A training room's tablet photographs the room session after session from the same mount. A
face-like picture in it (a safety poster, a print on a mug, a coin on a notice board) sits at
the same place with the same pixels in every photo; a person does not: other people sit there
on other days, and nobody holds the same pose to the pixel. ``RoomMemory.unchanged`` says, for
each face box of this photo, in how many of the room's photos from other days its central
pixels are found again within a few pixels of the same place; ``count_faces`` sets aside a face
found in ``CountPolicy.picture_days`` of them.

Two guards keep people counted. The app passes only photos of *other* sessions, at least
``STATIC_GAP`` apart, never the same people a minute earlier. And a photo from another day in
which two thirds or more of this photo's faces are unchanged is this photo uploaded again
(reuse, which the forensics report): it is not used.

A photo of another size or aspect is not used; one taken by a tablet knocked or put back a
little askew is lined up with this photo first (``line_up``: the corners of the room's walls,
boards and furniture outvote the people, who change).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.decode import decode_image
from vision.errors import ImageRejected
from vision.geometry import Box

Gray = NDArray[np.uint8]

#: the least time between another photo of the room and this one (the caller enforces it)
STATIC_GAP: Final = timedelta(hours=12)
#: how many photos of the room from other sessions are compared (each adds ~20 ms)
EARLIER_PHOTOS: Final = 3
#: a photo compared with fewer than this many is worth analysing again when the room gets more
FULL_MEMORY: Final = EARLIER_PHOTOS
#: central pixels of a face box two photos must share at this likeness (normalised
#: cross-correlation) for it to be unchanged; people on other days scored at most 0.92
LIKENESS: Final = 0.95
#: the share of the box (its centre) that is compared, and how far it may have moved
INNER: Final = 0.6
SHIFT: Final = 0.1
#: a photo shifted further than this many pixels is lined up by its corners first
LINE_UP_OVER: Final = 4.0


@dataclass(frozen=True)
class MemoryUse:
    """What became of the other photos of the room, for a person to see why a picture was or
    was not set aside: used as taken from the same place; lined up first; taken from too far
    elsewhere to line up (so finding nothing); the same photo again (not used); or left out
    (another shape, or no image)."""

    same_place: int = 0
    lined_up: int = 0
    not_lined_up: int = 0
    reuse: int = 0
    left_out: int = 0

    def to_payload(self) -> dict[str, int]:
        """Plain dict for the event payload."""
        return asdict(self)


def earlier_views(photos: Sequence[bytes], shape: tuple[int, int]) -> list[Gray]:
    """The other photos as grey images of ``shape`` (height, width): each resized from the same
    aspect ratio (within 1%); others, and bytes that do not decode, are left out."""
    height, width = shape
    views = []
    for data in photos:
        try:
            gray = decode_image(data).gray
        except ImageRejected:
            continue
        h, w = gray.shape[:2]
        if abs(w / h - width / height) > 0.01 * (width / height):
            continue
        if (h, w) != (height, width):
            how = cv2.INTER_AREA if w > width else cv2.INTER_LINEAR
            gray = np.asarray(cv2.resize(gray, (width, height), interpolation=how), np.uint8)
        views.append(gray)
    return views


def likeness(gray: Gray, other: Gray, box: Box) -> float:
    """How alike the box's central pixels are to the best-matching place in ``other`` near the
    same spot: normalised cross-correlation, 1.0 for the same pixels, 0 for a flat patch."""
    w, h = max(1, round(box.w * INNER)), max(1, round(box.h * INNER))
    x, y = box.x + (box.w - w) // 2, box.y + (box.h - h) // 2
    height, width = gray.shape[:2]
    if x < 0 or y < 0 or x + w > width or y + h > height or w < 4 or h < 4:
        return 0.0
    patch = gray[y : y + h, x : x + w]
    if float(patch.std()) < 2.0:
        return 0.0
    shift = max(4, round(SHIFT * box.w))
    area = other[max(0, y - shift) : y + h + shift, max(0, x - shift) : x + w + shift]
    if area.shape[0] < h or area.shape[1] < w:
        return 0.0
    return float(cv2.matchTemplate(area, patch, cv2.TM_CCOEFF_NORMED).max())


def offset(gray: Gray, other: Gray) -> float:
    """How far (pixels) another photo is shifted from this one: phase correlation of 480 px
    wide copies, its larger part."""
    height, width = gray.shape[:2]
    small = (480, max(8, round(480 * height / width)))
    a = cv2.resize(gray, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(other, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, cv2.createHanningWindow(small, cv2.CV_32F))
    return float(max(abs(dx), abs(dy)) * width / 480)


def line_up(gray: Gray, other: Gray) -> Gray | None:
    """``other`` turned, scaled and shifted onto ``gray`` by the corners both show (ORB, then
    RANSAC), or ``None`` when fewer than 40 agree or the move is more than 10° or 15%."""
    orb = cv2.ORB.create(nfeatures=2000)
    mine, my_desc = orb.detectAndCompute(gray, None)
    theirs, their_desc = orb.detectAndCompute(other, None)
    if my_desc is None or their_desc is None:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(their_desc, my_desc, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < 40:
        return None
    source = np.array([theirs[m.queryIdx].pt for m in good], np.float32)
    target = np.array([mine[m.trainIdx].pt for m in good], np.float32)
    move, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC)
    if move is None or inliers is None or int(inliers.sum()) < 40:
        return None
    scale = float(np.hypot(move[0, 0], move[1, 0]))
    turn = float(np.degrees(np.arctan2(move[1, 0], move[0, 0])))
    if abs(scale - 1) > 0.15 or abs(turn) > 10:
        return None
    height, width = gray.shape[:2]
    return np.asarray(cv2.warpAffine(other, move, (width, height)), np.uint8)


def days_used(same: Sequence[Sequence[bool]]) -> list[bool]:
    """Which other photos are used, given which boxes each shows unchanged: one showing two
    thirds or more of them (two at least) is this photo uploaded again, and is not."""
    return [not (sum(row) >= 2 and 3 * sum(row) >= 2 * len(row)) for row in same]


def days_unchanged(same: Sequence[Sequence[bool]], boxes: int) -> list[int]:
    """For each of ``boxes`` boxes, in how many used photos it is unchanged (``same``: per
    photo, per box)."""
    days = [0] * boxes
    for row, use in zip(same, days_used(same), strict=True):
        if use:
            days = [n + s for n, s in zip(days, row, strict=True)]
    return days


class RoomMemory:
    """This photo (grey, at the size faces are found at) and the room's photos from other
    days, lined up with it. ``unchanged`` is ``count_faces``'s picture step."""

    def __init__(self, gray: Gray, others: Sequence[Gray], left_out: int = 0) -> None:
        self.gray = gray
        self.views: list[tuple[Gray, str]] = []
        self.use = Counter[str](left_out=left_out)
        for other in others:
            if offset(gray, other) <= LINE_UP_OVER:
                self.views.append((other, "same_place"))
                continue
            moved = line_up(gray, other)
            if moved is None:
                self.use["not_lined_up"] += 1
            else:
                self.views.append((moved, "lined_up"))

    def unchanged(self, boxes: Sequence[Box]) -> list[int]:
        """In how many of the other photos each box is unchanged (``days_unchanged``)."""
        same = [
            [likeness(self.gray, view, box) >= LIKENESS for box in boxes] for view, _ in self.views
        ]
        used = days_used(same)
        for (_, kind), use in zip(self.views, used, strict=True):
            self.use[kind if use else "reuse"] += 1
        return days_unchanged(same, len(boxes))

    @property
    def report(self) -> MemoryUse:
        """What became of each other photo (after ``unchanged`` ran)."""
        return MemoryUse(**{k: max(0, v) for k, v in self.use.items()})
