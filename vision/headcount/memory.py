"""Room memory: a picture on the wall is not a person.

A workshop's tablet photographs the same training room session after session, from the same
mount. A face-like picture in that room (a safety poster with a worker's face, a coffee-cup
print, a coin on a notice board) sits at the same place with the same pixels in every photo;
a person does not: other people sit there on other days, and one person never holds the same
pose to the pixel. So a face whose pixels are found again, at the same place and within a few
pixels, in an earlier photo of the room from another session is "static": a picture. It is
not counted, nor kept as a "maybe" (``headcount_max``), and it is still drawn, so a person
can see what was set aside (docs/decisions/0109).

Three guards keep real people counted:
- One other photo judges only the faces the detectors are not sure of: a counted face seen
  by more than ``DetectConfig.static_detectors`` detectors stays counted whatever one photo
  shows. It is a picture only when ``static_views`` photos of other sessions show its
  pixels (decision 0111). A poster is on the wall every day; the same person in the same
  seat to the pixel, which the synthetic benchmark can paste twice, never three days
  running.
- An earlier photo in which the people the detectors are sure of are found again (half of
  them or more) is the same photo uploaded again (photo reuse, which forensics reports): it
  is not used. A wall of pictures with few people before it is not mistaken for that: only
  the sure faces say whether a photo is the same one.
- The app passes only photos of the room from *other* sessions, taken at least
  ``STATIC_GAP`` before or after (``app/services/photos.py``): never a photo of the same
  people in the same seats a minute before. A picture is as still in a later photo as in an
  earlier one, so a photo of a room's first sessions is analysed again as the room gets
  photos of other sessions, until it has ``FULL_MEMORY`` to compare with. ("Earlier" below
  means any such other photo.)

An earlier photo of another size or aspect (another camera, a rotated tablet) is not used. One
taken from a tablet that was knocked or put back a little askew is lined up with this photo
first (``LineUp``, decision 0113): the room's walls, boards and furniture give the corners
to fit one turn, scale and shift on; the people, who change, are outvoted. One that cannot
be lined up finds nothing, as before.

Memory also vouches (decision 0110): once pictures are set aside, a "maybe" that two looks saw
(two detectors, or YuNet on the photo and mirrored: 0114; its faint company on the same head
included: 0116), far from every counted face, is a faint head, not a poster. It is counted
(``promoted``) when an earlier photo taken from the same place (``LineUp``) shows something
else there: neither the same pixels nor partly the same ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.decode import decode_image
from vision.errors import ImageRejected
from vision.geometry import Box
from vision.headcount.detect import DetectConfig, FaceCandidate, apart

Gray = NDArray[np.uint8]

# The least time between another photo of the room and this one (enforced by the caller, who
# knows when each was taken): another shift or another day, never the same people in the same
# seats.
STATIC_GAP: Final = timedelta(hours=12)
# How many other photos of the room (sessions) are worth comparing with (more adds ~20 ms each).
EARLIER_PHOTOS: Final = 3
# A photo compared with fewer other photos of the room than this (a room's first sessions) is
# analysed again when the room gets another (the app's ``PhotoService``), until it is compared
# with as many as memory uses: with two, a picture the detectors are sure of is judged too
# (``DetectConfig.static_views``); a third finds a picture the people of two sessions hid
# (decision 0115).
FULL_MEMORY: Final = EARLIER_PHOTOS


def earlier_views(photos: Sequence[bytes], shape: tuple[int, int]) -> list[Gray]:
    """The earlier photos as grey images of ``shape`` (height, width): each resized from the
    same aspect ratio (within 1%); others, and bytes that do not decode, are left out."""
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


def _inner(box: Box, share: float) -> Box:
    """The central ``share`` of a face box (the face itself, not the seat around it)."""
    w, h = max(1, round(box.w * share)), max(1, round(box.h * share))
    return Box(box.x + (box.w - w) // 2, box.y + (box.h - h) // 2, w, h)


def sameness(gray: Gray, earlier: Gray, box: Box, config: DetectConfig) -> float:
    """How alike the face's central pixels are to the best-matching place in ``earlier`` within
    ``static_shift`` of where they are now: normalised cross-correlation, 1.0 for the same
    pixels (a flat patch scores 0: nothing to recognise)."""
    inner = _inner(box, config.static_inner)
    height, width = gray.shape[:2]
    if inner.x < 0 or inner.y < 0 or inner.x + inner.w > width or inner.y + inner.h > height:
        return 0.0
    patch = gray[inner.y : inner.y + inner.h, inner.x : inner.x + inner.w]
    if inner.w < 4 or inner.h < 4 or float(patch.std()) < 2.0:
        return 0.0
    shift = max(config.static_shift_min, round(config.static_shift * box.w))
    x0, y0 = max(0, inner.x - shift), max(0, inner.y - shift)
    x1, y1 = min(width, inner.x + inner.w + shift), min(height, inner.y + inner.h + shift)
    area = earlier[y0:y1, x0:x1]
    if area.shape[0] < inner.h or area.shape[1] < inner.w:
        return 0.0
    return float(cv2.matchTemplate(area, patch, cv2.TM_CCOEFF_NORMED).max())


def _judged(face: FaceCandidate, config: DetectConfig) -> bool:
    """Whether room memory may set this face aside: a "maybe", or a counted face seen by at
    most ``static_detectors`` detectors."""
    return not face.confirmed or len(face.detectors) <= config.static_detectors


@dataclass(frozen=True)
class MemoryUse:
    """What room memory made of the other photos of the room it was given, for a person to
    see why a poster was or was not set aside: taken from the same place and used as they
    are; from a camera moved since, lined up and used; from one moved too far to line up, so
    it found nothing there; the same photo again (reuse), not used; or another shape, or no
    image at all, left out."""

    same_place: int = 0
    lined_up: int = 0
    not_lined_up: int = 0
    reuse: int = 0
    left_out: int = 0

    def to_payload(self) -> dict[str, int]:
        return asdict(self)


def mark_static(
    faces: Sequence[FaceCandidate], gray: Gray, earlier: Sequence[Gray], config: DetectConfig
) -> list[FaceCandidate]:
    """``faces`` with the pictures marked (``remember``, without what memory made of the
    photos)."""
    return remember(faces, gray, earlier, config)[0]


def remember(
    faces: Sequence[FaceCandidate], gray: Gray, earlier: Sequence[Gray], config: DetectConfig
) -> tuple[list[FaceCandidate], MemoryUse]:
    """``faces`` with each one whose pixels an earlier photo of the room shows at the same
    place marked ``static`` (and no longer counted); a face the detectors are sure of needs
    ``static_views`` such photos. An earlier photo that shows half or more of the faces the
    detectors are sure of again is the same photo, and is not used. Each earlier photo is
    lined up with this one first (``LineUp``).

    When an earlier photo was used and shows the room from the same place (``LineUp``),
    the "maybes" it did not set aside may count (``count_lone_maybes``)."""
    if not earlier or not faces:
        return list(faces), MemoryUse()
    sure = {i for i, face in enumerate(faces) if not _judged(face, config)}
    static: set[int] = set()
    seen_in = [0] * len(faces)  # how many used photos show each face's pixels
    resembling: set[int] = set()  # partly the same as a used photo: vouched for by none
    vouched = False
    use = Counter[str]()
    line_up = LineUp(gray, config)
    for taken in earlier:
        view, aligned, covers = line_up(taken)
        alike = [sameness(gray, view, face.box, config) for face in faces]
        same = {i for i, a in enumerate(alike) if a >= config.static_min}
        if sure and 2 * len(same & sure) >= len(sure):
            use["reuse"] += 1
            continue  # the people are the same pixels too: reuse, which forensics reports
        use["lined_up" if view is not taken else "same_place" if aligned else "not_lined_up"] += 1
        static |= same - sure
        for i in same:
            seen_in[i] += 1
        resembling |= {i for i, a in enumerate(alike) if a >= config.vouch_below}
        if config.lone_maybes and aligned:
            vouched = True
            # A face the lined-up photo does not show all of (outside its edges) is vouched
            # for by none: that photo cannot say what is on the wall there.
            resembling |= {i for i, face in enumerate(faces) if not covers(face.box)}
    if config.static_views > 0:  # a sure face too, once several other sessions show it
        static |= {i for i, n in enumerate(seen_in) if n >= config.static_views}
    marked = [
        replace(face, confirmed=False, static=True) if i in static else face
        for i, face in enumerate(faces)
    ]
    if vouched:
        marked = count_lone_maybes(marked, config, resembling)
    return marked, MemoryUse(**use)


def offset(gray: Gray, view: Gray) -> float:
    """How far (pixels of ``gray``) an earlier photo is shifted from this one: the shift that
    lines it up best (phase correlation of 480-pixel-wide copies, which lighting does not
    move), its larger part. Other people in the seats make it a few pixels even for photos
    from the same place."""
    height, width = gray.shape[:2]
    small = (480, max(8, round(480 * height / width)))
    a = cv2.resize(gray, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(view, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, cv2.createHanningWindow(small, cv2.CV_32F))
    return float(max(abs(dx), abs(dy)) * width / 480)


class LineUp:
    """Lines the room's earlier photos up with this one (``gray``). One shifted by at most
    ``realign_over`` pixels (``offset``) is used as it is; one shifted further is turned,
    scaled and shifted onto this photo by the corners both show (ORB, RANSAC), when enough of
    them agree on a small move (``DetectConfig.realign_*``). The corners of this photo are
    found once, on the first earlier photo that needs them.

    A photo is lined up (``aligned``: taken from the same place, which lets memory vouch
    for faint heads, decision 0110) if it was moved back onto this one, or is shifted by at
    most ``aligned_shift``. One that is neither makes memory blind: it finds no picture, so
    it cannot vouch that a faint face is not one."""

    def __init__(self, gray: Gray, config: DetectConfig) -> None:
        self.gray = gray
        self.config = config
        self._orb: cv2.ORB | None = None
        self._mine: tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None] | None = None

    def __call__(self, view: Gray) -> tuple[Gray, bool, Callable[[Box], bool]]:
        """``view`` as this photo would show it, whether it is lined up with this photo
        (taken from the same place, or moved back onto it), and which boxes of this photo
        it shows whole."""
        shift = offset(self.gray, view)
        same_place = shift <= self.config.aligned_shift
        if shift <= self.config.realign_over or self.config.realign_features <= 0:
            return view, same_place, _everywhere
        move = self._move(view)
        if move is None:
            return view, same_place, _everywhere
        height, width = self.gray.shape[:2]
        # The edges it does not show are black: flat, so nothing there matches (``sameness``).
        moved = np.asarray(
            cv2.warpAffine(view, move, (width, height), flags=cv2.INTER_LINEAR), np.uint8
        )
        back = cv2.invertAffineTransform(move)

        def covers(box: Box) -> bool:
            corners = np.array(
                [
                    [box.x, box.y],
                    [box.x + box.w, box.y],
                    [box.x, box.y + box.h],
                    [box.x + box.w, box.y + box.h],
                ],
                np.float64,
            )
            there = corners @ back[:, :2].T + back[:, 2]
            h, w = view.shape[:2]
            return bool(((there >= 0) & (there <= [w - 1, h - 1])).all())

        return moved, True, covers

    def _corners(self, gray: Gray) -> tuple[Sequence[cv2.KeyPoint], NDArray[np.uint8] | None]:
        if self._orb is None:
            self._orb = cv2.ORB.create(nfeatures=self.config.realign_features)
        keypoints, descriptors = self._orb.detectAndCompute(gray, None)
        return keypoints, None if descriptors is None else np.asarray(descriptors, np.uint8)

    def _move(self, view: Gray) -> NDArray[np.float64] | None:
        """The turn, scale and shift (2×3) that puts ``view`` onto this photo, or ``None``."""
        if self._mine is None:
            self._mine = self._corners(self.gray)
        mine, my_descriptors = self._mine
        theirs, their_descriptors = self._corners(view)
        if my_descriptors is None or their_descriptors is None:
            return None
        pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(their_descriptors, my_descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
        if len(good) < self.config.realign_inliers:
            return None
        source = np.array([theirs[m.queryIdx].pt for m in good], np.float32)
        target = np.array([mine[m.trainIdx].pt for m in good], np.float32)
        move, inliers = cv2.estimateAffinePartial2D(
            source, target, method=cv2.RANSAC, ransacReprojThreshold=3.0
        )
        if move is None or inliers is None or int(inliers.sum()) < self.config.realign_inliers:
            return None
        scale = float(np.hypot(move[0, 0], move[1, 0]))
        turn = float(np.degrees(np.arctan2(move[1, 0], move[0, 0])))
        if abs(scale - 1) > self.config.realign_scale or abs(turn) > self.config.realign_turn:
            return None
        return np.asarray(move, np.float64)


def _everywhere(_: Box) -> bool:
    return True


def count_lone_maybes(
    faces: Sequence[FaceCandidate], config: DetectConfig, resembling: Collection[int] = ()
) -> list[FaceCandidate]:
    """Count the "maybes" that room memory has vouched for: seen by at least
    ``lone_detectors`` looks (``FaceCandidate.looks``: each detector, and YuNet mirrored apart
    from YuNet, decision 0114; with the faint company on its head, 0116; detectors only with
    ``lone_looks`` off), not a picture (the room's other photos show something else there),
    and with no counted face within ``lone_apart`` face widths (so not a second box on a
    counted head). Such a face is ``promoted``. Before memory, these were held back because a
    poster looks the same to the detectors; what is left once pictures are set aside is a
    head turned 35–50° or bowed, which two detectors (or YuNet both ways) see only faintly
    (decision 0110).

    ``resembling`` (indices): faces another photo shows partly the same (``vouch_below``): a
    picture that a person hid part of that day. They are not vouched for and stay "maybes".

    The strongest go first (most looks), and a promoted face keeps a later one near it
    from counting too: two boxes on one head never count twice."""

    def seen_by(face: FaceCandidate) -> int:
        return face.looks if config.lone_looks else len(face.detectors)

    counted = [f for f in faces if f.confirmed]
    order = sorted(
        (i for i, f in enumerate(faces) if not f.confirmed and not f.static),
        key=lambda i: -seen_by(faces[i]),
    )
    promoted: set[int] = set()
    for i in order:
        face = faces[i]
        if seen_by(face) < config.lone_detectors or i in resembling:
            continue
        if all(apart(face, other) >= config.lone_apart for other in counted):
            promoted.add(i)
            counted.append(face)
    return [
        replace(face, confirmed=True, promoted=True) if i in promoted else face
        for i, face in enumerate(faces)
    ]
