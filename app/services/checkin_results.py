"""What the check-in command answers, in the domain's words (the web layer words them)."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.attendance import Attendance, CheckInRejection
from app.domain.errors import Refusal
from app.domain.rules import ANOMALOUS_FLAGS, Verdict
from app.stores.base import iso


@dataclass(frozen=True)
class StoredCheckIn:
    """What was stored for a check-in, from the aggregate or its read-model row."""

    checkin_id: str
    attendance_status: str
    flags: tuple[str, ...]
    employee_no: str
    employee_name: str
    server_time: str
    device_id: str | None
    client_event_id: str

    @property
    def verdict(self) -> Verdict:
        """Flagged when any remark is worth a human look, else accepted."""
        anomalous = any(f in ANOMALOUS_FLAGS for f in self.flags)
        return Verdict.FLAGGED if anomalous else Verdict.ACCEPTED

    @classmethod
    def of(cls, attendance: Attendance) -> StoredCheckIn:
        return cls(
            checkin_id=str(attendance.id),
            attendance_status=attendance.attendance_status,
            flags=tuple(attendance.flags),
            employee_no=attendance.employee_no,
            employee_name=attendance.employee_name,
            server_time=iso(attendance.created_on),
            device_id=str(attendance.device_id) if attendance.device_id else None,
            client_event_id=attendance.client_event_id,
        )


@dataclass(frozen=True)
class Accepted:
    """Stored now, for the first time (its verdict may still be `flagged`)."""

    record: StoredCheckIn


@dataclass(frozen=True)
class Replayed:
    """The same device command again: answered from what was stored the first time."""

    record: StoredCheckIn


@dataclass(frozen=True)
class AlreadyCheckedIn:
    """Another command had already checked this person in to the session: nothing new."""

    record: StoredCheckIn


@dataclass(frozen=True)
class Refused:
    """Refused by the check-in rules and kept as evidence under `checkin_id`."""

    checkin_id: str
    reason: str
    server_time: str
    flags: tuple[str, ...] = ()
    replayed: bool = False
    #: the employee number and name of the person it named, when anyone has what was shown
    employee: tuple[str, str] | None = None

    @classmethod
    def of(cls, rejection: CheckInRejection, *, replayed: bool) -> Refused:
        return cls(
            str(rejection.id),
            rejection.reason,
            iso(rejection.created_on),
            tuple(getattr(rejection, "flags", ())),
            replayed,
        )


#: One answer per check-in; a `Refusal` is an item the command could not take at all.
CheckInResult = Accepted | Replayed | AlreadyCheckedIn | Refused | Refusal
