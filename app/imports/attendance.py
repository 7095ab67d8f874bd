"""`attendance`: past records brought over from paper or an old system. Each row becomes a
check-in marked as imported; a person already recorded for the session is left as is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from app.domain.attendance import Attendance
from app.domain.rules import AttendanceStatus, Flag, Window, check_in_window
from app.domain.training import TrainingSession
from app.imports.base import Context, ImportKind, Plan, Row, RowError, columns, instant, required

METHODS = ("paper", "manual", "badge", "qr", "face")
#: a paper sheet signed this long before or after the session still belongs to it
SLACK = timedelta(hours=12)


def plan_attendance(rows: Sequence[Row], ctx: Context) -> Plan:
    result = Plan()
    seen: dict[tuple[str, str], int] = {}
    depts = {
        r["employee_no"]: (r["name"], r["dept"])
        for r in ctx.store.fetch("SELECT employee_no, name, dept FROM employees")
    }
    # who is already recorded (read models are caught up before planning; the save checks)
    recorded = {
        (r["session_id"], r["employee_no"])
        for r in ctx.store.fetch(
            "SELECT session_id, employee_no FROM attendance WHERE checked_in_at IS NOT NULL"
        )
    }
    for row in ctx.each(rows):
        try:
            attendance = _checked(row, ctx, depts, seen, recorded)
        except RowError as err:
            result.refuse(row.line, err)
            continue
        if attendance is not None:
            result.keep(attendance, new=True)
    return result


def _checked(
    row: Row,
    ctx: Context,
    people: dict[str, tuple[str, str | None]],
    seen: dict[tuple[str, str], int],
    recorded: set[tuple[str, str]],
) -> Attendance | None:
    code, no = required(row, "session_code"), required(row, "employee_no")
    at = instant(row, "checked_in_at")
    if at is None:
        raise RowError("checked_in_at", "import.required")
    method = (row["method"] or "paper").lower()
    if method not in METHODS:
        raise RowError("method", "import.bad_choice", value=method, choices=", ".join(METHODS))
    session: TrainingSession | None = ctx.get("session", code)
    if session is None:
        raise RowError("session_code", "import.unknown_session", value=code)
    if no not in people:
        raise RowError("employee_no", "import.unknown_employee", value=no)
    first = seen.setdefault((code, no), row.line)
    if first != row.line:
        raise RowError("employee_no", "import.duplicate", value=f"{code}/{no}", first=first)
    if (str(session.id), no) in recorded:
        return None  # already recorded (live or by an earlier import): unchanged
    if not session.starts_at - SLACK <= at <= session.ends_at + SLACK:
        raise RowError("checked_in_at", "import.outside_session", value=row["checked_in_at"])
    window = check_in_window(at, session.starts_at, session.ends_at, ctx.policy)
    on_roster = no in session.roster
    late = window in (Window.LATE, Window.CLOSED)
    status = (
        AttendanceStatus.WALK_IN
        if not on_roster
        else AttendanceStatus.LATE
        if late
        else AttendanceStatus.PRESENT
    )
    flags = [Flag.WALK_IN.value] if not on_roster else [Flag.LATE.value] if late else []
    name, dept = people[no]
    return Attendance(
        session_id=session.id,
        employee_no=no,
        employee_name=name,
        dept=dept,
        method=method,
        attendance_status=status.value,
        flags=flags,
        checked_in_at=at,
        device_id=None,
        device_time=None,
        device_seq=None,
        client_event_id=f"import:{code}/{no}",
        reason=row.optional("note"),
        evidence={},
        actor=ctx.actor,
        imported=True,
    )


ATTENDANCE = ImportKind(
    "attendance",
    columns(("session_code", "employee_no", "checked_in_at"), ("method", "note")),
    plan_attendance,
    example={
        "session_code": "SZ1-2026-12-08-SAFE",
        "employee_no": "E10001",
        "checked_in_at": "2026-12-08T08:55:00+08:00",
        "method": "paper",
        "note": "纸质签到表第 3 页",
    },
)
