"""Boxes, overlap and non-max suppression: the pure geometry under face detection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Box:
    """An axis-aligned box in pixels: left, top, width, height (width and height > 0)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        """Width × height."""
        return self.w * self.h

    @property
    def centre(self) -> tuple[float, float]:
        """Centre point (x, y)."""
        return (self.x + self.w / 2, self.y + self.h / 2)

    def contains(self, point: tuple[float, float]) -> bool:
        """Whether ``point`` (x, y) lies inside this box or on its edge."""
        px, py = point
        return self.x <= px <= self.x + self.w and self.y <= py <= self.y + self.h

    def mirrored(self, width: int) -> Box:
        """This box in an image ``width`` px wide mirrored left to right (and back)."""
        return Box(width - self.x - self.w, self.y, self.w, self.h)

    def scaled(self, factor: float, dx: int = 0, dy: int = 0) -> Box:
        """This box scaled by ``factor`` about the origin, then shifted by (dx, dy)."""
        return Box(
            round(self.x * factor) + dx,
            round(self.y * factor) + dy,
            max(1, round(self.w * factor)),
            max(1, round(self.h * factor)),
        )

    def clipped(self, width: int, height: int) -> Box:
        """This box clipped to an image of ``width`` × ``height`` (at least 1×1 pixel)."""
        x0, y0 = min(max(self.x, 0), width - 1), min(max(self.y, 0), height - 1)
        x1, y1 = min(max(self.x + self.w, x0 + 1), width), min(max(self.y + self.h, y0 + 1), height)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def as_list(self) -> list[int]:
        """``[x, y, w, h]`` for JSON."""
        return [self.x, self.y, self.w, self.h]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, in [0, 1]."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def overlap_of_smaller(a: Box, b: Box) -> float:
    """Intersection divided by the smaller box's area: 1.0 when one box lies inside the other."""
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    smaller = min(a.area, b.area)
    return ix * iy / smaller if smaller > 0 else 0.0


def same_face(a: Box, b: Box, iou_threshold: float = 0.3, inside_threshold: float = 0.7) -> bool:
    """Whether two detections are the same face: enough IoU, or one mostly inside the other.

    Detectors frame faces differently (Haar boxes are larger than dlib's), hence both tests.
    """
    if iou(a, b) >= iou_threshold:
        return True
    if overlap_of_smaller(a, b) < inside_threshold:
        return False
    # A box inside another of similar size is the same face; a tiny box inside a big one is not.
    return min(a.area, b.area) / max(a.area, b.area) >= 0.2


def non_max_suppression(
    boxes: Sequence[Box], scores: Sequence[float], iou_threshold: float = 0.3
) -> list[int]:
    """Indices of the boxes kept by greedy NMS (highest score first; ties keep the earlier box)."""
    if len(boxes) != len(scores):
        raise ValueError("boxes and scores differ in length")
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        if all(not same_face(boxes[i], boxes[k], iou_threshold) for k in kept):
            kept.append(i)
    return kept


APART = 1.2


def apart(a: Box, b: Box) -> bool:
    """Whether two boxes are certainly different faces: their centres are further apart than
    ``APART`` times the wider box's width."""
    (ax, ay), (bx, by) = a.centre, b.centre
    return bool((ax - bx) ** 2 + (ay - by) ** 2 >= (APART * max(a.w, b.w)) ** 2)


def overlapping_pairs(boxes: Sequence[Box]) -> list[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, of boxes that overlap left to right.

    Boxes of one face overlap: sweep left to right and pair each box only with the boxes that
    start before it ends (a crowd photo's 500 raw detections: 135,000 pairs → a few thousand).
    """
    by_x = sorted(range(len(boxes)), key=lambda i: boxes[i].x)
    pairs = []
    for k, i in enumerate(by_x):
        right = boxes[i].x + boxes[i].w
        for j in by_x[k + 1 :]:
            if boxes[j].x >= right:
                break
            pairs.append((min(i, j), max(i, j)))
    return pairs


def group_same_faces(
    boxes: Sequence[Box],
    iou_threshold: float = 0.3,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> list[list[int]]:
    """Cluster detections of the same face; sorted groups.

    Links (``same_face`` pairs among ``pairs``, by default ``overlapping_pairs``) are joined
    strongest first (by IoU), and two groups are never joined if they hold boxes that are
    ``apart``: one big faint window over two neighbours' faces must not chain them into one
    person (a real group photo lost a clear face that way).
    """
    links = sorted(
        (-iou(boxes[i], boxes[j]), i, j)
        for i, j in (overlapping_pairs(boxes) if pairs is None else pairs)
        if same_face(boxes[i], boxes[j], iou_threshold)
    )
    members = {i: [i] for i in range(len(boxes))}
    root = list(range(len(boxes)))
    for _, i, j in links:
        ri, rj = root[i], root[j]
        if ri == rj or any(apart(boxes[a], boxes[b]) for a in members[ri] for b in members[rj]):
            continue
        for k in members[rj]:
            root[k] = ri
        members[ri].extend(members.pop(rj))
    return sorted(sorted(group) for group in members.values())
