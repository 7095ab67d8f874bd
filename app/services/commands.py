"""The check-in command as the service receives it (the web layer parses the wire body)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class CheckInCommand:
    """One check-in from a device: who, where, how, and the device's own stamps."""

    client_event_id: str
    session_id: str
    method: str
    employee_id: str | None = None
    badge_uid: str | None = None
    qr_token: str | None = None
    face_photo_id: str | None = None
    device_time: datetime | None = None
    device_seq: int | None = None
    reason: str | None = None
    phone_id: str | None = None

    def fingerprint(self) -> str:
        """A digest of the canonical content: the same check-in sent again has the same
        fingerprint, whatever the key order or the offset its device time was written in."""
        fields = asdict(self)
        if self.device_time is not None:
            fields["device_time"] = self.device_time.astimezone(UTC).isoformat()
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]
