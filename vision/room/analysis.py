"""Room photo analysis: headcount (two detectors cross-checked), attention share, materials,
per-face boxes, and the photo's forensic facts, in one result that serialises to a
``PhotoAnalysed`` event payload.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.decode import DecodedImage, decode_image, open_image
from vision.detectors.models import Models, load_models
from vision.forensics.facts import PhotoFacts, facts_of
from vision.geometry import Box
from vision.headcount.detect import (
    CLOSE_UP,
    HOG_TURNED,
    DetectConfig,
    FaceCandidate,
    best_yunet,
    detect_faces,
    to_dlib_rect,
)
from vision.headcount.memory import MemoryUse, earlier_views, remember
from vision.room.attention import (
    DEFAULT_ATTENTION,
    AttentionRule,
    HeadPose,
    front_cue,
    head_pose,
    is_attentive,
)
from vision.room.materials import CourseKit, MaterialsSeen, find_materials

ANALYSER_VERSION = "dlib-hog+haar+blazeface+yunet/16"


@dataclass(frozen=True)
class RoomFace:
    """One face in a room photo, with why it counts and whether it looks at the front.

    ``static``: an earlier photo of the room shows the same pixels at the same place (a
    picture on the wall, ``vision.headcount``); such a face is neither counted nor a "maybe".
    ``promoted``: a faint face counted because room memory showed it is not a picture and no
    counted face is near it (``vision.headcount.count_lone_maybes``). ``faintly``: detectors that
    saw the same head too faintly to be merged with this face (``FaceCandidate.company``); for
    a "maybe", room memory counts them as looks (decision 0116)."""

    box: Box
    detectors: tuple[str, ...]
    confirmed: bool
    attentive: bool
    pose: HeadPose | None
    static: bool = False
    promoted: bool = False
    faintly: tuple[str, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        """Plain dict for the event payload."""
        pose = self.pose
        return {
            "box": self.box.as_list(),
            "detectors": list(self.detectors),
            "confirmed": self.confirmed,
            "attentive": self.attentive,
            "static": self.static,
            "promoted": self.promoted,
            "faintly": list(self.faintly),
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

    ``headcount`` counts confirmed faces; ``headcount_max`` adds the weak, single-detector ones, so
    a rule can tell "certainly short" from "maybe short"; static faces (pictures) are in
    neither. ``attention_share`` is attentive faces / headcount (``None`` with nobody in the
    photo).
    """

    facts: PhotoFacts
    headcount: int
    headcount_max: int
    attentive: int
    attention_share: float | None
    faces: tuple[RoomFace, ...]
    materials: MaterialsSeen | None
    analyser: str = ANALYSER_VERSION
    # what room memory made of the other photos of the room (None: none were given)
    memory: MemoryUse | None = None
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    def to_payload(self) -> dict[str, Any]:
        """Plain, JSON-ready dict for a ``PhotoAnalysed`` event."""
        materials = self.materials
        return {
            "photo": self.facts.to_payload(),
            "analyser": self.analyser,
            "headcount": self.headcount,
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


def working_scale(height: int, width: int, config: DetectConfig) -> float:
    """The scale a photo is analysed at (boxes are reported in its own pixels).

    A photo whose shorter side is under ``config.enlarge_below`` (a thumbnail, a photo forwarded
    through a chat app) is enlarged until that side is ``enlarge_to``, at most ``enlarge_max``
    times, so faces reach the detectors' smallest size (24 px). A photo whose longer side is over
    ``shrink_above`` (a phone's 12–48 MP) is shrunk to it, but never below ``enlarge_to`` on its
    shorter side (a panorama keeps its height): its faces stay far above 24 px and the analysis
    takes half the time. 1.0 for everything else.
    """
    short, long = min(height, width), max(height, width)
    if short <= 0:
        return 1.0
    if long > config.shrink_above:
        return min(1.0, max(config.shrink_above / long, config.enlarge_to / short))
    if short < config.enlarge_below:
        return min(config.enlarge_to / short, config.enlarge_max)
    return 1.0


class DlibRoomAnalyzer:
    """The default ``RoomAnalyzer``: dlib HOG + Haar cascades + BlazeFace + YuNet + 5-point pose
    + ArUco."""

    def __init__(
        self,
        models: Models | None = None,
        config: DetectConfig | None = None,
        attention: AttentionRule = DEFAULT_ATTENTION,
    ) -> None:
        self.models = models or load_models()
        self.config = config or DetectConfig()
        self.attention = attention
        self._pool = ThreadPoolExecutor(self.config.threads, thread_name_prefix="vision-detect")

    def close(self) -> None:
        """Stop the detector threads."""
        self._pool.shutdown(wait=False)

    def _face(self, rgb: NDArray[np.uint8], candidate: FaceCandidate) -> RoomFace:
        pose = None
        if candidate.confirmed:
            shape = self.models.shape5(rgb, to_dlib_rect(candidate.box))
            pose = head_pose([(p.x, p.y) for p in shape.parts()])
        turned = all(d.variant in HOG_TURNED for d in candidate.detections if d.detector == "hog")
        detectors = candidate.detectors
        yunet = best_yunet(candidate)
        cue = None if yunet is None else front_cue(yunet.landmarks, yunet.score)
        close_up = yunet is not None and yunet.variant == CLOSE_UP
        attentive = candidate.confirmed and is_attentive(
            pose, detectors, turned, self.attention, cue, close_up
        )
        return RoomFace(
            candidate.box,
            detectors,
            candidate.confirmed,
            attentive,
            pose,
            candidate.static,
            candidate.promoted,
            tuple(sorted({d.detector for d in candidate.company} - set(detectors))),
        )

    def analyse(
        self, data: bytes, kit: CourseKit | None = None, earlier: Sequence[bytes] = ()
    ) -> RoomAnalysis:
        """Analyse a room photo's bytes. ``earlier``: photos of the same room from other
        sessions, taken at least ``vision.headcount.STATIC_GAP`` before or after (room memory;
        bytes that do not decode are skipped). Raises ``ImageRejected`` for unsafe or corrupt
        bytes."""
        started = time.perf_counter()
        opened = open_image(data)
        image = decode_image(data)
        decoded = time.perf_counter()
        return self.analyse_decoded(
            data, image, kit, facts_of(data, image, opened), started, decoded, earlier
        )

    def analyse_decoded(
        self,
        data: bytes,
        image: DecodedImage,
        kit: CourseKit | None,
        facts: PhotoFacts,
        started: float,
        decoded: float,
        earlier: Sequence[bytes] = (),
    ) -> RoomAnalysis:
        """The analysis proper, on an already decoded image."""
        gray = image.gray
        materials_job = self._pool.submit(find_materials, gray, kit) if kit is not None else None
        factor = working_scale(gray.shape[0], gray.shape[1], self.config)
        rgb = image.rgb
        if factor != 1.0:
            how = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
            rgb = np.ascontiguousarray(
                cv2.resize(image.rgb, None, fx=factor, fy=factor, interpolation=how),
                dtype=np.uint8,
            )
            gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
        candidates = detect_faces(self.models, rgb, gray, self.config, self._pool)
        memory = None
        if earlier and self.config.room_memory:
            views = earlier_views(earlier, (gray.shape[0], gray.shape[1]))
            candidates, memory = remember(candidates, gray, views, self.config)
            memory = replace(memory, left_out=len(earlier) - len(views))
        detected = time.perf_counter()
        faces = tuple(self._face(rgb, c) for c in candidates)
        if factor != 1.0:  # report boxes in the photo's own pixels
            faces = tuple(replace(f, box=f.box.scaled(1 / factor)) for f in faces)
        materials = materials_job.result() if materials_job is not None else None
        done = time.perf_counter()
        confirmed = [f for f in faces if f.confirmed]
        attentive = sum(1 for f in confirmed if f.attentive)
        return RoomAnalysis(
            facts=facts,
            headcount=len(confirmed),
            headcount_max=sum(1 for f in faces if not f.static),
            attentive=attentive,
            attention_share=attentive / len(confirmed) if confirmed else None,
            faces=faces,
            materials=materials,
            memory=memory,
            timings_ms={
                "decode": (decoded - started) * 1000,
                "detect": (detected - decoded) * 1000,
                "pose_materials": (done - detected) * 1000,
                "total": (done - started) * 1000,
            },
        )
