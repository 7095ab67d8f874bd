"""Sessions open and close by their schedule (a controlled clock), and whoever on the roster
never came is marked absent at the close."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.bootstrap import Muster, build
from app.settings import Settings
from tests.imports.files import day
from tests.imports.test_importer import load, run
from tests.imports.test_reminders import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def muster(settings: Settings, clock: Clock) -> Iterator[Muster]:
    wired = build(settings.model_copy(update={"session_clock": True}), clock=clock)
    yield wired
    wired.close()


def tick(muster: Muster, clock: Clock, when: str) -> dict[str, str]:
    clock.now = clock.now.fromisoformat(when)
    assert muster.runner.wait_until_caught_up(30)
    muster.session_clock.run_until_idle()
    assert muster.runner.wait_until_caught_up(30)
    return {r["code"]: r["status"] for r in muster.store.fetch("SELECT code, status FROM sessions")}


def test_sessions_open_and_close_on_time_and_absentees_are_marked(
    muster: Muster, clock: Clock
) -> None:
    load(muster)  # S2 (day(-6), E1 and E4 came), S1 (day(1) 09:00–10:00: E1, E2, E3)
    assert tick(muster, clock, f"{day(1)}T08:30:00+08:00") == {"S1": "scheduled", "S2": "closed"}
    assert tick(muster, clock, f"{day(1)}T09:00:00+08:00") == {"S1": "open", "S2": "closed"}
    paper = f"session_code,employee_no,checked_in_at\nS1,E1,{day(1)}T09:02:00+08:00\n"
    assert run(muster, "attendance", paper).applied
    assert tick(muster, clock, f"{day(1)}T10:00:00+08:00") == {"S1": "closed", "S2": "closed"}
    lines = muster.store.fetch(
        "SELECT a.employee_no, a.status FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "WHERE s.code = 'S1' ORDER BY a.employee_no"
    )
    assert [(r["employee_no"], r["status"]) for r in lines] == [
        ("E1", "present"),
        ("E2", "absent"),
        ("E3", "absent"),
    ]
    topics = [
        n.topic.rsplit(".", 1)[-1]
        for n in muster.app.recorder.select_notifications(start=1, limit=10_000)
    ]
    assert topics.count("SessionStarted") == 1 and topics.count("AbsenteesMarked") == 2
