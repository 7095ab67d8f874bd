"""Site photos as evidence: stored once by content, bound to sessions, analysed offline."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


class PhotoKind:
    """What a photo is for."""

    ROOM = "room"
    SELFIE = "selfie"
    ALL = (ROOM, SELFIE)


class Photo(Aggregate):
    """One photo, identified by the SHA-256 of its bytes: the same picture is one record,
    however often it is uploaded, and every further upload is itself recorded (reuse)."""

    @staticmethod
    def create_id(sha256: str, **_: Any) -> UUID:
        """The uuid5 of the content hash: the same bytes always name the same photo."""
        return natural_id("photo", sha256)

    @staticmethod
    def sha256_of(data: bytes) -> str:
        """The content hash that names a photo."""
        return hashlib.sha256(data).hexdigest()

    @event("PhotoStored")
    def __init__(
        self,
        sha256: str,
        session_id: UUID,
        kind: str,
        device_id: UUID,
        client_event_id: str,
        device_time: datetime | None,
        facts: dict[str, Any],
        actor: str,
    ):
        self.sha256 = sha256
        self.session_id = session_id
        self.kind = kind
        self.device_id = device_id
        self.client_event_id = client_event_id
        #: when the device that first uploaded it says it did (``None``: it did not say)
        self.device_time = device_time
        self.facts = facts
        self.uploads = [(str(device_id), client_event_id)]
        self.analysis: dict[str, Any] | None = None

    def seen_upload(self, device_id: UUID, client_event_id: str) -> bool:
        """True when this exact device command was already recorded (a retry)."""
        return (str(device_id), client_event_id) in self.uploads

    @event("PhotoReused")
    def reuse(
        self,
        session_id: UUID,
        kind: str,
        device_id: UUID,
        client_event_id: str,
        device_time: datetime | None,
        actor: str,
    ) -> None:
        """The same bytes were uploaded again: for this or another session, by this or
        another device. Kept as evidence; the anomaly rules decide what it means."""
        self.uploads.append((str(device_id), client_event_id))

    def analysed(self, result: dict[str, Any], actor: str) -> None:
        """Vision results: headcount, attention, materials, per-face boxes."""
        self._analysed(session_id=self.session_id, result=result, actor=actor)

    @event("PhotoAnalysed")
    def _analysed(self, session_id: UUID, result: dict[str, Any], actor: str) -> None:
        self.analysis = result

    def analysis_failed(self, reason: str, detail: str, actor: str) -> None:
        """The analysis could not run on this photo (corrupt, timeout, worker crash)."""
        self._analysis_failed(session_id=self.session_id, reason=reason, detail=detail, actor=actor)

    @property
    def original_purged(self) -> bool:
        """Whether the original bytes were deleted (hashes, EXIF and analysis stay)."""
        return bool(getattr(self, "_original_purged", False))

    @event("PhotoOriginalPurged")
    def purge_original(
        self, photo_id: str, session_id: UUID, retention_days: int, actor: str
    ) -> None:
        """The original was deleted after `retention_days` without an upload: what it showed
        stays in the facts and analysis recorded before (`session_id`: its first session)."""
        self._original_purged = True

    @event("PhotoAnalysisFailed")
    def _analysis_failed(self, session_id: UUID, reason: str, detail: str, actor: str) -> None:
        """The analysis could not run on this photo (corrupt, timeout, worker crash)."""
        self.analysis = {"failed": reason}


class PhotoUploadKey(Aggregate):
    """One per device command that uploaded a photo (uuid5 of device + `client_event_id`):
    binds the key to the bytes it first came with, so a resend is recognised and the same key
    with other bytes is refused instead of becoming a second record."""

    @staticmethod
    def create_id(device_id: UUID, client_event_id: str, **_: Any) -> UUID:
        """The uuid5 of the device command."""
        return natural_id("photo-upload", f"{device_id}/{client_event_id}")

    @event("PhotoUploadKeyBound")
    def __init__(self, device_id: UUID, client_event_id: str, photo_id: str, actor: str):
        self.device_id = device_id
        self.client_event_id = client_event_id
        self.photo_id = photo_id
