"""Was this check-in stored already? Answered here and nowhere else.

Three moments ask: before appending (the read models know most earlier check-ins, found
for a whole batch in one query), when a rule refuses (the refusal of the same device
command may be stored), and after a concurrent request won the race (the event store
refused our copy). Each answer comes from what was stored first, so a replay's reply
equals the first one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from uuid import UUID

from app.application import Training
from app.domain.attendance import Attendance, CheckInRejection
from app.domain.ids import attendance_id, device_command_id
from app.domain.rules import Repeat, classify_repeat
from app.services.checkin_results import AlreadyCheckedIn, Refused, Replayed, StoredCheckIn
from app.services.commands import CheckInCommand
from app.services.devices import DeviceIdentity
from app.stores.base import Row, Statement

ATTENDANCE_COLUMNS = (
    "a.session_id, a.employee_no, a.status, a.checkin_id, a.device_id, "
    "a.client_event_id, a.server_time, a.flags, a.on_roster"
)

PersonKey = tuple[str, str]  # (session id, employee no)


def attendance_query(people: Iterable[PersonKey]) -> Statement | None:
    """The attendance rows of these (session, employee) pairs, or None for none.

    Joined from a VALUES list, which probes the primary key once per pair on both stores
    (`IN` over two lists would probe their cross product)."""
    params: dict[str, str] = {}
    rows = []
    for i, (session_id, employee_no) in enumerate(sorted(set(people))):
        params[f"x{i}"], params[f"y{i}"] = session_id, employee_no
        rows.append(f"(:x{i}, :y{i})")
    if not rows:
        return None
    return Statement(
        f"SELECT {ATTENDANCE_COLUMNS} FROM (VALUES {', '.join(rows)}) AS w "
        "JOIN attendance a ON a.session_id = w.column1 AND a.employee_no = w.column2",
        params,
    )


def stored_from_row(row: Row, employee_name: str) -> StoredCheckIn:
    """What an attendance row says was stored."""
    return StoredCheckIn(
        checkin_id=row["checkin_id"],
        attendance_status=row["status"],
        flags=tuple(json.loads(row["flags"])),
        employee_no=row["employee_no"],
        employee_name=employee_name,
        server_time=row["server_time"],
        device_id=row["device_id"],
        client_event_id=row["client_event_id"],
    )


def repeat_of(
    first: StoredCheckIn, device: DeviceIdentity, command: CheckInCommand
) -> Replayed | AlreadyCheckedIn:
    """A check-in for someone already checked in: the same device command again is a
    replay, anything else a duplicate."""
    repeat = classify_repeat(
        first.device_id, first.client_event_id, str(device.id), command.client_event_id
    )
    return Replayed(first) if repeat is Repeat.REPLAY else AlreadyCheckedIn(first)


class Idempotency:
    """The event-store side of the question (the read-model side is `attendance_query`)."""

    def __init__(self, app: Training) -> None:
        self.app = app

    def earlier_refusal(self, device: DeviceIdentity, client_event_id: str) -> Refused | None:
        """The stored refusal of this device command, if it was refused before."""
        existing: CheckInRejection | None = self.app.get_or_none(
            device_command_id(device.id, client_event_id)
        )
        return None if existing is None else Refused.of(existing, replayed=True)

    def after_conflict(
        self, device: DeviceIdentity, command: CheckInCommand, lost: object
    ) -> Replayed | AlreadyCheckedIn | Refused:
        """A concurrent request stored the same record first: answer from what it stored."""
        if isinstance(lost, CheckInRejection):
            stored_rejection: CheckInRejection = self.app.repository.get(lost.id)
            return Refused.of(stored_rejection, replayed=True)
        assert isinstance(lost, Attendance)
        stored: Attendance = self.app.repository.get(
            attendance_id(UUID(str(lost.session_id)), lost.employee_no)
        )
        return repeat_of(StoredCheckIn.of(stored), device, command)
