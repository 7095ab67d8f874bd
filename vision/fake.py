"""Fake adapters for fast tests: answers come from a JSON file beside each fixture image.

``room.png`` + ``room.json``::

    {"faces": [{"box": [10, 20, 40, 40], "attentive": true, "confirmed": true,
                "yaw": 0.0, "pitch": 0.7}],
     "markers": [3, 7]}

``selfie.jpg`` + ``selfie.json``::

    {"identity": "emp-1", "box": [100, 80, 160, 160]}         # an accepted selfie
    {"identity": "emp-1", "offset": 0.55}                     # same person, 0.55 away: unsure
    {"reason": "face_blurred"}                                # a refused selfie

Images are found by their content (SHA-256), so the app can pass bytes exactly as it would to
the real engine. Bytes that are not an image are refused the same way as by the real engine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vision.decode import decode_image, open_image
from vision.errors import ImageRejected
from vision.forensics.facts import facts_of
from vision.geometry import Box
from vision.identity.engine import DEFAULT_SELFIE_RULES, Selfie, SelfieMatcher, SelfieRules
from vision.identity.matching import DEFAULT_THRESHOLDS, Embedding, Thresholds
from vision.room.analysis import RoomAnalysis, RoomFace
from vision.room.attention import HeadPose
from vision.room.materials import CourseKit, MarkerSeen, MaterialsSeen

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class FixtureIndex:
    """Maps image content (SHA-256) to the JSON beside the image file."""

    def __init__(self, directory: Path) -> None:
        self._answers: dict[str, dict[str, Any]] = {}
        for image in sorted(directory.rglob("*")):
            sidecar = image.with_suffix(".json")
            if image.suffix.lower() in IMAGE_SUFFIXES and sidecar.exists():
                digest = hashlib.sha256(image.read_bytes()).hexdigest()
                self._answers[digest] = json.loads(sidecar.read_text())

    def __len__(self) -> int:
        return len(self._answers)

    def answer(self, data: bytes) -> dict[str, Any]:
        """The JSON for these bytes (``{}`` for an image without one)."""
        return self._answers.get(hashlib.sha256(data).hexdigest(), {})


def identity_embedding(identity: str, offset: float = 0.0) -> Embedding:
    """A stable 128-d vector for a made-up identity; ``offset`` moves it that far away.

    Two identities end up ~1.0 apart (like different people under dlib's model).
    """
    seed = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    base = rng.normal(size=128)
    base *= 0.7 / np.linalg.norm(base)
    if offset:
        direction = np.random.default_rng(seed + 1).normal(size=128)
        direction -= (direction @ base) / (base @ base) * base
        base = base + offset * direction / np.linalg.norm(direction)
    return np.asarray(base, dtype=np.float64)


class FakeFaceEngine(SelfieMatcher):
    """``FaceEngine`` whose selfies say who they are in their JSON."""

    def __init__(
        self,
        fixtures: FixtureIndex,
        rules: SelfieRules = DEFAULT_SELFIE_RULES,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        self.fixtures = fixtures
        self.rules = rules
        self.thresholds = thresholds

    def check_selfie(self, data: bytes) -> Selfie:
        """The selfie as its JSON describes it (``no_face`` without JSON)."""
        try:
            open_image(data)
        except ImageRejected as e:
            return Selfie(e.reason)
        answer = self.fixtures.answer(data)
        box = Box(*answer["box"]) if "box" in answer else None
        if answer.get("reason") or "identity" not in answer:
            return Selfie(answer.get("reason") or "no_face", box)
        vector = identity_embedding(str(answer["identity"]), float(answer.get("offset", 0.0)))
        return Selfie(None, box, float(answer.get("sharpness", 100.0)), vector)


class FakeRoomAnalyzer:
    """``RoomAnalyzer`` whose faces and markers come from the JSON beside each image.

    Photo facts (hashes, EXIF) are the real ones: they are cheap and pure.
    """

    def __init__(self, fixtures: FixtureIndex) -> None:
        self.fixtures = fixtures

    def analyse(
        self, data: bytes, kit: CourseKit | None = None, earlier: Sequence[bytes] = ()
    ) -> RoomAnalysis:
        """The room as its JSON describes it (a face with ``"static": true`` is a picture the
        room's photos from other days show, when there are any; ``"confirmed": false`` a
        possible face, and with ``"promoted": true`` one counted when other days are given);
        raises ``ImageRejected`` like the real analyser."""
        image = decode_image(data)
        answer = self.fixtures.answer(data)
        faces = []
        for f in answer.get("faces", []):
            pose = HeadPose(float(f.get("yaw", 0.0)), float(f.get("pitch", 0.7)), 0.0, 0.0)
            picture = bool(f.get("static", False)) and bool(earlier)
            later = bool(f.get("promoted", False)) and bool(earlier)  # counted once compared
            counted = (bool(f.get("confirmed", True)) or later) and not picture
            reason = "picture" if picture else "detectors_agree" if counted else "possible_face"
            faces.append(
                RoomFace(
                    Box(*f["box"]),
                    tuple(f.get("detectors", ["haar_frontal", "hog"])),
                    counted,
                    counted and bool(f.get("attentive", True)),
                    pose if counted else None,
                    reason,
                )
            )
        materials = None
        if kit is not None:
            ids = [int(m) for m in answer.get("markers", [])]
            seen = tuple(MarkerSeen(m, kit.markers.get(m), ()) for m in sorted(ids))
            present = sorted({m.material for m in seen if m.material is not None})
            missing = sorted(set(kit.markers.values()) - set(present))
            materials = MaterialsSeen(tuple(present), tuple(missing), seen)
        confirmed_faces = [f for f in faces if f.confirmed]
        attentive = sum(1 for f in confirmed_faces if f.attentive)
        return RoomAnalysis(
            facts=facts_of(data, image),
            headcount=len(confirmed_faces),
            headcount_min=len(confirmed_faces),
            headcount_max=sum(1 for f in faces if f.reason != "picture"),
            attentive=attentive,
            attention_share=attentive / len(confirmed_faces) if confirmed_faces else None,
            faces=tuple(faces),
            materials=materials,
            analyser="fake",
        )
