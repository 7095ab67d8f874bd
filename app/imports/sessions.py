"""`sessions`: the training plan. Rosters name people, org units or `position:CODE` and are
expanded to people when the row is applied."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain.conflicts import Conflict
from app.domain.org import OrgKind
from app.domain.session_plan import (
    PlannedSession,
    SessionInOtherPlantError,
    SessionOverError,
    planned,
)
from app.domain.training import TrainingSession
from app.imports.base import (
    Context,
    ImportKind,
    Plan,
    Row,
    RowError,
    codes,
    columns,
    count,
    instant,
    required,
)
from app.imports.rosters import RosterExpander
from app.services.planning import PlanningWindow


def plan_sessions(rows: Sequence[Row], ctx: Context) -> Plan:
    result = Plan()
    rosters = RosterExpander(ctx.store, ctx.now.date())
    window = _window(rows, ctx)
    # new codes need no event-store read (the read models are caught up before planning)
    stored = {r["code"] for r in ctx.store.fetch("SELECT code FROM sessions")}
    for row in ctx.each_first(rows, "code", result):
        try:
            wanted = _checked(row, ctx, rosters)
            _plan_session(wanted, ctx, result, wanted.code in stored)
        except RowError as err:
            result.refuse(row.line, err)
            continue
        if window is not None:
            sitting = wanted.sitting()
            for conflict in window.check(sitting, ctx.team_share):
                result.warn(row.line, "", f"conflict.{conflict.kind}", **conflict_facts(conflict))
            window.add(sitting)
    return result


def _window(rows: Sequence[Row], ctx: Context) -> PlanningWindow | None:
    """The planning window spanning the file's sessions (None: conflicts are not checked)."""
    if ctx.planning is None:
        return None
    times = []
    for row in rows:
        try:
            times += [t for t in (instant(row, "starts_at"), instant(row, "ends_at")) if t]
        except RowError:
            continue
    return ctx.planning(min(times), max(times)) if times else None


def conflict_facts(conflict: Conflict) -> dict[str, object]:
    """What fills a conflict's words: its facts, and who it is about."""
    return {**conflict.facts, "person": conflict.employee_no or ""}


def _checked(row: Row, ctx: Context, rosters: RosterExpander) -> PlannedSession:
    course_code = required(row, "course_code")
    course = ctx.get("course", course_code)
    if course is None:
        raise RowError("course_code", "import.unknown_course", value=course_code)
    plant_code = required(row, "plant_code")
    plant = ctx.get("org", plant_code)
    if plant is None:
        raise RowError("plant_code", "import.unknown_org", value=plant_code)
    if plant.kind != OrgKind.PLANT:
        raise RowError("plant_code", "import.not_a_plant", value=plant_code)
    room = required(row, "room")
    starts, ends = instant(row, "starts_at"), instant(row, "ends_at")
    if starts is None or ends is None:
        raise RowError("starts_at" if starts is None else "ends_at", "import.required")
    if ends <= starts:
        raise RowError("ends_at", "import.end_before_start")
    spec = codes(row, "roster")
    return PlannedSession(
        code=row["code"],
        course=course_code,
        title=course.name,
        plant=plant_code,
        room=room,
        trainer=row["trainer"],
        starts_at=starts,
        ends_at=ends,
        roster=rosters.expand(spec, "roster", starts.date()),
        roster_spec=spec,
        capacity=count(row, "capacity", minimum=1),
    )


def _plan_session(wanted: PlannedSession, ctx: Context, result: Plan, stored: bool) -> None:
    session: TrainingSession | None = ctx.get("session", wanted.code) if stored else None
    try:
        session, new = planned(session, wanted, ctx.actor)
    except SessionInOtherPlantError as err:
        raise RowError("plant_code", "import.session_other_plant", value=err.plant) from err
    except SessionOverError as err:
        raise RowError("code", "import.session_over", value=wanted.code) from err
    result.keep(session, new=new)


SESSIONS = ImportKind(
    "sessions",
    columns(
        ("code", "course_code", "plant_code", "room", "starts_at", "ends_at"),
        ("trainer", "roster", "capacity"),
    ),
    plan_sessions,
    example={
        "code": "SZ1-2026-12-08-SAFE",
        "course_code": "SAFE-101",
        "plant_code": "SZ1",
        "room": "一厂培训室A",
        "starts_at": "2026-12-08T09:00:00+08:00",
        "ends_at": "2026-12-08T10:00:00+08:00",
        "trainer": "E10002",
        "roster": "E10001;SZ1-WELD-T1;position:FORK",
        "capacity": "40",
    },
)
