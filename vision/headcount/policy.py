"""Counting people from face detections: one policy, one pure function.

``count_faces`` takes every detector's hits on a photo and a ``CountPolicy`` and returns a
``Headcount``: the faces, each with the detectors that saw it and why it was counted or not (a
``Reason``), the count, and the range the count is sure of ("24–25").

1. A hit under its detector's ``floor`` is ignored; a detector without a floor is not used.
2. Hits of one face are merged: strongest first, a hit joins the face whose box overlaps its
   own by ``merge_iou``, or whose centre is within ``merge_apart`` widths of its own (a turned
   head shows detectors different parts of itself).
3. A hit's strength is how far its score is from its detector's floor (0) to ``sure`` (1). A
   face is counted when one detector is sure of it, or two or more saw it and their strengths
   (each at most 1) add up to ``agreement``. Smaller than ``min_size`` it is not counted;
   otherwise, seen with a best strength of ``possible`` or more, it is a possible face.
4. Optionally, a face the room's photos from other days show unchanged (``picture_days`` of
   them) is a picture on the wall, not a person: it is not counted.

The range: low leaves out faces counted by agreement whose strengths add up to less than
``doubt``; high adds the possible faces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from vision.detectors.port import Detection
from vision.geometry import Box, iou

#: how many photos of the room from other days show each box unchanged (``vision.headcount.
#: pictures.RoomMemory.unchanged``)
Unchanged = Callable[[Sequence[Box]], Sequence[int]]


class Reason(StrEnum):
    """Why a face was counted or not. The web layer puts these in words."""

    CLEAR = "clear_face"  # counted: at least one detector is sure it is a face
    AGREED = "detectors_agree"  # counted: enough detectors saw it
    POSSIBLE = "possible_face"  # not counted: seen faintly; the upper end of the range
    FAINT = "too_faint"  # not counted: too faint to be a face
    SMALL = "too_small"  # not counted: smaller than a face that can be counted
    PICTURE = "picture"  # not counted: unchanged in the room's photos from other days


def _frozen(values: dict[str, float]) -> Mapping[str, float]:
    return MappingProxyType(values)


@dataclass(frozen=True)
class CountPolicy:
    """The knobs of ``count_faces``. Chosen on the synthetic rooms of seeds 7–10 with
    ``bench/headcount_fit.py``, in the middle of a plateau of equal figures (floors 0.2–0.25,
    agreement 0.3–0.75, merge_apart 0.8–0.9); reported on unseen seeds in docs/benchmarks.md.
    HOG and Haar added nothing to BlazeFace and YuNet both ways round."""

    #: the lowest score of each detector's hits that is looked at; absent detectors are unused
    floor: Mapping[str, float] = field(
        default_factory=lambda: _frozen({"blaze": 0.25, "yunet": 0.25, "yunet_mirrored": 0.25})
    )
    #: the score at which one detector alone is sure of a face (the same detectors as ``floor``)
    sure: Mapping[str, float] = field(
        default_factory=lambda: _frozen({"blaze": 0.5, "yunet": 0.5, "yunet_mirrored": 0.5})
    )
    #: what the strengths of two or more detectors, none sure, must add up to for a face
    agreement: float = 0.6
    #: boxes overlapping this much (intersection over union) are one face
    merge_iou: float = 0.3
    #: boxes of similar size whose centres are closer than this many face widths are one head
    merge_apart: float = 0.8
    #: faces narrower than this (pixels, at the size the photo is analysed) are not counted
    min_size: int = 20
    #: an uncounted face whose best hit is this far from floor to sure is a possible face
    possible: float = 0.4
    #: a face counted by agreement whose strengths add up to less than this is not sure (it is
    #: left out of the range's low end)
    doubt: float = 0.8
    #: how many of the room's photos from other days must show a face unchanged to set it aside
    picture_days: int = 2


@dataclass(frozen=True)
class Face:
    """One face: its box (its strongest hit's), every hit merged into it, whether it is
    counted and why, and whether it is in doubt (a counted face left out of the range's low
    end, or a possible face in its high end)."""

    box: Box
    detections: tuple[Detection, ...]
    counted: bool
    reason: Reason
    in_doubt: bool = False

    @property
    def detectors(self) -> tuple[str, ...]:
        """Which detectors saw this face (sorted, unique)."""
        return tuple(sorted({d.detector for d in self.detections}))


@dataclass(frozen=True)
class Headcount:
    """The faces of one photo (top to bottom, left to right), the count and its range."""

    faces: tuple[Face, ...]

    @property
    def count(self) -> int:
        """How many faces are counted."""
        return sum(1 for f in self.faces if f.counted)

    @property
    def low(self) -> int:
        """The least the count is sure of: counted faces not in doubt."""
        return sum(1 for f in self.faces if f.counted and not f.in_doubt)

    @property
    def high(self) -> int:
        """The most it may be: counted faces and possible faces."""
        return self.count + sum(1 for f in self.faces if f.reason is Reason.POSSIBLE)


def strength(hit: Detection, policy: CountPolicy) -> float:
    """How far a hit's score is from its detector's floor (0) to sure (1)."""
    floor, sure = policy.floor[hit.detector], policy.sure[hit.detector]
    return (hit.score - floor) / max(sure - floor, 1e-9)


def same_face(a: Box, b: Box, policy: CountPolicy) -> bool:
    """Whether two boxes are one face (``merge_iou``) or one head (``merge_apart``)."""
    if iou(a, b) >= policy.merge_iou:
        return True
    (ax, ay), (bx, by) = a.centre, b.centre
    wide = max(a.w, b.w)
    similar = min(a.w, b.w) * 2 >= wide
    return similar and (ax - bx) ** 2 + (ay - by) ** 2 < (policy.merge_apart * wide) ** 2


def _group(hits: Sequence[Detection], policy: CountPolicy) -> list[list[Detection]]:
    """Hits merged into faces, strongest hit first: each joins the first face whose strongest
    hit's box is the same face as its own."""
    faces: list[list[Detection]] = []
    for hit in sorted(hits, key=lambda h: -strength(h, policy)):
        home = next((f for f in faces if same_face(f[0].box, hit.box, policy)), None)
        if home is None:
            faces.append([hit])
        else:
            home.append(hit)
    return faces


def evidence(hits: Sequence[Detection], policy: CountPolicy) -> float:
    """What the detectors that saw a face add up to: each detector's best hit's strength,
    at most 1 (sure)."""
    best: dict[str, float] = {}
    for h in hits:
        best[h.detector] = max(best.get(h.detector, 0.0), min(1.0, strength(h, policy)))
    return sum(best.values())


def _judge(hits: Sequence[Detection], policy: CountPolicy) -> Face:
    best = max(strength(h, policy) for h in hits)
    seen_by = len({h.detector for h in hits})
    box = hits[0].box
    if box.w < policy.min_size:
        return Face(box, tuple(hits), False, Reason.SMALL)
    if best >= 1.0:
        return Face(box, tuple(hits), True, Reason.CLEAR)
    together = evidence(hits, policy)
    if seen_by >= 2 and together >= policy.agreement:
        doubtful = together < policy.doubt
        return Face(box, tuple(hits), True, Reason.AGREED, doubtful)
    if best >= policy.possible:
        return Face(box, tuple(hits), False, Reason.POSSIBLE, True)
    return Face(box, tuple(hits), False, Reason.FAINT)


def count_faces(
    detections: Sequence[Detection], policy: CountPolicy, unchanged: Unchanged | None = None
) -> Headcount:
    """Count the faces in ``detections`` by ``policy`` (the module docstring says how).

    ``unchanged``, when the room has photos from other days: for a list of boxes, in how many
    of those photos each is found unchanged (``RoomMemory.unchanged``); a face found in
    ``picture_days`` or more is a picture, not counted. It is asked once, about the counted
    and possible faces, strongest first."""
    hits = [
        d for d in detections if d.detector in policy.floor and d.score >= policy.floor[d.detector]
    ]
    faces = [_judge(group, policy) for group in _group(hits, policy)]
    if unchanged is not None:
        judged = [i for i, f in enumerate(faces) if f.counted or f.reason is Reason.POSSIBLE]
        days = unchanged([faces[i].box for i in judged])
        for i, n in zip(judged, days, strict=True):
            if n >= policy.picture_days:
                faces[i] = Face(faces[i].box, faces[i].detections, False, Reason.PICTURE)
    order = sorted(faces, key=lambda f: (f.box.y // max(f.box.h, 1), f.box.x))
    return Headcount(tuple(order))
