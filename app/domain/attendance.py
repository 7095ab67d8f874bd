"""Attendance: who checked in to which session, how, and what was odd about it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import attendance_id, device_command_id


class Attendance(Aggregate):
    """One per session and employee (uuid5 id): a second check-in can never double it."""

    @staticmethod
    def create_id(session_id: UUID, employee_no: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return attendance_id(session_id, employee_no)

    @event("EmployeeCheckedIn")
    def __init__(
        self,
        session_id: UUID,
        employee_no: str,
        employee_name: str,
        dept: str | None,
        method: str,
        attendance_status: str,
        flags: list[str],
        checked_in_at: datetime,
        device_id: UUID | None,
        device_time: datetime | None,
        device_seq: int | None,
        client_event_id: str,
        reason: str | None,
        evidence: dict[str, str],
        actor: str,
        imported: bool = False,
    ):
        self.session_id = session_id
        self.employee_no = employee_no
        self.employee_name = employee_name
        self.dept = dept
        self.method = method
        self.attendance_status = attendance_status
        self.flags = list(flags)
        self.checked_in_at = checked_in_at
        self.device_id = device_id
        self.client_event_id = client_event_id
        #: brought over from paper or an old system, not checked in live
        self.imported = imported


class CheckInRejection(Aggregate):
    """A refused check-in attempt, kept as evidence (unknown badge, session closed …)."""

    @staticmethod
    def create_id(device_id: UUID, client_event_id: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return device_command_id(device_id, client_event_id)

    @event("CheckInRejected")
    def __init__(
        self,
        device_id: UUID,
        client_event_id: str,
        session_id: UUID,
        method: str,
        presented: str,
        reason: str,
        rejected_at: datetime,
        device_time: datetime | None,
        device_seq: int | None,
        actor: str,
        flags: list[str] | None = None,
        fingerprint: str | None = None,
        employee_no: str | None = None,
    ):
        self.device_id = device_id
        self.client_event_id = client_event_id
        self.session_id = session_id
        self.method = method
        self.presented = presented
        self.reason = reason
        self.rejected_at = rejected_at
        self.flags = list(flags or [])
        #: digest of the command's content (None on refusals stored before it was kept)
        self.fingerprint = fingerprint
        #: whom it named, when anyone has what was presented (None on older refusals)
        self.employee_no = employee_no


class DeviceCommand(Aggregate):
    """A device's `client_event_id`, bound to the check-in it recorded and the content it
    first came with. Shares its id with `CheckInRejection`, so one device command is one
    record: the same id again with other content is refused, never stored a second time."""

    @staticmethod
    def create_id(device_id: UUID, client_event_id: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return device_command_id(device_id, client_event_id)

    @event("CheckInRecorded")
    def __init__(
        self,
        device_id: UUID,
        client_event_id: str,
        fingerprint: str,
        checkin_id: UUID,
        session_id: UUID,
        employee_no: str,
        actor: str | None = None,
        device_time: datetime | None = None,
        device_seq: int | None = None,
    ):
        # actor, device time and sequence: what every device event carries (CONTRACT.md);
        # None on receipts stored before they were kept
        self.device_id = device_id
        self.client_event_id = client_event_id
        self.fingerprint = fingerprint
        self.checkin_id = checkin_id
        self.session_id = session_id
        self.employee_no = employee_no
        self.actor = actor
        self.device_time = device_time
        self.device_seq = device_seq
