"""Device commands: each `client_event_id` a device used, what it recorded, and the digest
of the content it came with. The check-in command reads it to answer a resent batch
without touching the event store, and to spot an id reused for other content."""

from __future__ import annotations

import json
from typing import Any

from app.domain.attendance import CheckInRejection, DeviceCommand
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso

INSERT = (
    "INSERT INTO device_commands (device_id, client_event_id, fingerprint, checkin_id, "
    "session_id, employee_no, reason, flags, server_time) VALUES (:device, :cei, :fp, :id, "
    ":sid, :no, :reason, :flags, :at) ON CONFLICT (device_id, client_event_id) DO NOTHING"
)


class DeviceCommands(Projection):
    name = "device_commands"
    owned_tables = ("device_commands",)
    tables = (
        "CREATE TABLE IF NOT EXISTS device_commands (device_id TEXT NOT NULL, "
        "client_event_id TEXT NOT NULL, fingerprint TEXT, checkin_id TEXT NOT NULL, "
        "session_id TEXT NOT NULL, employee_no TEXT, reason TEXT, "
        "flags TEXT NOT NULL DEFAULT '[]', server_time TEXT NOT NULL, "
        "PRIMARY KEY (device_id, client_event_id))",
    )

    @handles(DeviceCommand.CheckInRecorded)
    def recorded(self, e: Any, b: Batch) -> None:
        b.sql(
            INSERT,
            device=str(e.device_id),
            cei=e.client_event_id,
            fp=e.fingerprint,
            id=str(e.checkin_id),
            sid=str(e.session_id),
            no=e.employee_no,
            reason=None,
            flags="[]",
            at=iso(e.timestamp),
        )

    @handles(CheckInRejection.CheckInRejected)
    def rejected(self, e: Any, b: Batch) -> None:
        b.sql(
            INSERT,
            device=str(e.device_id),
            cei=e.client_event_id,
            fp=getattr(e, "fingerprint", None),
            id=str(e.originator_id),
            sid=str(e.session_id),
            no=None,
            reason=e.reason,
            flags=json.dumps(getattr(e, "flags", None) or []),
            at=iso(e.timestamp),
        )
