"""The alert engine on real SQLite and PostgreSQL with a clock the test moves: alerts are
raised when their condition turns true (by an event or by time alone), raised once, resolved
when the condition clears, and a restarted engine carries on where it stopped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.bootstrap import Muster, build
from app.settings import Settings
from tests.conftest import Plant, load_plant
from tests.support.checkins import badge, check_in
from tests.support.clock import ManualClock as Clock


@pytest.fixture
def clock() -> Clock:
    """The engine's time, moved by the test."""
    return Clock(datetime.now(UTC))


@pytest.fixture
def muster(settings: Settings, clock: Clock) -> Iterator[Muster]:
    wired = build(settings, clock=clock)
    yield wired
    wired.close()


def settle(muster: Muster) -> None:
    """Project, let the engine act on it, project what it appended."""
    for _ in range(3):
        muster.runner.run_once()
        muster.alert_engine.run_until_idle()
    muster.runner.run_once()


def alerts(muster: Muster, **where: str) -> list[dict[str, Any]]:
    """Alerts about the plant's running session in P1 (the test plant's P2 session runs too)."""
    rows = muster.store.fetch(
        "SELECT a.* FROM alerts a JOIN sessions s ON s.id = a.session_id "
        "WHERE s.code = 'S-NOW' ORDER BY a.raised_at, a.rule, a.id"
    )
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def open_rules(muster: Muster) -> list[tuple[str, str | None]]:
    return sorted(
        (r["rule"], r["org_code"] or r["device"]) for r in alerts(muster) if r["status"] == "open"
    )


def badge_in(muster: Muster, plant: Plant, *employees: str) -> None:
    items = [badge(plant, e) for e in employees]
    assert [a.status_code for a in check_in(muster, plant.p1_token, items)] == [201] * len(items)


@pytest.fixture
def quiet_plant(muster: Muster, clock: Clock) -> Plant:
    """The test plant with its running session started two minutes ago (before any rule)."""
    plant = load_plant(muster, started_minutes_ago=2)
    clock.now = two_minutes_in(muster, plant)
    settle(muster)
    return plant


def two_minutes_in(muster: Muster, plant: Plant) -> datetime:
    row = muster.store.fetch_one(
        "SELECT starts_at FROM sessions WHERE id = :id", {"id": plant.session_id}
    )
    assert row is not None
    return datetime.fromisoformat(row["starts_at"]) + timedelta(minutes=2)


def test_nothing_is_raised_before_the_marks(muster: Muster, quiet_plant: Plant) -> None:
    assert alerts(muster) == []


def test_the_late_mark_passing_raises_dept_rate_low_for_each_department_below(
    muster: Muster, quiet_plant: Plant, clock: Clock
) -> None:
    badge_in(muster, quiet_plant, "E09", "E10", "E11", "E12")  # all of 总装车间 (W2)
    badge_in(muster, quiet_plant, "E01", "E02")  # 2 of 8 of 冲压车间 (W1)
    settle(muster)
    assert [r for r in alerts(muster) if r["rule"] == "dept_rate_low"] == []
    clock.advance(minutes=8, seconds=1)  # 10 min after the start: the late mark
    settle(muster)
    low = alerts(muster, rule="dept_rate_low")
    assert sorted(r["org_code"] for r in low) == ["W1", "W3"]
    w1 = next(r for r in low if r["org_code"] == "W1")
    assert w1["session_id"] == quiet_plant.session_id
    assert "员工E08" in w1["facts"] and "员工E01" not in w1["facts"]  # who is missing


def test_an_alert_is_raised_once_however_often_its_session_changes(
    muster: Muster, quiet_plant: Plant, clock: Clock
) -> None:
    clock.advance(minutes=9)
    settle(muster)
    before = len(alerts(muster, rule="dept_rate_low", org_code="W1"))
    badge_in(muster, quiet_plant, "E01")
    badge_in(muster, quiet_plant, "E02")
    clock.advance(seconds=30)
    settle(muster)
    assert before == 1
    assert len(alerts(muster, rule="dept_rate_low", org_code="W1")) == 1


def test_an_alert_resolves_when_its_condition_clears(
    muster: Muster, quiet_plant: Plant, clock: Clock
) -> None:
    clock.advance(minutes=9)
    settle(muster)
    assert ("dept_rate_low", "W1") in open_rules(muster)
    assert ("no_checkins", None) in open_rules(muster)
    clock.advance(minutes=1)
    badge_in(muster, quiet_plant, *[f"E{n:02d}" for n in range(1, 8)])  # 7 of 8: 87.5%
    settle(muster)
    w1 = alerts(muster, rule="dept_rate_low", org_code="W1")
    assert [(r["status"], r["resolved_reason"]) for r in w1] == [("resolved", "condition_cleared")]
    assert alerts(muster, rule="no_checkins")[0]["status"] == "resolved"
    assert ("dept_rate_low", "W2") in open_rules(muster)  # 0 of 4 still


def test_a_silent_tablet_is_raised_after_five_quiet_minutes_and_again_after_it_spoke(
    muster: Muster, quiet_plant: Plant, clock: Clock
) -> None:
    clock.advance(minutes=3, seconds=1)  # 5 min since the start, the tablet never heard from
    settle(muster)
    assert ("device_silent", "tablet-p1") in open_rules(muster)
    badge_in(muster, quiet_plant, "E01")  # the tablet speaks
    settle(muster)
    assert ("device_silent", "tablet-p1") not in open_rules(muster)
    clock.advance(minutes=5, seconds=1)  # quiet again (the check-in's server time is real now)
    settle(muster)
    silent = alerts(muster, rule="device_silent")
    assert [r["status"] for r in silent] == ["resolved", "open"]
    assert silent[0]["id"] != silent[1]["id"]  # a second occurrence is a new alert


def test_a_session_past_its_end_resolves_what_was_open(
    muster: Muster, quiet_plant: Plant, clock: Clock
) -> None:
    clock.advance(minutes=9)
    settle(muster)
    assert open_rules(muster)
    clock.advance(hours=1)
    settle(muster)
    assert open_rules(muster) == []
    assert {r["resolved_reason"] for r in alerts(muster)} == {"session_over"}


def test_a_restarted_engine_resumes_from_its_checkpoint_and_keeps_its_deadlines(
    settings: Settings, clock: Clock
) -> None:
    first = build(settings, clock=clock)
    try:
        plant = load_plant(first, started_minutes_ago=2)
        clock.now = two_minutes_in(first, plant)
        settle(first)
        position = first.alert_engine.position()
        assert position > 0 and alerts(first) == []
    finally:
        first.close()
    clock.advance(minutes=8, seconds=1)  # the late mark passes while nothing runs
    again = build(settings, clock=clock)
    try:
        assert again.alert_engine.position() == position
        settle(again)
        assert ("dept_rate_low", "W1") in open_rules(again)
        count = len(alerts(again))
        settle(again)
        assert len(alerts(again)) == count
        assert plant.session_id in {r["session_id"] for r in alerts(again)}
    finally:
        again.close()


def test_a_plant_threshold_overrides_the_default_and_a_department_overrides_its_plant(
    muster: Muster, quiet_plant: Plant, clock: Clock
) -> None:
    muster.app.set_alert_threshold("P1", "dept_rate", 0.5, "test")
    muster.app.set_alert_threshold("W2", "dept_rate", 1.0, "test")
    badge_in(muster, quiet_plant, *[f"E{n:02d}" for n in range(1, 6)])  # W1 5/8 = 62.5%
    badge_in(muster, quiet_plant, "E09", "E10", "E11")  # W2 3/4 = 75%
    clock.advance(minutes=9)
    settle(muster)
    low = {r["org_code"] for r in alerts(muster, rule="dept_rate_low")}
    assert low == {"W2", "W3"}


def test_an_escalated_overdue_training_alerts_the_department_until_the_person_attends(
    muster: Muster, quiet_plant: Plant, clock: Clock
) -> None:
    from app.domain.reminders import Escalation

    muster.app.add_user("w1head", "dept_head", "W1", "test", password="head-password")
    muster.app.save(
        Escalation(
            employee_no="E03",
            course="SAFE",
            due_on="2026-11-30",
            level="dept_head",
            to="E01",
            days_overdue=7,
            actor="reminders",
        )
    )
    settle(muster)
    rows = muster.store.fetch("SELECT * FROM alerts WHERE rule = 'training_overdue'")
    assert [(r["employee_no"], r["status"], r["org_code"]) for r in rows] == [
        ("E03", "open", "W1-T1")
    ]
    assert "w1head" in rows[0]["recipients"]
    badge_in(muster, quiet_plant, "E03")  # attends a session of the course
    settle(muster)
    rows = muster.store.fetch("SELECT * FROM alerts WHERE rule = 'training_overdue'")
    assert [(r["status"], r["resolved_reason"]) for r in rows] == [("resolved", "trained")]
