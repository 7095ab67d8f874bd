"""The reminder ladder with a controlled clock: the person 14 and 3 days before, the
department head once overdue, the plant manager 7 days later — each rung once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta, timezone

import pytest

from app.bootstrap import Muster, build
from app.settings import Settings
from tests.imports.files import PLANT, day
from tests.imports.test_importer import run
from tests.support.clock import ManualClock

CST = timezone(timedelta(hours=8))


class Clock(ManualClock):
    """Plant time, from noon on the day S2 was held (`day(-6)`) unless told otherwise."""

    def __init__(self, now: datetime | None = None) -> None:
        super().__init__(now or datetime.combine(day(-6), time(12, 0), CST))

    def day(self, text: str) -> None:
        """Eight in the morning of plant day `text`."""
        self.now = datetime.fromisoformat(f"{text}T08:00:00+08:00")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def muster(settings: Settings, clock: Clock) -> Iterator[Muster]:
    wired = build(settings, clock=clock)
    yield wired
    wired.close()


def ladder_events(muster: Muster) -> list[tuple[str, str, str, str]]:
    found = []
    for n in muster.app.recorder.select_notifications(start=1, limit=100_000):
        if n.topic.endswith(("ReminderSent", "ReminderEscalated")):
            e = muster.app.mapper.to_domain_event(n)
            found.append(
                (type(e).__name__, e.employee_no, getattr(e, "rung", None) or e.level, e.to)
            )
    return found


def climb(muster: Muster, clock: Clock, day: str) -> list[tuple[str, str, str, str]]:
    before = len(ladder_events(muster))
    clock.day(day)
    assert muster.runner.wait_until_caught_up(30)
    muster.reminders.run_until_idle()
    return ladder_events(muster)[before:]


def test_the_ladder_climbs_each_rung_once_on_its_day(muster: Muster, clock: Clock) -> None:
    files = dict(PLANT)
    files["courses"] = PLANT["courses"].replace("FIRE,消防安全,45,730,", "FIRE,消防安全,45,30,")
    files["org"] = (
        PLANT["org"]
        .replace("P1,一厂,plant,G,", "P1,一厂,plant,G,E3")
        .replace("W1,冲压车间,workshop,P1,", "W1,冲压车间,workshop,P1,E2")
    )
    for kind in ("org", "positions", "courses", "employees", "sessions", "attendance"):
        text = files[kind]
        if kind == "org":  # heads once the people exist
            text = PLANT["org"]
        assert run(muster, kind, text).applied, kind
    assert run(muster, "org", files["org"]).applied
    # E1 (team T1 under workshop W1, plant P1) and E4 (W3, plant P2) sat FIRE in S2 on
    # day(-6): valid 30 days, due on day(24)
    assert climb(muster, clock, day(9).isoformat()) == []
    assert sorted(climb(muster, clock, day(10).isoformat())) == [
        ("ReminderSent", "E1", "14_days_before", "E1"),
        ("ReminderSent", "E4", "14_days_before", "E4"),
    ]
    assert climb(muster, clock, day(10).isoformat()) == []  # the same day again: nothing twice
    assert sorted(climb(muster, clock, day(21).isoformat())) == [
        ("ReminderSent", "E1", "3_days_before", "E1"),
        ("ReminderSent", "E4", "3_days_before", "E4"),
    ]
    assert sorted(climb(muster, clock, day(24).isoformat())) == [
        ("ReminderEscalated", "E1", "dept_head", "E2"),  # W1's head
        ("ReminderEscalated", "E4", "dept_head", ""),  # W3 has no head yet
    ]
    assert climb(muster, clock, day(30).isoformat()) == []
    assert sorted(climb(muster, clock, day(31).isoformat())) == [
        ("ReminderEscalated", "E1", "plant_manager", "E3"),  # P1's head
        ("ReminderEscalated", "E4", "plant_manager", ""),
    ]
    # E1 takes the course again: nothing more for E1; E4 stays escalated, once
    again = (
        "code,course_code,plant_code,room,starts_at,ends_at,roster\n"
        f"S9,FIRE,P1,A,{day(32)}T09:00:00+08:00,{day(32)}T10:00:00+08:00,E1\n"
    )
    assert run(muster, "sessions", again).applied
    paper = f"session_code,employee_no,checked_in_at\nS9,E1,{day(32)}T09:00:00+08:00\n"
    assert run(muster, "attendance", paper).applied
    assert climb(muster, clock, day(44).isoformat()) == []


def test_a_course_with_its_own_thresholds_reminds_and_escalates_on_its_own_days(
    muster: Muster, clock: Clock
) -> None:
    files = dict(PLANT)
    # FIRE: valid 30 days (due on day(24)), reminders 20 and 5 days before, the manager 3 days after
    files["courses"] = (
        "code,title,duration_minutes,validity_days,materials,reminder_days,manager_after_days\n"
        "SAFE,安全生产基础,60,365,M1;M2,,\n"
        "FIRE,消防安全,45,30,,20;5,3\n"
    )
    for kind in ("org", "positions", "courses", "employees", "sessions", "attendance"):
        assert run(muster, kind, files[kind]).applied, kind
    assert climb(muster, clock, day(3).isoformat()) == []
    assert sorted(climb(muster, clock, day(4).isoformat())) == [
        ("ReminderSent", "E1", "14_days_before", "E1"),  # the first reminder of the ladder
        ("ReminderSent", "E4", "14_days_before", "E4"),
    ]
    assert climb(muster, clock, day(18).isoformat()) == []
    assert [e[2] for e in climb(muster, clock, day(19).isoformat())] == ["3_days_before"] * 2
    assert [e[2] for e in climb(muster, clock, day(24).isoformat())] == ["dept_head"] * 2
    assert [e[2] for e in climb(muster, clock, day(27).isoformat())] == ["plant_manager"] * 2
    # a bad ladder is refused on its line; the same file again changes nothing
    bad = files["courses"].replace("20;5", "5;20")
    refused = run(muster, "courses", bad)
    assert not refused.applied
    assert [(f.line, f.column, f.key) for f in refused.errors] == [
        (3, "reminder_days", "import.bad_reminder_days")
    ]
    again = run(muster, "courses", files["courses"])
    assert again.applied and again.updated == 0 and again.created == 0
