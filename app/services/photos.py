"""Storing site photos: the bytes safe on disk (content-addressed), their forensic facts
(EXIF, hashes, look-alikes) recorded as `PhotoStored` or `PhotoReused`, each device command
recorded once. Analysis follows the events (`app.services.analysis`), never the upload."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.application import Training
from app.domain.errors import (
    ConcurrentUploads,
    ImageUnusable,
    InvalidPhotoUpload,
    PhotoKeyReused,
    PhotoTooLarge,
)
from app.domain.evidence import Photo, PhotoKind, PhotoUploadKey
from app.services.checkin import CheckInService
from app.services.devices import DeviceIdentity
from app.services.near_duplicates import NearDuplicates
from app.services.phones import PhoneIdentity, any_session
from app.services.photo_files import PhotoFiles
from vision.errors import ImageRejected
from vision.forensics import photo_facts

MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_CLIENT_EVENT_ID = 128


@dataclass(frozen=True)
class PhotoUpload:
    """`POST /api/v1/photos` after parsing the multipart form."""

    data: bytes
    session_id: str
    kind: str
    client_event_id: str
    device_time: datetime | None


@dataclass(frozen=True)
class StoredPhoto:
    """What an upload gave: the photo, and whether this upload added anything (a resend of
    the same device command adds nothing)."""

    photo_id: str
    exif_time: str | None
    recorded: bool
    facts: dict[str, Any] = field(repr=False, default_factory=dict)


class PhotoService:
    """Stores photos; answers as soon as the bytes are safe and the event is recorded."""

    def __init__(self, app: Training, checkins: CheckInService, files: PhotoFiles) -> None:
        self.app = app
        self.checkins = checkins
        self.files = files
        self.near = NearDuplicates(checkins.store)
        self._writer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="photo-files")

    async def upload(
        self, token: str | None, upload: PhotoUpload, phone: PhoneIdentity | None = None
    ) -> StoredPhoto:
        """Store one photo for a session; the same bytes again give the same `photo_id`, and
        the same `client_event_id` with other bytes is refused (`PhotoKeyReused`). An
        employee's `phone` may add a room photo to any session (its login already checked)."""
        if upload.kind not in PhotoKind.ALL:
            raise InvalidPhotoUpload(errors=[f"kind must be one of {', '.join(PhotoKind.ALL)}"])
        if not upload.client_event_id or len(upload.client_event_id) > MAX_CLIENT_EVENT_ID:
            raise InvalidPhotoUpload(
                errors=[f"client_event_id is required (≤ {MAX_CLIENT_EVENT_ID} characters)"]
            )
        if len(upload.data) > MAX_PHOTO_BYTES:
            raise PhotoTooLarge(max_bytes=MAX_PHOTO_BYTES)
        if phone is not None and upload.kind != PhotoKind.ROOM:
            raise InvalidPhotoUpload(errors=["a phone adds room photos only (kind=room)"])
        return await asyncio.to_thread(self._store, phone or token, upload)

    def _store(self, token: str | PhoneIdentity | None, upload: PhotoUpload) -> StoredPhoto:
        if isinstance(token, PhoneIdentity):
            device: DeviceIdentity = token
            session = any_session(self.checkins.store, upload.session_id)
        else:
            device = self.checkins.authenticate_device(token)
            session = self.checkins.device_session(device, upload.session_id)
        key_id = PhotoUploadKey.create_id(device.id, upload.client_event_id)
        bound: PhotoUploadKey | None = self.app.get_or_none(key_id)
        if bound is not None:  # cheap answer to a resend, before any image work
            return self._resent(bound, upload)
        # the bytes go to disk (and fsync) on another thread while the forensics decode
        # them: both release the GIL. Kept only once the image is accepted.
        staging = self._writer.submit(self.files.stage, upload.data)
        try:
            facts = photo_facts(upload.data)
        except ImageRejected as exc:
            PhotoFiles.discard(staging.result())  # a refused image leaves no file behind
            raise ImageUnusable(reason=exc.reason) from exc
        sha = facts.sha256
        self.files.keep(staging.result(), sha)  # bytes safe on disk before the event says so
        session_id = UUID(session["id"])
        actor = f"device:{device.name}"
        for _attempt in range(3):
            bound = self.app.get_or_none(key_id)
            if bound is not None:  # a concurrent resend got there first
                return self._resent(bound, upload, sha)
            key = PhotoUploadKey(
                device_id=device.id,
                client_event_id=upload.client_event_id,
                photo_id=sha,
                actor=actor,
            )
            existing: Photo | None = self.app.get_or_none(Photo.create_id(sha))
            if existing is not None:
                if existing.seen_upload(device.id, upload.client_event_id):
                    return self._stored(existing, recorded=False)  # recorded before keys were
                existing.reuse(
                    session_id=session_id,
                    kind=upload.kind,
                    device_id=device.id,
                    client_event_id=upload.client_event_id,
                    device_time=upload.device_time,
                    actor=actor,
                )
                photo = existing
            else:
                near = self.near.find(sha, facts.hashes)
                photo = Photo(
                    sha256=sha,
                    session_id=session_id,
                    kind=upload.kind,
                    device_id=device.id,
                    client_event_id=upload.client_event_id,
                    device_time=upload.device_time,
                    facts={**facts.to_payload(), "near_duplicates": near},
                    actor=actor,
                )
            try:
                self.app.save(photo, key)
            except IntegrityError:
                continue  # another upload of these bytes or this key raced us: look again
            self.near.add(sha, session_id, facts.hashes)
            return self._stored(photo, recorded=True)
        raise ConcurrentUploads()

    def _resent(
        self, bound: PhotoUploadKey, upload: PhotoUpload, sha: str | None = None
    ) -> StoredPhoto:
        """The device command was recorded before: the same photo again is a resend; other
        bytes under the same key are refused, naming the photo the key belongs to."""
        if sha is None:
            sha = Photo.sha256_of(upload.data)
        if sha != bound.photo_id:
            raise PhotoKeyReused(client_event_id=upload.client_event_id, photo_id=bound.photo_id)
        photo: Photo = self.app.repository.get(Photo.create_id(sha))
        return self._stored(photo, recorded=False)

    @staticmethod
    def _stored(photo: Photo, recorded: bool) -> StoredPhoto:
        return StoredPhoto(photo.sha256, photo.facts.get("exif_time"), recorded, photo.facts)
