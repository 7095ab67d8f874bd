"""`employees` and `shifts`: who works where, and when they are on the line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.domain.org import Employee
from app.domain.shifts import Shift
from app.imports.base import (
    Context,
    ImportKind,
    Plan,
    Row,
    RowError,
    columns,
    day,
    instant,
    required,
)

#: an employee as the directory shows them, in the order of `_wanted`
STORED = (
    "SELECT e.employee_no, e.name, e.org_unit, e.position, e.badge_uid, d.phone, d.email, "
    "d.hired_on, d.left_on FROM employees e "
    "LEFT JOIN employee_details d ON d.employee_no = e.employee_no"
)


def plan_employees(rows: Sequence[Row], ctx: Context) -> Plan:
    result = Plan()
    # The directory (caught up before planning) tells who exists and who is unchanged, so
    # only new and changed people touch the event store; the save still checks it.
    stored = {r["employee_no"]: tuple(r.values())[1:] for r in ctx.store.fetch(STORED)}
    badges: dict[str, int] = {}
    for row in ctx.each_first(rows, "employee_no", result):
        badge = row.optional("badge_uid")
        if badge and badges.setdefault(badge, row.line) != row.line:
            result.error(
                row.line, "badge_uid", "import.duplicate", value=badge, first=badges[badge]
            )
            continue
        try:
            _plan_employee(row, ctx, result, stored.get(row["employee_no"]))
        except RowError as err:
            result.refuse(row.line, err)
    return result


def _wanted(row: Row, stored: tuple[object, ...] | None) -> tuple[object, ...]:
    """The row in the directory's terms (a blank badge keeps the stored one)."""
    badge = row.optional("badge_uid") or (stored[3] if stored else None)
    return (
        row["name"],
        row["org_code"],
        row.optional("position_code"),
        badge,
        row.optional("phone"),
        row.optional("email"),
        day(row, "hired_on"),
        day(row, "left_on"),
    )


def _plan_employee(row: Row, ctx: Context, result: Plan, stored: tuple[object, ...] | None) -> None:
    if stored is not None and _wanted(row, stored) == stored:
        return  # unchanged
    name, org = required(row, "name"), required(row, "org_code")
    if ctx.get("org", org) is None:
        raise RowError("org_code", "import.unknown_org", value=org)
    position = row.optional("position_code")
    if position and ctx.get("position", position) is None:
        raise RowError("position_code", "import.unknown_position", value=position)
    email = row.optional("email")
    if email and "@" not in email:
        raise RowError("email", "import.bad_email", value=email)
    hired_on, left_on = day(row, "hired_on"), day(row, "left_on")
    if hired_on and left_on and left_on < hired_on:
        raise RowError("left_on", "import.left_before_hired", value=left_on)
    phone, badge = row.optional("phone"), row.optional("badge_uid")
    employee: Employee | None = (
        ctx.get("employee", row["employee_no"]) if stored is not None else None
    )
    new = employee is None
    if employee is None:
        employee = Employee(
            employee_no=row["employee_no"],
            name=name,
            org_unit=org,
            position=position,
            shift=None,
            badge_uid=badge,
            actor=ctx.actor,
            phone=phone,
            email=email,
            hired_on=hired_on,
        )
    else:
        if (employee.org_unit, employee.position) != (org, position):
            employee.move(org_unit=org, position=position, actor=ctx.actor)
        details = (name, phone, email, hired_on)
        if (employee.name, employee.phone, employee.email, employee.hired_on) != details:
            employee.change_details(
                name=name, phone=phone, email=email, hired_on=hired_on, actor=ctx.actor
            )
        if badge and badge != employee.badge_uid:
            employee.issue_badge(badge_uid=badge, actor=ctx.actor)
    if left_on and left_on != employee.left_on:
        employee.leave(left_on=left_on, actor=ctx.actor)
    elif not left_on and employee.left_on:
        employee.rejoin(actor=ctx.actor)
    result.keep(employee, new=new)


def plan_shifts(rows: Sequence[Row], ctx: Context) -> Plan:
    result = Plan()
    seen: dict[tuple[str, datetime], int] = {}
    for row in ctx.each(rows):
        try:
            no = required(row, "employee_no")
            starts, ends = instant(row, "starts_at"), instant(row, "ends_at")
            if starts is None or ends is None:
                raise RowError("starts_at" if starts is None else "ends_at", "import.required")
            if ends <= starts:
                raise RowError("ends_at", "import.end_before_start")
            if ctx.get("employee", no) is None:
                raise RowError("employee_no", "import.unknown_employee", value=no)
        except RowError as err:
            result.refuse(row.line, err)
            continue
        first = seen.setdefault((no, starts), row.line)
        if first != row.line:
            result.error(
                row.line, "starts_at", "import.duplicate", value=row["starts_at"], first=first
            )
            continue
        line = row["line"]
        shift: Shift | None = ctx.app.get_or_none(Shift.create_id(no, starts))
        new = shift is None
        if shift is None:
            shift = Shift(
                employee_no=no, starts_at=starts, ends_at=ends, line=line, actor=ctx.actor
            )
        elif (shift.ends_at, shift.line) != (ends, line):
            shift.change(ends_at=ends, line=line, actor=ctx.actor)
        result.keep(shift, new=new)
    return result


EMPLOYEES = ImportKind(
    "employees",
    columns(
        ("employee_no", "name", "org_code"),
        ("position_code", "badge_uid", "phone", "email", "hired_on", "left_on"),
    ),
    plan_employees,
    example={
        "employee_no": "E10001",
        "name": "王伟",
        "org_code": "SZ1-WELD-T1",
        "position_code": "WELDER",
        "badge_uid": "04A1B2C3D4E5F6",
        "hired_on": "2021-03-01",
    },
)
SHIFTS = ImportKind(
    "shifts",
    columns(("employee_no", "starts_at", "ends_at"), ("line",)),
    plan_shifts,
    example={
        "employee_no": "E10001",
        "starts_at": "2026-12-07T08:00:00+08:00",
        "ends_at": "2026-12-07T16:00:00+08:00",
        "line": "焊装2线",
    },
)
