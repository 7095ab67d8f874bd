"""When the server heard each device, by its own clock and sequence number: every check-in,
refusal and photo a device sent, with whether it came from its queue. The check-in command
reads a device's contacts since an offline batch's earliest stamp to test those stamps
(`app.domain.queue_stamps`, decision 0137)."""

from __future__ import annotations

from typing import Any

from app.domain.attendance import Attendance, CheckInRejection
from app.domain.evidence import Photo
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso

INSERT = (
    "INSERT INTO device_contacts (device_id, ref, session_id, server_time, device_time, "
    "device_seq, queued) VALUES (:device, :ref, :sid, :at, :device_time, :seq, :queued) "
    "ON CONFLICT (device_id, ref) DO NOTHING"
)


class DeviceContacts(Projection):
    name = "device_contacts"
    owned_tables = ("device_contacts",)
    tables = (
        "CREATE TABLE IF NOT EXISTS device_contacts (device_id TEXT NOT NULL, "
        "ref TEXT NOT NULL, session_id TEXT NOT NULL, server_time TEXT NOT NULL, "
        "device_time TEXT, device_seq BIGINT, "
        "queued INTEGER, PRIMARY KEY (device_id, ref))",
        "CREATE INDEX IF NOT EXISTS device_contacts_time ON device_contacts "
        "(device_id, server_time)",
    )

    @handles(Attendance.EmployeeCheckedIn)
    def checked_in(self, e: Any, b: Batch) -> None:
        if e.device_id is None:
            return
        # judged at arrival because its stamp was disproved: it came from a queue all the same
        queued = "offline_sync" in e.flags or "device_online_at" in (
            getattr(e, "evidence", None) or {}
        )
        self._contact(b, e, str(e.originator_id), e.device_seq, queued)

    @handles(CheckInRejection.CheckInRejected)
    def rejected(self, e: Any, b: Batch) -> None:
        self._contact(b, e, str(e.originator_id), e.device_seq, None)

    @handles(Photo.PhotoStored, Photo.PhotoReused)
    def photo(self, e: Any, b: Batch) -> None:
        self._contact(b, e, f"photo/{e.client_event_id}", None, None)

    @staticmethod
    def _contact(b: Batch, e: Any, ref: str, seq: int | None, queued: bool | None) -> None:
        b.sql(
            INSERT,
            device=str(e.device_id),
            ref=ref,
            sid=str(e.session_id),
            at=iso(e.timestamp),
            device_time=iso(e.device_time) if e.device_time else None,
            seq=seq,
            queued=None if queued is None else int(queued),
        )
