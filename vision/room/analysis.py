"""Room photo analysis: the headcount (``vision.headcount``), who looks at the front, the course
materials in sight and the photo's forensic facts, in one result that serialises to a
``PhotoAnalysed`` event payload."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Final

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.decode import DecodedImage, decode_image, open_image
from vision.detectors import Detection, Picture, detect_all
from vision.detectors.available import ALL_DETECTORS, room_detectors
from vision.detectors.hog import to_dlib_rect
from vision.detectors.models import Models, load_models
from vision.forensics.facts import PhotoFacts, facts_of
from vision.geometry import Box
from vision.headcount import CountPolicy, Face, MemoryUse, RoomMemory, count_faces, earlier_views
from vision.room.attention import (
    DEFAULT_ATTENTION,
    AttentionRule,
    HeadPose,
    front_cue,
    head_pose,
    is_attentive,
)
from vision.room.materials import CourseKit, MaterialsSeen, find_materials

ANALYSER_VERSION: Final = "blazeface+yunet+mirrored/count-policy-2/enlarge-1.5"
#: dlib's HOG filters 1 and 2 are its turned-head ones
HOG_TURNED: Final = frozenset({1, 2})
# A photo whose shorter side is under ENLARGE_BELOW px (a thumbnail, a photo forwarded through a
# chat app) is enlarged until it is ENLARGE_TO, at most ENLARGE_MAX×, so its faces reach the
# detectors' smallest size; one whose longer side is over SHRINK_ABOVE (a 12–48 MP phone photo)
# is shrunk to it, its shorter side kept at least ENLARGE_TO. Enlarged more than ENLARGE_MAX×,
# real photographs showed YuNet hands, a balloon and other smooth skin-coloured shapes as faces
# (chosen on the training split of tests/fixtures/real_photos: 1.0–1.5 made no mistake there,
# 1.75 and more did; 1.5 still lifts faces of 18 px over the policy's minimum size).
ENLARGE_BELOW: Final = 600
ENLARGE_TO: Final = 1080
ENLARGE_MAX: Final = 1.5
SHRINK_ABOVE: Final = 3000


@dataclass(frozen=True)
class RoomFace:
    """One face in a room photo: where, which detectors saw it, whether it is counted and why
    (``vision.headcount.Reason``), whether the count's range is in doubt about it, and whether
    it looks at the front."""

    box: Box
    detectors: tuple[str, ...]
    confirmed: bool
    attentive: bool
    pose: HeadPose | None
    reason: str = "clear_face"
    in_doubt: bool = False

    def to_payload(self) -> dict[str, Any]:
        """Plain dict for the event payload."""
        pose = self.pose
        return {
            "box": self.box.as_list(),
            "detectors": list(self.detectors),
            "confirmed": self.confirmed,
            "reason": self.reason,
            "in_doubt": self.in_doubt,
            "attentive": self.attentive,
            "pose": None
            if pose is None
            else {
                "yaw": round(pose.yaw, 3),
                "pitch": round(pose.pitch, 3),
                "roll": round(pose.roll, 1),
            },
        }


@dataclass(frozen=True)
class RoomAnalysis:
    """Everything one room photo shows.

    ``headcount`` counts the counted faces; ``headcount_min``–``headcount_max`` is the range
    the count is sure of (equal when sure), so a rule can tell "certainly short" from "maybe
    short". ``attention_share`` is attentive faces / headcount (``None`` with nobody counted).
    """

    facts: PhotoFacts
    headcount: int
    headcount_max: int
    attentive: int
    attention_share: float | None
    faces: tuple[RoomFace, ...]
    materials: MaterialsSeen | None
    analyser: str = ANALYSER_VERSION
    headcount_min: int | None = None
    # what became of the room's photos from other days (None: none were given)
    memory: MemoryUse | None = None
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def to_payload(self) -> dict[str, Any]:
        """Plain, JSON-ready dict for a ``PhotoAnalysed`` event."""
        materials = self.materials
        low = self.headcount if self.headcount_min is None else self.headcount_min
        return {
            "photo": self.facts.to_payload(),
            "analyser": self.analyser,
            "headcount": self.headcount,
            "headcount_min": low,
            "headcount_max": self.headcount_max,
            "attentive": self.attentive,
            "attention_share": None
            if self.attention_share is None
            else round(self.attention_share, 3),
            "faces": [f.to_payload() for f in self.faces],
            "materials": None
            if materials is None
            else {
                "present": list(materials.present),
                "missing": list(materials.missing),
                "markers": [
                    {
                        "id": m.marker_id,
                        "material": m.material,
                        "corners": [list(c) for c in m.corners],
                    }
                    for m in materials.markers
                ],
            },
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            **({} if self.memory is None else {"room_memory": self.memory.to_payload()}),
        }


def working_scale(height: int, width: int) -> float:
    """The scale a photo is analysed at (boxes are reported in its own pixels): see
    ``ENLARGE_BELOW`` and ``SHRINK_ABOVE``; 1.0 for everything else."""
    short, long = min(height, width), max(height, width)
    if short <= 0:
        return 1.0
    if long > SHRINK_ABOVE:
        return min(1.0, max(SHRINK_ABOVE / long, ENLARGE_TO / short))
    if short < ENLARGE_BELOW:
        return min(ENLARGE_TO / short, ENLARGE_MAX)
    return 1.0


def _best_landmarks(face: Face) -> Detection | None:
    """The face's best-scoring hit with landmarks (YuNet, on the photo or mirrored)."""
    marked = [d for d in face.detections if d.landmarks]
    return max(marked, key=lambda d: d.score, default=None)


class DlibRoomAnalyzer:
    """The default ``RoomAnalyzer``: the policy's detectors, ``count_faces``, dlib's 5-point
    landmarks for where each counted face looks, ArUco markers for materials."""

    def __init__(
        self,
        models: Models | None = None,
        policy: CountPolicy | None = None,
        attention: AttentionRule = DEFAULT_ATTENTION,
        threads: int = 2,
    ) -> None:
        self.models = models or load_models()
        self.policy = policy or CountPolicy()
        self.attention = attention
        names = [n for n in ALL_DETECTORS if n in self.policy.floor]
        self.detectors = room_detectors(self.models, names)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="vision-detect")

    def close(self) -> None:
        """Stop the detector threads."""
        self._pool.shutdown(wait=False)

    def _face(self, rgb: NDArray[np.uint8], face: Face) -> RoomFace:
        pose = None
        if face.counted:
            shape = self.models.shape5(rgb, to_dlib_rect(face.box))
            pose = head_pose([(p.x, p.y) for p in shape.parts()])
        turned = all(d.variant in HOG_TURNED for d in face.detections if d.detector == "hog")
        marked = _best_landmarks(face)
        cue = None if marked is None else front_cue(marked.landmarks, marked.score)
        attentive = face.counted and is_attentive(pose, face.detectors, turned, self.attention, cue)
        return RoomFace(
            face.box, face.detectors, face.counted, attentive, pose, face.reason, face.in_doubt
        )

    def analyse(
        self, data: bytes, kit: CourseKit | None = None, earlier: Sequence[bytes] = ()
    ) -> RoomAnalysis:
        """Analyse a room photo's bytes. ``earlier``: photos of the same room from other
        sessions, at least ``vision.headcount.STATIC_GAP`` apart (pictures on the wall are
        found unchanged in them; bytes that do not decode are left out). Raises
        ``ImageRejected`` for unsafe or corrupt bytes."""
        started = time.perf_counter()
        opened = open_image(data)
        image = decode_image(data)
        facts = facts_of(data, image, opened)
        return self.analyse_decoded(image, kit, facts, started, earlier)

    def analyse_decoded(
        self,
        image: DecodedImage,
        kit: CourseKit | None,
        facts: PhotoFacts,
        started: float,
        earlier: Sequence[bytes] = (),
    ) -> RoomAnalysis:
        """The analysis proper, on an already decoded image."""
        decoded = time.perf_counter()
        gray = image.gray
        materials_job = self._pool.submit(find_materials, gray, kit) if kit is not None else None
        factor = working_scale(gray.shape[0], gray.shape[1])
        rgb = image.rgb
        if factor != 1.0:
            how = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
            rgb = np.ascontiguousarray(
                cv2.resize(image.rgb, None, fx=factor, fy=factor, interpolation=how),
                dtype=np.uint8,
            )
            gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
        hits = detect_all(self.detectors, Picture(rgb, gray), self._pool)
        memory = None
        if earlier:
            views = earlier_views(earlier, (gray.shape[0], gray.shape[1]))
            memory = RoomMemory(gray, views, left_out=len(earlier) - len(views))
        counted = count_faces(hits, self.policy, None if memory is None else memory.unchanged)
        detected = time.perf_counter()
        faces = tuple(self._face(rgb, f) for f in counted.faces)
        if factor != 1.0:  # report boxes in the photo's own pixels
            faces = tuple(replace(f, box=f.box.scaled(1 / factor)) for f in faces)
        materials = materials_job.result() if materials_job is not None else None
        done = time.perf_counter()
        attentive = sum(1 for f in faces if f.attentive)
        return RoomAnalysis(
            facts=facts,
            headcount=counted.count,
            headcount_min=counted.low,
            headcount_max=counted.high,
            attentive=attentive,
            attention_share=attentive / counted.count if counted.count else None,
            faces=faces,
            materials=materials,
            memory=None if memory is None else memory.report,
            timings_ms={
                "decode": (decoded - started) * 1000,
                "detect": (detected - decoded) * 1000,
                "pose_materials": (done - detected) * 1000,
                "total": (done - started) * 1000,
            },
        )
