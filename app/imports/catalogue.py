"""`positions` and `courses`: what each position must learn, and the courses themselves."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.org import Course, Position
from app.domain.reminders import Ladder
from app.imports.base import (
    Context,
    ImportKind,
    Plan,
    Row,
    RowError,
    codes,
    columns,
    count,
    required,
)

#: a course without a duration in the file lasts this long
DEFAULT_MINUTES = 60
#: the earliest first reminder a course may ask for (days before the pass runs out)
MAX_REMINDER_DAYS = 365


def plan_positions(rows: Sequence[Row], ctx: Context) -> Plan:
    result = Plan()
    for row in ctx.each_first(rows, "code", result):
        try:
            name = required(row, "name")
        except RowError as err:
            result.refuse(row.line, err)
            continue
        courses = codes(row, "mandatory_courses")
        for course in courses:  # positions come before courses when loading from scratch
            if ctx.get("course", course) is None:
                result.warn(row.line, "mandatory_courses", "import.course_not_yet", value=course)
        position: Position | None = ctx.get("position", row["code"])
        new = position is None
        if position is None:
            position = Position(code=row["code"], name=name, actor=ctx.actor)
        if (position.name, position.mandatory_courses) != (name, courses):
            position.define(
                code=position.code, name=name, mandatory_courses=courses, actor=ctx.actor
            )
        result.keep(position, new=new)
    return result


def plan_courses(rows: Sequence[Row], ctx: Context) -> Plan:
    result = Plan()
    for row in ctx.each_first(rows, "code", result):
        try:
            title = required(row, "title")
            minutes = count(row, "duration_minutes", minimum=1)
            validity = count(row, "validity_days", minimum=1)
        except RowError as err:
            result.refuse(row.line, err)
            continue
        materials = codes(row, "materials")
        course: Course | None = ctx.get("course", row["code"])
        new = course is None
        if course is None:
            course = Course(
                code=row["code"],
                name=title,
                kind="",
                duration_minutes=minutes or DEFAULT_MINUTES,
                validity_months=None,
                actor=ctx.actor,
            )
        minutes = minutes or course.duration_minutes
        wanted = (title, minutes, validity, materials)
        if (course.name, course.duration_minutes, course.validity_days, course.materials) != wanted:
            course.define(
                code=course.code,
                title=title,
                duration_minutes=minutes,
                validity_days=validity,
                materials=materials,
                actor=ctx.actor,
            )
        try:
            ladder = _ladder(row)
        except RowError as err:
            result.refuse(row.line, err)
            continue
        if ladder is not None and getattr(course, "reminders", None) != ladder:
            course.set_reminders(course.code, *ladder, actor=ctx.actor)
        result.keep(course, new=new)
    return result


def _ladder(row: Row) -> tuple[int, int, int] | None:
    """The course's own reminder days (`reminder_days` "30;7", `manager_after_days` "10"),
    None when the row gives none (the ladder's defaults then hold)."""
    days = codes(row, "reminder_days")
    manager = count(row, "manager_after_days", minimum=1)
    if not days and manager is None:
        return None
    default = Ladder()
    refused = RowError("reminder_days", "import.bad_reminder_days", value=row["reminder_days"])
    try:
        first, second = (int(d) for d in days) if days else (0, 0)
    except ValueError as exc:
        raise refused from exc
    if days and not (first > second >= 0 and first <= MAX_REMINDER_DAYS):
        raise refused
    if not days:
        first, second = default.first_reminder, default.second_reminder
    return first, second, manager if manager is not None else default.manager_after


POSITIONS = ImportKind(
    "positions",
    columns(("code", "name"), ("mandatory_courses",)),
    plan_positions,
    example={"code": "WELDER", "name": "焊工", "mandatory_courses": "SAFE-101;FIRE-102"},
)
COURSES = ImportKind(
    "courses",
    # `reminder_days` and `manager_after_days` (extension): the course's own reminder ladder
    columns(
        ("code", "title"),
        (
            "duration_minutes",
            "validity_days",
            "materials",
            "reminder_days",
            "manager_after_days",
        ),
    ),
    plan_courses,
    example={
        "code": "SAFE-101",
        "title": "安全生产基础",
        "duration_minutes": "60",
        "validity_days": "365",
        "materials": "M-SAFE-1;M-SAFE-2",
    },
)
