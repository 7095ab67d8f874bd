"""Rosters kept current: a session not yet started whose roster names a team or a position
gains the people hired into it and loses those who move away or leave; a session that has
started keeps the roster it started with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import pytest

from app.bootstrap import Muster, build
from app.services.session_planner import Draft, Outcome, SessionPlanner
from app.settings import Settings
from app.stores.commit import GroupCommitter
from tests.imports.files import EMPLOYEES, day
from tests.imports.test_importer import load, run
from tests.support.clock import ManualClock


@pytest.fixture
def muster(settings: Settings) -> Iterator[Muster]:
    wired = build(settings, clock=ManualClock(datetime.fromisoformat(f"{day(1)}T09:30:00+08:00")))
    yield wired
    wired.close()


RUNNING_AND_LATER = f"""code,course_code,plant_code,room,starts_at,ends_at,trainer,roster
NOW,FIRE,P1,培训室B,{day(1)}T09:00:00+08:00,{day(1)}T11:00:00+08:00,E3,T1
LATER,FIRE,P1,培训室B,{day(2)}T09:00:00+08:00,{day(2)}T10:00:00+08:00,E3,T1;position:QC
"""


def roster(muster: Muster, code: str) -> list[str]:
    rows = muster.store.fetch(
        "SELECT a.employee_no FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "WHERE s.code = :code AND a.on_roster = 1 ORDER BY a.employee_no",
        {"code": code},
    )
    return [r["employee_no"] for r in rows]


def people(muster: Muster, text: str) -> None:
    """Import the employees file and let the keeper follow."""
    assert run(muster, "employees", text).applied
    assert muster.runner.wait_until_caught_up(30)
    muster.rosters.run_until_idle()
    assert muster.runner.wait_until_caught_up(30)


def test_rosters_of_sessions_not_yet_started_follow_people(muster: Muster) -> None:
    load(muster, upto="sessions")
    assert run(muster, "sessions", RUNNING_AND_LATER).applied
    running = muster.store.fetch_one("SELECT id FROM sessions WHERE code = 'NOW'")
    assert running is not None
    muster.app.start_session(UUID(running["id"]), "test")
    assert muster.runner.wait_until_caught_up(30)
    assert roster(muster, "NOW") == ["E1", "E2"]
    assert roster(muster, "LATER") == ["E1", "E2", "E3"]

    # hired into team T1, and a second quality inspector (position QC) in D1
    people(muster, EMPLOYEES + "E5,孙七,T1,OP,B5,,,,\nE6,周八,D1,QC,B6,,,,\n")
    assert roster(muster, "LATER") == ["E1", "E2", "E3", "E5", "E6"]
    assert roster(muster, "NOW") == ["E1", "E2"]  # started: kept as it was

    # E2 moves to another plant's workshop; E1 leaves before the session's day
    moved = EMPLOYEES.replace("E2,李四,T1,OP,B2,,,,", "E2,李四,W3,OP,B2,,,,")
    moved = moved.replace("2020-01-01,\n", f"2020-01-01,{day(2)}\n")
    people(muster, moved + "E5,孙七,T1,OP,B5,,,,\nE6,周八,D1,QC,B6,,,,\n")
    assert roster(muster, "LATER") == ["E3", "E5", "E6"]
    assert roster(muster, "NOW") == ["E1", "E2"]
    changes = [
        muster.app.mapper.to_domain_event(n)
        for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.endswith("SessionRosterChanged")
    ]
    assert len(changes) == 2 and {c.actor for c in changes} == {"rosters"}
    # S1 (day(1) 09:00) had started by the clock too: its roster never changed
    assert roster(muster, "S1") == ["E1", "E2", "E3"]


class CommitAfterTheKeeper:
    """The planner's committer, but the projections and the keeper run first: the instant
    between the planner reading the directory and its save being recorded."""

    def __init__(self, muster: Muster) -> None:
        self.muster = muster

    def submit(self, *aggregates: Any) -> Any:
        assert self.muster.runner.wait_until_caught_up(30)
        self.muster.rosters.run_until_idle()
        return self.muster.committer.submit(*aggregates)


def test_a_session_saved_in_the_instant_before_a_hire_is_projected_gets_that_person(
    muster: Muster,
) -> None:
    """The hire is in the log but not yet in the directory when the planner expands team T1;
    the keeper passes the hire before the session is projected. It still ends on the roster."""
    load(muster, upto="sessions")
    muster.rosters.run_until_idle()
    muster.app.hire_employees(
        [{"employee_no": "E5", "name": "孙七", "org_unit": "T1", "position": "OP"}], "test"
    )
    planner = SessionPlanner(
        muster.app,
        muster.store,
        cast(GroupCommitter, CommitAfterTheKeeper(muster)),
        muster.runner,
    )
    draft = Draft(
        plant="P1",
        course="FIRE",
        room="培训室C",
        trainer="外部讲师 周老师",
        starts_at=datetime.fromisoformat(f"{day(3)}T14:00:00+08:00"),
        ends_at=datetime.fromisoformat(f"{day(3)}T15:00:00+08:00"),
        roster_spec=["T1"],
        code="RACE",
    )
    saved = planner.save(draft, "user:hr", day(1), confirmed=True)
    assert saved.outcome is Outcome.SAVED
    (read,) = saved.checked.occurrences
    assert read.wanted.roster == ["E1", "E2"]  # expanded before the hire was projected

    assert muster.runner.wait_until_caught_up(30)
    muster.rosters.run_until_idle()
    assert muster.runner.wait_until_caught_up(30)
    assert roster(muster, "RACE") == ["E1", "E2", "E5"]
