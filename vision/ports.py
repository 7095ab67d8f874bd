"""The two ports the app depends on. The dlib + OpenCV adapters are the defaults
(``vision.identity.DlibFaceEngine``, ``vision.room.analysis.DlibRoomAnalyzer``);
``vision.fake`` has fakes driven by JSON files for fast tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vision.identity.engine import Enrolment, FaceCheck, Selfie
from vision.identity.matching import Embedding, Gallery
from vision.room.analysis import RoomAnalysis
from vision.room.materials import CourseKit


class FaceEngine(Protocol):
    """Selfie checks, enrolment, 1:1 verification and 1:N identification."""

    def check_selfie(self, data: bytes) -> Selfie:
        """Check and embed one selfie; refusals carry a reason code."""
        ...

    def enrol(self, selfies: Sequence[bytes]) -> Enrolment:
        """Templates from 1–5 selfies of one person."""
        ...

    def verify(self, data: bytes, templates: Sequence[Embedding]) -> FaceCheck:
        """Is the selfie the person whose templates these are?"""
        ...

    def identify(self, data: bytes, roster: Gallery, plant: Gallery | None = None) -> FaceCheck:
        """Who is in the selfie: roster first, then plant."""
        ...


class RoomAnalyzer(Protocol):
    """Headcount, attention, materials and forensic facts of a room photo."""

    def analyse(
        self, data: bytes, kit: CourseKit | None = None, earlier: Sequence[bytes] = ()
    ) -> RoomAnalysis:
        """Analyse a room photo; ``earlier``: photos of the same room from other sessions, at
        least ``vision.headcount.STATIC_GAP`` before or after it (pictures on its walls are not
        people).
        Raises ``ImageRejected`` for unsafe bytes."""
        ...
