"""Face detection: dlib HOG (upsampled), Haar frontal + profile cascades,
MediaPipe's BlazeFace full-range (tiled) and OpenCV's YuNet (on the photo and on its mirror
image), cross-checked into one list of faces.

dlib and OpenCV release the GIL while detecting, so the detectors run on a small thread pool.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import cv2
import dlib
import numpy as np
from numpy.typing import NDArray

from vision.detectors.models import HAAR_FRONTAL, HAAR_PROFILE, Models, load_cascade
from vision.detectors.yunet import mirrored
from vision.geometry import Box, group_same_faces, non_max_suppression
from vision.room.attention import front_cue

Detector = Literal["hog", "haar_frontal", "haar_profile", "blaze", "yunet"]
# Detectors whose weak hits alone are not even a "maybe": a face needs their score or company.
NEURAL: Final = frozenset({"blaze", "yunet"})
# dlib's HOG detector is five filters: 0 front, 1 turned left, 2 turned right, 3/4 front tilted.
HOG_TURNED: Final = frozenset({1, 2})
# The ``variant`` of a YuNet detection made on the second look's close-up, not the whole photo.
CLOSE_UP: Final = 1
# The ``variant`` of a YuNet detection made on the photo mirrored left to right.
MIRROR: Final = 2


@dataclass(frozen=True)
class Detection:
    """One detector's hit: box, score (HOG margin or Haar level weight), which filter fired, and
    the detector's own landmarks if it gives any (YuNet: eyes, nose tip, mouth corners)."""

    box: Box
    score: float
    detector: Detector
    variant: int = 0
    landmarks: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class DetectConfig:
    """Knobs of room detection.

    The evidence rule was calibrated by bench/vision_eval.py on synthetic rooms (seeds 7–9) and
    checked on others (seeds 11–13), docs/benchmarks.md: weak HOG hits (down to -0.8) count
    when a Haar cascade agrees; alone, a face needs a HOG margin of 0.2 or 6 (frontal) /
    5 (profile) agreeing Haar windows. Haar's own level weights are useless as a confidence
    (all ~55). BlazeFace and YuNet scores are real confidences: see their fields.
    """

    # A photo with a shorter side under ``enlarge_below`` px is enlarged until that side is
    # ``enlarge_to`` (at most ``enlarge_max``×) before detection: a 490×353 class photo
    # forwarded through a chat app had its ~70 faces at 12 px, under every detector's minimum;
    # enlarged, 69 were counted (2 before). Photos 600–720 px high, enlarged up to 1.8×, gained
    # nothing on real photos and one got a false face on a hand: they are not enlarged.
    enlarge_below: int = 600
    enlarge_to: int = 1080
    enlarge_max: float = 4.0
    # A photo whose longer side is over ``shrink_above`` px is shrunk to it, its shorter side
    # kept at least ``enlarge_to`` (a 9 MP phone photo: 3.4 s → 1.6 s; faces in a classroom
    # photo that large are far above 24 px).
    shrink_above: int = 3000
    # Small faces: dlib HOG on the whole photo upsampled ``hog_upsample_small`` times (its image
    # pyramid also covers the faces at the photo's own size and smaller). ``hog_tiled`` runs it
    # the older way instead, on overlapping ``tile`` px tiles plus a pass on the whole photo at
    # its own size: the same headcount on 594 of 600 fresh rooms (4 better, 2 worse) for 1.6×
    # the CPU (decision 0107).
    hog_tiled: bool = False
    # Above this many pixels (at working scale) HOG runs on tiles anyway: on a 12 MP phone photo
    # (analysed at 3000×2250) one pass over the whole photo upsampled took the analysis's peak
    # memory from 1.7 GB to 2.2 GB; tiles keep each pass 1440×1440. A 1080p photo is 2.1 MP.
    hog_whole_max: int = 2_600_000
    tile: int = 720
    overlap: int = 120
    hog_upsample_small: int = 1
    min_face: int = 24
    # A face in a room photo is at most this share of the image's shorter side; bigger Haar
    # "faces" were posters and wall patterns in every case the benchmark found.
    max_face_share: float = 0.25
    haar_scale: float = 1.08
    profile_scale: float = 1.15
    haar_neighbours: int = 1
    hog_threshold: float = -1.0  # weak HOG hits are kept: they count when Haar agrees
    hog_with: float = -0.8  # the HOG margin a face seen by HOG and Haar needs (seeds 7–9)
    # Haar's profile cascade (on the image and its mirror) costs ~350 ms of CPU per 1080p photo
    # and, since YuNet, changes no headcount figure (seeds 7–13: ±1.7 points): off by default.
    profile: bool = False
    # Evidence needed for a face seen by only one detector (HOG margin; Haar neighbours):
    hog_alone: float = 0.2
    haar_alone: float = 6.0
    profile_alone: float = 5.0
    # BlazeFace full-range on 384 px tiles (faces of 48–130 px become 24–65 px at its 192 px
    # input). Hits down to ``blaze_floor`` are kept; a face counts with a BlazeFace score of
    # ``blaze_alone``, or ``blaze_with`` when another detector saw it too (seeds 7–9 grid).
    blaze: bool = True
    blaze_tile: int = 384
    blaze_overlap: int = 96
    blaze_floor: float = 0.2
    blaze_alone: float = 0.6
    blaze_with: float = 0.35
    # YuNet on the whole image at ``yunet_scale`` × its size: a face counts with a YuNet score of
    # ``yunet_alone``, or ``yunet_with`` when another detector saw it too (seeds 7–9 grid).
    yunet: bool = True
    yunet_scale: float = 1.0
    yunet_floor: float = 0.15
    yunet_alone: float = 0.5
    yunet_with: float = 0.4
    # YuNet also runs on the photo mirrored left to right (~100 ms a 1080p photo): it is not
    # symmetric, and sees some heads turned 40–50° only one way round. A face counts with a
    # score of ``mirror_min`` there, alone or not (its weak mirrored hits were coffee cups and
    # coins on posters); the two views of one face count as each other's company for
    # ``yunet_with``. Chosen on seeds 31–35 and 41–45 (docs/decisions/0104).
    yunet_mirror: bool = True
    mirror_min: float = 0.5
    # Second look: a confirmed face YuNet did not see in the whole photo is shown to YuNet again,
    # cut out with its surroundings and scaled so the face is ``second_look_face`` px wide; if
    # YuNet then scores it under ``second_look_min`` it is no longer counted (seeds 7–9: the
    # posters and wall patterns HOG/Haar/BlazeFace agree on score ~0; real faces ~0.9); whether
    # it stays a "maybe" is then decided as for any other (``maybe_look`` below).
    second_look: bool = True
    second_look_face: int = 80
    second_look_min: float = 0.2
    # "Maybe" faces (``headcount_max``). A head seen only by BlazeFace or YuNet, below the scores
    # that confirm it, is kept as a candidate from ``maybe_neural`` up. With the second look on, an
    # unconfirmed candidate then stays a "maybe" only if YuNet's close-up scores it at least
    # ``maybe_look`` and it does not sit on a face already counted or in doubt; one the close-up
    # scores ``promote_look`` or more, on a face about its own width, is counted. Before this,
    # faint HOG and Haar windows on shirts, hands and knees made real group photos read "5–28
    # people" for five, and faces in crowds that only HOG or Haar saw stayed "maybe"; on the
    # synthetic rooms headcounts are unchanged and the range is 3–4× narrower (docs/benchmarks.md).
    maybe_neural: float = 0.3
    maybe_look: float = 0.1
    promote_look: float = 0.8
    # A face less than ``nested_ratio`` as wide as a confirmed face, centred within that face's
    # box grown by ``nested_grow`` of its size on each side, is a second box on the same head
    # (an eye or a cheek picked up by one detector), not a person, unless BlazeFace or YuNet
    # alone is sure of it (``cross_check``).
    nested_grow: float = 0.15
    nested_ratio: float = 0.6
    # One head, one face. A head turned 35–50° shows its face on one side and the side of the
    # head (hair, an ear, a dark cheek) on the other, where YuNet or BlazeFace now and then find
    # a second "face". A confirmed face beside a face that YuNet's landmarks say is turned away
    # from it (nose offset ≥ ``turned_yaw`` eye distances), on the side the head is turned away
    # from, about as big (``back_size``× either way), at the same height (``back_drop`` of the
    # width) and within ``back_reach`` face widths, and less sure than that face, is the back of
    # that head: it is no longer counted, only a "maybe" (docs/decisions/0105).
    one_head: bool = True
    turned_yaw: float = 0.2
    back_reach: float = 1.1
    back_drop: float = 0.35
    back_size: float = 1.6
    # A counted face that at most ``double_detectors`` detectors saw, within ``double_apart``
    # face widths (of the wider) of a counted face that more detectors saw, is a second box
    # on that head (the far side of a turned or bowed head, hair, an ear): only a "maybe"
    # (``second_boxes``, decision 0112; 0 turns it off). On seeds 131–140, such faces on
    # people nobody else counted were 1.33 widths or more from the surer face; second boxes
    # on a counted head 0.65–1.09 (with 200:34's two), false faces on nobody 0.98 and up.
    double_detectors: int = 2
    double_apart: float = 1.2
    # Room memory (``vision.headcount``, docs/decisions/0109): given earlier photos of the room
    # from other sessions, a face whose central ``static_inner`` share of pixels one of them
    # shows within ``static_shift`` of its width (at least ``static_shift_min`` px) of the same
    # place, at a normalised cross-correlation of ``static_min`` or more, is a picture: not
    # counted and not a "maybe". Only "maybes" and counted faces seen by at most
    # ``static_detectors`` detectors are judged. On seeds 31–35 and 71–75, 9 of 13 counted
    # pictures matched at 0.95–1.0; of the 152 people it would judge, none matched over 0.85
    # (of all 3,333 people with an earlier photo: at most 0.92, and 0.98 twice, where the
    # benchmark pasted one face crop into one seat again, seen by four detectors).
    room_memory: bool = True
    static_min: float = 0.95
    static_inner: float = 0.6
    static_shift: float = 0.1
    static_shift_min: int = 4
    static_detectors: int = 2
    # A face any number of detectors saw is a picture when ``static_views`` of the photos used
    # (not reuse) show its pixels (0: never; decision 0111). With every other day of the room
    # given, seeds 131–140: four crisp posters counted in 400 rooms were in two photos or
    # more at 0.98–1.0; of 4,485 people, none was, and one was in one photo at 0.96.
    static_views: int = 2
    # Once room memory has used an earlier photo (decision 0110), a "maybe" it did not set
    # aside, seen by ``lone_detectors`` detectors or more, with no counted face within
    # ``lone_apart`` face widths, is counted (``vision.headcount.count_lone_maybes``). On seeds
    # 131–150 (800 rooms), such maybes were 27 uncounted people (1.86–7.7 widths from a
    # counted face) and one false face; second boxes on counted heads were all under 1.35.
    # Only an earlier photo taken from the same place vouches: one the photo lines up with
    # within ``aligned_shift`` pixels (synthetic days of a room: within 3; a tablet moved by
    # 20 or 40 pixels is measured as moved by that much), or one moved back onto it by the
    # room's corners (``realign_*`` below, decision 0113).
    # A face an earlier photo shows partly the same (``vouch_below`` ≤ NCC < ``static_min``)
    # is a picture someone hid part of that day: not vouched for. People promoted on seeds
    # 131–180 matched at most 0.62; the two hidden pictures promoted on 161–180, 0.75 and 0.76.
    lone_maybes: bool = True
    lone_detectors: int = 2
    # ``lone_detectors`` counts looks (``FaceCandidate.looks``: YuNet on the mirrored photo is
    # a look of its own), not detectors (decision 0114). On seeds 231–250 and 181–190 (1,200
    # rooms), 6 rooms gained (190:18: two bowed heads only YuNet saw, both ways), none lost,
    # and no face on nobody was promoted.
    lone_looks: bool = True
    # With ``lone_company`` > 0, a "maybe"'s looks include those of BlazeFace and YuNet
    # detections on the same head that were not merged with it: centred within its box grown
    # by ``lone_company`` of its width on each side, half to twice as wide
    # (``FaceCandidate.company``, decision 0116). A head turned 40–50° shows BlazeFace and
    # YuNet other parts of it, so their boxes overlap too little to merge, and a YuNet hit
    # under ``maybe_neural`` is dropped: two looks, counted as one. On the 1,600 rooms run
    # beside ``/15`` (131–140, 251–280), 3 rooms better and none worse.
    lone_company: float = 0.5
    lone_apart: float = 1.5
    aligned_shift: float = 8.0
    vouch_below: float = 0.7
    # An earlier photo shifted by more than ``realign_over`` pixels (a tablet knocked on its
    # mount, a zoom touched, a camera put back a little askew) is lined up with this one
    # (``vision.headcount.LineUp``, decision 0113): up to ``realign_features`` ORB corners of
    # each at full size, matched and fitted with one turn, scale and shift by RANSAC. It is
    # used only if ``realign_inliers`` corners agree to within 3 px and the fit turns by at
    # most ``realign_turn`` degrees and scales by at most ``realign_scale``; otherwise, as
    # before, memory finds nothing in it. 0 features turns it off. (Photos from the same
    # place are measured as shifted by up to 3 px: the people differ.)
    realign_over: float = 4.0
    realign_features: int = 2000
    realign_inliers: int = 40
    realign_turn: float = 10.0
    realign_scale: float = 0.15
    threads: int = 2


def tiles(width: int, height: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Overlapping tiles ``(x, y, w, h)`` that cover a ``width`` × ``height`` image."""

    def starts(total: int) -> list[int]:
        if total <= tile:
            return [0]
        step = tile - overlap
        out = list(range(0, total - tile, step))
        return [*out, total - tile]

    return [
        (x, y, min(tile, width), min(tile, height)) for y in starts(height) for x in starts(width)
    ]


_per_thread = threading.local()


def _thread_hog() -> Any:
    # dlib's detector keeps scratch buffers inside: one instance per thread, never shared.
    if not hasattr(_per_thread, "hog"):
        _per_thread.hog = dlib.get_frontal_face_detector()
    return _per_thread.hog


def _thread_cascade(name: str) -> cv2.CascadeClassifier:
    cascades: dict[str, cv2.CascadeClassifier] = _per_thread.__dict__.setdefault("cascades", {})
    if name not in cascades:
        cascades[name] = load_cascade(name)
    return cascades[name]


def hog_detect(
    models: Models, rgb: NDArray[np.uint8], upsample: int, threshold: float = 0.0
) -> list[Detection]:
    """dlib HOG detections on a whole image with ``upsample`` doublings (thread-safe)."""
    rects, scores, variants = _thread_hog().run(rgb, upsample, threshold)
    out = []
    for r, s, v in zip(rects, scores, variants, strict=True):
        box = Box(r.left(), r.top(), r.width(), r.height())
        out.append(Detection(box, float(s), "hog", int(v)))
    return out


def haar_detect(
    name: str, gray: NDArray[np.uint8], config: DetectConfig
) -> list[tuple[Box, float]]:
    """Haar hits with their neighbour count (how many raw windows agreed) as the score: the
    cascade's level weights are all ~55 and say nothing about confidence."""
    largest = max(config.min_face, int(min(gray.shape[:2]) * config.max_face_share))
    boxes, neighbours = _thread_cascade(name).detectMultiScale2(
        gray,
        scaleFactor=config.profile_scale if name == HAAR_PROFILE else config.haar_scale,
        minNeighbors=config.haar_neighbours,
        minSize=(config.min_face, config.min_face),
        maxSize=(largest, largest),
    )
    return [
        (Box(int(x), int(y), int(w), int(h)), float(n))
        for (x, y, w, h), n in zip(boxes, np.ravel(neighbours), strict=True)
    ]


def hog_passes(
    gray: NDArray[np.uint8], config: DetectConfig
) -> list[tuple[int, int, NDArray[np.uint8], int]]:
    """The HOG passes over a photo, each ``(x, y, image, upsample)``: the whole photo upsampled,
    or (``hog_tiled``, or a photo over ``hog_whole_max`` pixels) the photo at its own size and
    overlapping tiles upsampled."""
    height, width = gray.shape[:2]
    small = config.hog_upsample_small
    if not config.hog_tiled and width * height <= config.hog_whole_max:
        return [(0, 0, gray, small)]
    return [(0, 0, gray, 0)] + [
        (x, y, np.ascontiguousarray(gray[y : y + h, x : x + w]), small)
        for x, y, w, h in tiles(width, height, config.tile, config.overlap)
    ]


def run_detectors(
    models: Models,
    rgb: NDArray[np.uint8],
    gray: NDArray[np.uint8],
    config: DetectConfig,
    pool: ThreadPoolExecutor,
) -> list[Detection]:
    """Every raw detection: HOG (``hog_passes``), Haar frontal, Haar profile on the image and
    its mirror image, BlazeFace on overlapping tiles and YuNet on the whole image and on its
    mirror image."""
    height, width = gray.shape[:2]
    largest = max(config.min_face, int(min(height, width) * config.max_face_share))
    # Longest jobs first. HOG (~520 ms of CPU a 1080p photo) runs on grey: ~40% faster than on
    # colour, and it finds the same faces.
    hog_jobs = [
        (x, y, pool.submit(hog_detect, models, part, upsample, config.hog_threshold))
        for x, y, part, upsample in hog_passes(gray, config)
    ]
    # Then Haar, the next longest (~550 ms of CPU a 1080p photo), so the shorter jobs fill in
    # beside the two: submitted last, it left one thread idle for ~150 ms.
    haar_frontal = pool.submit(haar_detect, HAAR_FRONTAL, gray, config)
    blaze = (
        pool.submit(
            models.blazeface.detect_tiled,
            rgb,
            tiles(width, height, config.blaze_tile, config.blaze_overlap),
            config.blaze_floor,
            config.min_face,
            largest,
        )
        if config.blaze
        else None
    )
    yunet = (
        pool.submit(models.yunet.detect, rgb, config.yunet_floor, config.yunet_scale)
        if config.yunet
        else None
    )
    yunet_mirror = (
        pool.submit(
            models.yunet.detect,
            np.ascontiguousarray(rgb[:, ::-1]),
            config.yunet_floor,
            config.yunet_scale,
        )
        if config.yunet and config.yunet_mirror
        else None
    )
    profiles = []
    if config.profile:
        flipped = np.ascontiguousarray(gray[:, ::-1])
        profiles.append((False, pool.submit(haar_detect, HAAR_PROFILE, gray, config)))
        profiles.append((True, pool.submit(haar_detect, HAAR_PROFILE, flipped, config)))
    hog: list[Detection] = []
    for x, y, job in hog_jobs:
        hog.extend(
            Detection(d.box.scaled(1.0, x, y), d.score, "hog", d.variant) for d in job.result()
        )
    hog = [d for d in hog if d.box.w <= largest]
    keep = non_max_suppression([d.box for d in hog], [d.score for d in hog])
    found = [hog[i] for i in sorted(keep)]
    found.extend(Detection(b, s, "haar_frontal") for b, s in haar_frontal.result())
    for flipped_side, side in profiles:
        for b, s in side.result():
            box = b.mirrored(width) if flipped_side else b
            found.append(Detection(box, s, "haar_profile", 1 if flipped_side else 0))
    if blaze is not None:
        found.extend(Detection(hit.box, hit.score, "blaze") for hit in blaze.result())
    if yunet is not None:
        found.extend(
            Detection(hit.box, hit.score, "yunet", landmarks=hit.landmarks)
            for hit in yunet.result()
            if config.min_face <= hit.box.w <= largest
        )
    if yunet_mirror is not None:
        found.extend(
            Detection(hit.box, hit.score, "yunet", MIRROR, hit.landmarks)
            for hit in mirrored(yunet_mirror.result(), width)
            if config.min_face <= hit.box.w <= largest
        )
    return found


@dataclass(frozen=True)
class FaceCandidate:
    """A group of detections that are one face, and whether the evidence is strong enough."""

    box: Box
    detections: tuple[Detection, ...]
    confirmed: bool
    # Found again, pixel for pixel, in an earlier photo of the room: a picture, not a person
    # (``vision.headcount``). A static face is never confirmed.
    static: bool = False
    # A "maybe" room memory vouched for: not a picture, seen by two looks or more, on no
    # counted face's head (``vision.headcount.count_lone_maybes``). A promoted face is confirmed.
    promoted: bool = False
    # A "maybe"'s faint company: detections of other looks on the same head that were not
    # merged with it (``faint_company``): too faint to be a candidate of their own, or a box
    # offset on a turned head. They never make it count; room memory may (decision 0116).
    company: tuple[Detection, ...] = ()

    @property
    def detectors(self) -> tuple[Detector, ...]:
        """Which detectors saw this face (sorted, unique)."""
        return tuple(sorted({d.detector for d in self.detections}))

    @property
    def looks(self) -> int:
        """How many looks saw this face: each detector, and YuNet on the mirrored photo apart
        from YuNet on the photo itself; a "maybe"'s faint company on its head included."""
        return len({_kind(d) for d in (*self.detections, *self.company)})


def _kind(d: Detection) -> tuple[Detector, bool]:
    """A detector and whether it looked at the mirrored photo (YuNet does both)."""
    return d.detector, d.detector == "yunet" and d.variant == MIRROR


def _neural(
    group: Sequence[Detection], kind: tuple[Detector, bool], alone: float, with_: float
) -> bool:
    """Whether a neural detector's score alone, or with another detector agreeing, is enough."""
    score = max((d.score for d in group if _kind(d) == kind), default=0.0)
    company = any(_kind(d) != kind for d in group)
    return score >= alone or (company and score >= with_)


def _evidence(group: Sequence[Detection], config: DetectConfig) -> bool:
    if (
        _neural(group, ("blaze", False), config.blaze_alone, config.blaze_with)
        or _neural(group, ("yunet", False), config.yunet_alone, config.yunet_with)
        or _neural(group, ("yunet", True), config.mirror_min, config.mirror_min)
    ):
        return True
    others = [d for d in group if d.detector not in NEURAL]
    kinds = {d.detector for d in others}
    best = {k: max(d.score for d in others if d.detector == k) for k in kinds}
    if best.get("hog", -1e9) >= config.hog_with and kinds & {"haar_frontal", "haar_profile"}:
        return True
    return (
        best.get("hog", -1e9) >= config.hog_alone
        or best.get("haar_frontal", -1e9) >= config.haar_alone
        or best.get("haar_profile", -1e9) >= config.profile_alone
    )


def _strong(face: FaceCandidate, config: DetectConfig) -> bool:
    """Whether BlazeFace or YuNet alone is sure of this face (their ``…_alone`` scores)."""
    return any(
        (d.detector == "yunet" and d.score >= config.yunet_alone)
        or (d.detector == "blaze" and d.score >= config.blaze_alone)
        for d in face.detections
    )


def _neural_best(face: FaceCandidate) -> float:
    """The best BlazeFace or YuNet score among the face's detections (0 without either)."""
    return max((d.score for d in face.detections if d.detector in NEURAL), default=0.0)


def _nested(face: FaceCandidate, bigger: FaceCandidate, config: DetectConfig) -> bool:
    """Whether ``face`` is a small second box on ``bigger``'s head."""
    box, big = face.box, bigger.box
    if box.w >= config.nested_ratio * big.w:
        return False
    cx, cy = box.centre
    gx, gy = config.nested_grow * big.w, config.nested_grow * big.h
    return big.x - gx <= cx <= big.x + big.w + gx and big.y - gy <= cy <= big.y + big.h + gy


def cross_check(detections: Sequence[Detection], config: DetectConfig) -> list[FaceCandidate]:
    """Merge detections of the same face; confirm faces seen by two detectors or strongly by one;
    drop weak BlazeFace-only hits and small boxes on the head of a bigger confirmed face (unless
    BlazeFace or YuNet is sure of the small one: then the bigger box goes if they are less sure
    of it).

    The box of a face is its HOG box when HOG saw it (margin ≥ ``hog_with``: tighter, what the
    landmark model expects), else the best-scoring Haar box, else the BlazeFace box. Sorted left
    to right, top to bottom.
    """
    groups = group_same_faces([d.box for d in detections])
    faces = []
    for idx in groups:
        group = [detections[i] for i in idx]
        evidence = _evidence(group, config)
        if (
            not evidence
            and all(d.detector in NEURAL for d in group)
            and max(d.score for d in group) < config.maybe_neural
        ):
            continue  # faint neural hits alone are not even a "maybe" (keeps headcount_max)
        # A faint HOG window (under ``hog_with``) is no face's box: it can span two heads.
        hog = [d for d in group if d.detector == "hog" and d.score >= config.hog_with]
        lead = max(hog or group, key=lambda d: d.score)
        faces.append(FaceCandidate(lead.box, tuple(group), evidence))
    # A face the neural detectors are sure of is never a second box on a bigger one; a bigger
    # box around it that they are less sure of is the mistake (an espresso cup on a poster,
    # which YuNet takes for a face, around a real face in front of it).
    strong = [f for f in faces if _strong(f, config)]
    faces = [
        f
        for f in faces
        if not any(
            s.box.w < config.nested_ratio * f.box.w
            and f.box.contains(s.box.centre)
            and _neural_best(s) > _neural_best(f)
            for s in strong
        )
    ]
    kept: list[FaceCandidate] = []
    for face in sorted(faces, key=lambda f: -f.box.w):
        if _strong(face, config) or not any(k.confirmed and _nested(face, k, config) for k in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: (f.box.y // max(f.box.h, 1), f.box.x))


@dataclass(frozen=True)
class CloseUp:
    """What YuNet saw on a close-up of a candidate: its best score for a face centred near the
    candidate's centre, and that face's box and landmarks in the photo's pixels (``None`` and
    no landmarks: nothing there)."""

    score: float
    box: Box | None
    landmarks: tuple[tuple[float, float], ...] = ()


def close_up(models: Models, rgb: NDArray[np.uint8], box: Box, config: DetectConfig) -> CloseUp:
    """YuNet on a crop of ``box`` grown by its width on every side, scaled so the face is
    ``config.second_look_face`` px wide: the best face centred within 0.6 of ``box``'s size of
    its centre."""
    height, width = rgb.shape[:2]
    grow = box.w
    x0, y0 = max(0, box.x - grow), max(0, box.y - grow)
    x1, y1 = min(width, box.x + box.w + grow), min(height, box.y + box.h + grow)
    if x1 <= x0 or y1 <= y0:
        return CloseUp(0.0, None)
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    hits = models.yunet.detect(crop, 0.0, config.second_look_face / max(box.w, 1))
    cx, cy = box.centre[0] - x0, box.centre[1] - y0
    near = [
        h
        for h in hits
        if abs(h.box.centre[0] - cx) < 0.6 * box.w and abs(h.box.centre[1] - cy) < 0.6 * box.h
    ]
    if not near:
        return CloseUp(0.0, None)
    best = max(near, key=lambda h: h.score)
    marks = tuple((x + x0, y + y0) for x, y in best.landmarks)
    return CloseUp(best.score, best.box.scaled(1.0, x0, y0), marks)


def _same_size(box: Box, seen: Box) -> bool:
    """Whether the face YuNet found on a close-up is about as wide as the candidate (not one of
    several small faces inside a big window)."""
    return 0.5 * box.w <= seen.w <= 2.0 * box.w


def _on_each_other(a: Box, b: Box) -> bool:
    """Whether either box's centre lies inside the other: two boxes on one head."""
    return a.contains(b.centre) or b.contains(a.centre)


def second_look(
    models: Models, rgb: NDArray[np.uint8], faces: Sequence[FaceCandidate], config: DetectConfig
) -> list[FaceCandidate]:
    """Show YuNet every face it did not confirm itself, on a close-up (``DetectConfig``).

    A confirmed face YuNet missed in the whole photo and still scores under
    ``second_look_min`` is demoted to "maybe". A "maybe" is kept only if the close-up scores it
    at least ``maybe_look`` and neither it nor the face YuNet found on it sits on a face already
    counted or in doubt (best close-up first); the rest (a HOG or Haar window on a shirt, a
    hand, a poster, a second box on a head already counted) are dropped, so ``headcount_max``
    stays a real doubt. A "maybe" the close-up scores ``promote_look`` or more, on a face about
    its own width, is counted, with the close-up's YuNet detection (``CLOSE_UP``) added to it.
    """
    kept: list[FaceCandidate] = []
    doubts: list[tuple[FaceCandidate, CloseUp]] = []
    for face in faces:
        if face.confirmed and "yunet" in face.detectors:
            kept.append(face)
            continue
        seen = close_up(models, rgb, face.box, config)
        if face.confirmed and seen.score >= config.second_look_min:
            kept.append(face)
        elif seen.score >= config.maybe_look:
            doubts.append((replace(face, confirmed=False), seen))
    taken = [f.box for f in kept]
    for face, seen in sorted(doubts, key=lambda d: -d[1].score):
        boxes = [face.box] if seen.box is None else [face.box, seen.box]
        if any(_on_each_other(b, t) for b in boxes for t in taken):
            continue  # a second box on a head already counted (or already in doubt)
        if (
            seen.box is not None
            and seen.score >= config.promote_look
            and _same_size(face.box, seen.box)
        ):
            # Counted on YuNet's close-up: keep what it saw (its landmarks say where the face
            # looks) as a detection of its own.
            look = Detection(seen.box, seen.score, "yunet", CLOSE_UP, seen.landmarks)
            face = replace(face, detections=(*face.detections, look), confirmed=True)
        taken.append(face.box)
        kept.append(face)
    return sorted(kept, key=lambda f: (f.box.y // max(f.box.h, 1), f.box.x))


def best_yunet(face: FaceCandidate) -> Detection | None:
    """The face's best-scoring YuNet detection with landmarks (photo, mirror or close-up)."""
    return max(
        (d for d in face.detections if d.detector == "yunet" and d.landmarks),
        key=lambda d: d.score,
        default=None,
    )


def facing(face: FaceCandidate) -> float | None:
    """Which way YuNet's landmarks say the face is turned: the nose tip's sideways offset from
    between the eyes, in eye distances (> 0: turned to the image's right), from its best
    detection with landmarks; ``None`` when YuNet gave none."""
    best = best_yunet(face)
    return None if best is None else front_cue(best.landmarks, best.score).yaw


def behind(back: FaceCandidate, face: FaceCandidate, config: DetectConfig) -> bool:
    """Whether ``back`` is the far side of ``face``'s turned head (``DetectConfig.one_head``)."""
    yaw = facing(face)
    if yaw is None or abs(yaw) < config.turned_yaw or _neural_best(back) >= _neural_best(face):
        return False
    a, b = face.box, back.box
    if not 1 / config.back_size <= b.w / max(a.w, 1) <= config.back_size:
        return False
    width = (a.w + b.w) / 2
    dx, dy = b.centre[0] - a.centre[0], b.centre[1] - a.centre[1]
    return (
        dx * yaw < 0
        and abs(dx) <= config.back_reach * width
        and abs(dy) <= config.back_drop * width
    )


def one_face_a_head(faces: Sequence[FaceCandidate], config: DetectConfig) -> list[FaceCandidate]:
    """Demote to "maybe" every confirmed face that is the far side of a turned head beside it
    (any face confirmed when this rule starts can be that head)."""
    counted = [f for f in faces if f.confirmed]
    return [
        replace(f, confirmed=False)
        if f.confirmed and any(g is not f and behind(f, g, config) for g in counted)
        else f
        for f in faces
    ]


def apart(face: FaceCandidate, other: FaceCandidate) -> float:
    """Distance between two faces' centres, in widths of the wider one."""
    (x, y), (u, v) = face.box.centre, other.box.centre
    return float(np.hypot(x - u, y - v)) / max(face.box.w, other.box.w, 1)


def second_boxes(faces: Sequence[FaceCandidate], config: DetectConfig) -> list[FaceCandidate]:
    """Demote to "maybe" every confirmed face that at most ``double_detectors`` detectors saw
    and that lies within ``double_apart`` widths of a confirmed face more detectors saw: a
    second box on that face's head, since no neighbour sits that close."""
    counted = [f for f in faces if f.confirmed]

    def doubled(face: FaceCandidate) -> bool:
        seen = len(face.detectors)
        return seen <= config.double_detectors and any(
            len(other.detectors) > seen and apart(face, other) < config.double_apart
            for other in counted
        )

    return [replace(f, confirmed=False) if f.confirmed and doubled(f) else f for f in faces]


def detect_faces(
    models: Models,
    rgb: NDArray[np.uint8],
    gray: NDArray[np.uint8],
    config: DetectConfig,
    pool: ThreadPoolExecutor,
) -> list[FaceCandidate]:
    """All face candidates in a room photo (confirmed and "maybe"), cross-checked, with YuNet
    on given a second look, with the far side of a turned head and a second box on a head
    no longer counted, and each "maybe" with its faint company (``faint_company``)."""
    found = run_detectors(models, rgb, gray, config, pool)
    faces = cross_check(found, config)
    if config.yunet and config.second_look:
        faces = second_look(models, rgb, faces, config)
    if config.one_head:
        faces = one_face_a_head(faces, config)
    if config.double_apart > 0:
        faces = second_boxes(faces, config)
    if config.lone_company > 0:
        faces = faint_company(faces, found, config.lone_company)
    return faces


def faint_company(
    faces: Sequence[FaceCandidate], found: Sequence[Detection], grow: float
) -> list[FaceCandidate]:
    """Each "maybe" with the BlazeFace and YuNet detections of other looks centred on its
    head (its box grown by ``grow`` of its width on each side), about its size (half to twice
    as wide), that are not its own: ``FaceCandidate.company``. A box far bigger than the face
    around it is not a look at this face (a window over a whole shoulder and chair), nor is a
    HOG or Haar window the neural detectors did not back: faint ones lie on any texture."""
    out = []
    for face in faces:
        if face.confirmed:
            out.append(face)
            continue
        box, own = face.box, {_kind(d) for d in face.detections}
        g = grow * box.w
        company = tuple(
            d
            for d in found
            if d.detector in NEURAL
            and _kind(d) not in own
            and _same_size(box, d.box)
            and box.x - g <= d.box.centre[0] <= box.x + box.w + g
            and box.y - g <= d.box.centre[1] <= box.y + box.h + g
        )
        out.append(replace(face, company=company) if company else face)
    return out


def to_dlib_rect(box: Box) -> dlib.rectangle:
    """A ``dlib.rectangle`` for ``box``."""
    return dlib.rectangle(box.x, box.y, box.x + box.w - 1, box.y + box.h - 1)
