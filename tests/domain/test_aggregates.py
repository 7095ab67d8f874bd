"""Aggregates: deterministic ids and state transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from app.domain.attendance import Attendance
from app.domain.ids import attendance_id
from app.domain.org import OrgKind, child_kind_allowed
from app.domain.training import SessionAlreadyClosedError, SessionStatus, TrainingSession

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def session(**overrides: object) -> TrainingSession:
    kwargs: dict[str, object] = dict(
        code="S1",
        course="SAFE",
        title="安全",
        plant="P1",
        room="A",
        trainer="陈",
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=1),
        roster=["E1", "E2", "E1"],
        actor="t",
    )
    kwargs.update(overrides)
    return TrainingSession(**kwargs)  # type: ignore[arg-type]


def test_same_session_and_employee_always_name_the_same_attendance() -> None:
    sid = uuid4()
    first = Attendance(
        session_id=sid,
        employee_no="E1",
        employee_name="张三",
        dept="W1",
        method="badge",
        attendance_status="present",
        flags=[],
        checked_in_at=NOW,
        device_id=None,
        device_time=None,
        device_seq=None,
        client_event_id="c1",
        reason=None,
        evidence={},
        actor="t",
    )
    assert first.id == attendance_id(sid, "E1")
    assert attendance_id(sid, "E1") != attendance_id(sid, "E2")
    assert attendance_id(sid, "E1") != attendance_id(uuid4(), "E1")


def test_roster_drops_repeated_names() -> None:
    assert session().roster == ["E1", "E2"]


def test_a_session_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end after"):
        session(ends_at=NOW)


def test_session_lifecycle_scheduled_open_closed() -> None:
    s = session()
    assert s.status is SessionStatus.SCHEDULED
    s.start(actor="t")
    s.start(actor="t")  # idempotent while open
    assert s.status is SessionStatus.OPEN
    s.end(actor="t")
    assert s.status is SessionStatus.CLOSED
    with pytest.raises(SessionAlreadyClosedError):
        s.start(actor="t")
    names = [type(e).__name__ for e in s.collect_events()]
    assert names == ["SessionScheduled", "SessionStarted", "SessionEnded"]


@pytest.mark.parametrize(
    ("parent", "child", "ok"),
    [
        (None, OrgKind.GROUP, True),
        (None, OrgKind.PLANT, True),
        (OrgKind.GROUP, OrgKind.COMPANY, True),
        (OrgKind.COMPANY, OrgKind.PLANT, True),
        (OrgKind.PLANT, OrgKind.WORKSHOP, True),
        (OrgKind.WORKSHOP, OrgKind.TEAM, True),
        (OrgKind.GROUP, OrgKind.PLANT, True),
        (OrgKind.WORKSHOP, OrgKind.DEPARTMENT, True),
        (OrgKind.PLANT, OrgKind.DEPARTMENT, True),
        (OrgKind.TEAM, OrgKind.DEPARTMENT, False),
        (OrgKind.TEAM, OrgKind.TEAM, False),
    ],
)
def test_org_tree_levels(parent: OrgKind | None, child: OrgKind, ok: bool) -> None:
    assert child_kind_allowed(parent, child) is ok
