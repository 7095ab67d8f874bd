"""Was this check-in stored already? Answered here and nowhere else.

A device command (`client_event_id`, per device) is bound to the content it first came
with. Two moments ask: before appending, from the read models (one query for a whole
batch finds earlier commands and attendance), and after the event store refused our copy
(a concurrent request, or a record the read models have not caught up with yet, was
first). Either way the answer comes from what was stored first, so a replay's reply equals
the first one, and the same id with other content is refused, naming the first record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from uuid import UUID

from app.application import Training
from app.domain.attendance import Attendance, CheckInRejection, DeviceCommand
from app.domain.errors import IdempotencyKeyReused
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
COMMAND_COLUMNS = (
    "c.client_event_id, c.fingerprint, c.checkin_id, c.session_id, c.employee_no, c.reason, "
    "c.flags, c.server_time"
)

PersonKey = tuple[str, str]  # (session id, employee no)
#: what was stored first for a command: nothing yet known, a replay's answer, or a refusal
Earlier = Replayed | AlreadyCheckedIn | Refused | IdempotencyKeyReused


def _values(pairs: Iterable[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    params: dict[str, str] = {}
    rows = []
    for i, (first, second) in enumerate(sorted(set(pairs))):
        params[f"x{i}"], params[f"y{i}"] = first, second
        rows.append(f"(:x{i}, :y{i})")
    return ", ".join(rows), params


def commands_query(device: DeviceIdentity, commands: Sequence[CheckInCommand]) -> Statement | None:
    """The stored commands of this device among these `client_event_id`s."""
    ids = {c.client_event_id for c in commands}
    if not ids:
        return None
    values, params = _values((str(device.id), cei) for cei in ids)
    return Statement(
        f"SELECT {COMMAND_COLUMNS} FROM (VALUES {values}) AS w "
        "JOIN device_commands c ON c.device_id = w.column1 AND c.client_event_id = w.column2",
        params,
    )


def commands_of_token_query(
    token_hash: str, commands: Sequence[CheckInCommand]
) -> Statement | None:
    """`commands_query` for the device holding a token, before the device is known: it can
    go in the same round trip as the device's own lookup."""
    ids = sorted({c.client_event_id for c in commands})
    if not ids:
        return None
    params = {"h": token_hash, **{f"c{i}": cei for i, cei in enumerate(ids)}}
    marks = ", ".join(f":c{i}" for i in range(len(ids)))
    return Statement(
        f"SELECT {COMMAND_COLUMNS} FROM device_credentials k JOIN device_commands c "
        f"ON c.device_id = k.device_id WHERE k.token_hash = :h AND c.client_event_id IN ({marks})",
        params,
    )


def attendance_by_badge_query(pairs: Iterable[tuple[str, str]]) -> Statement | None:
    """The attendance rows of the holders of these (session id, badge) pairs, or None for
    none: `attendance_query` before the badges are resolved to people."""
    values, params = _values(pairs)
    if not values:
        return None
    return Statement(
        f"SELECT {ATTENDANCE_COLUMNS} FROM (VALUES {values}) AS w "
        "JOIN employees e ON e.badge_uid = w.column2 "
        "JOIN attendance a ON a.session_id = w.column1 AND a.employee_no = e.employee_no",
        params,
    )


def attendance_query(people: Iterable[PersonKey]) -> Statement | None:
    """The attendance rows of these (session, employee) pairs, or None for none.

    Joined from a VALUES list, which probes the primary key once per pair on both stores
    (`IN` over two lists would probe their cross product)."""
    values, params = _values(people)
    if not values:
        return None
    return Statement(
        f"SELECT {ATTENDANCE_COLUMNS} FROM (VALUES {values}) AS w "
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


def same_content(first: str | None, again: str) -> bool:
    """Whether a command again carries the content it was first stored with (a first
    record from before fingerprints were kept is taken at its word)."""
    return first is None or first == again


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
    """Decides, from the read models or the event store, what a command repeats."""

    def __init__(self, app: Training) -> None:
        self.app = app

    def known(
        self, command: CheckInCommand, row: Row | None, attendance: Row | None, name: str
    ) -> Earlier | None:
        """From the read models: the stored command `row` of this id and the attendance
        row of the person it names. None: nothing stored yet as far as they know."""
        if row is not None:
            if not same_content(row["fingerprint"], command.fingerprint()):
                return IdempotencyKeyReused(checkin_id=row["checkin_id"])
            if row["reason"] is not None:
                flags = tuple(json.loads(row["flags"]))
                return Refused(row["checkin_id"], row["reason"], row["server_time"], flags, True)
            if attendance is not None and attendance["checkin_id"] == row["checkin_id"]:
                return Replayed(stored_from_row(attendance, name))
            return Replayed(self._attendance(UUID(row["checkin_id"])))
        return None

    def after_conflict(
        self, device: DeviceIdentity, command: CheckInCommand, lost: Sequence[object] | None
    ) -> Earlier:
        """The event store refused our copy: answer from what was stored first."""
        first = self.app.get_or_none(device_command_id(device.id, command.client_event_id))
        if first is not None:
            if not same_content(getattr(first, "fingerprint", None), command.fingerprint()):
                checkin = first.checkin_id if isinstance(first, DeviceCommand) else first.id
                return IdempotencyKeyReused(checkin_id=str(checkin))
            if isinstance(first, CheckInRejection):
                return Refused.of(first, replayed=True)
            return Replayed(self._attendance(first.checkin_id))
        # a rejection's only key is the command's: the record that lost is an attendance
        record = next(a for a in lost or () if isinstance(a, Attendance))
        stored = self._attendance(attendance_id(UUID(str(record.session_id)), record.employee_no))
        return repeat_of(stored, device, command)

    def _attendance(self, checkin_id: UUID) -> StoredCheckIn:
        attendance: Attendance = self.app.repository.get(checkin_id)
        return StoredCheckIn.of(attendance)
