"""Absentees offered the next session: who never came to a session of a course (marked at its
close) is suggested for the next session of that course, until they are on one; the
compliance matrix lists them with the next session of the course in their plant."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from app.bootstrap import Muster, build
from app.services.absentees import missed_in, offered_for
from app.services.session_planner import Draft, Outcome
from app.settings import Settings
from tests.conftest import LiveServer
from tests.e2e.test_api import login
from tests.imports.files import day
from tests.imports.test_importer import load, run

NOW = datetime.fromisoformat(f"{day(-5)}T08:00:00+08:00")
TODAY = day(-5)


@pytest.fixture
def muster(settings: Settings) -> Iterator[Muster]:
    wired = build(settings, clock=lambda: NOW)
    yield wired
    wired.close()


def fire(plant: str, room: str, day: str, roster: list[str]) -> Draft:
    return Draft(
        plant=plant,
        course="FIRE",
        room=room,
        trainer="E3",
        starts_at=datetime.fromisoformat(f"{day}T14:00:00+08:00"),
        ends_at=datetime.fromisoformat(f"{day}T15:00:00+08:00"),
        roster_spec=roster,
    )


def numbers(rows: list[dict[str, Any]]) -> list[str]:
    return [r["employee_no"] for r in rows]


def e4_misses_s2(muster: Muster) -> None:
    """The test plant, where E4 never came to S2 (FIRE, day(-6)) and is marked absent."""
    load(muster, upto="sessions")
    # S2 (FIRE, day(-6) 09:00–10:00, roster E1 and E4): only E1 came
    paper = f"session_code,employee_no,checked_in_at\nS2,E1,{day(-6)}T08:58:00+08:00\n"
    assert run(muster, "attendance", paper).applied
    assert muster.runner.wait_until_caught_up(30)
    muster.session_clock.run_until_idle()  # closes S2, marks E4 absent
    assert muster.runner.wait_until_caught_up(30)
    status = muster.store.fetch_one(
        "SELECT a.status FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "WHERE s.code = 'S2' AND a.employee_no = 'E4'"
    )
    assert status is not None and status["status"] == "absent"


def test_who_missed_a_session_is_offered_the_next_one_of_the_course(muster: Muster) -> None:
    e4_misses_s2(muster)
    p1 = muster.planner.save(fire("P1", "培训室A", day(3).isoformat(), ["E1"]), "user:hr", TODAY)
    assert p1.outcome is Outcome.SAVED
    (p1_id,) = p1.session_ids
    starts = datetime.fromisoformat(f"{day(3)}T14:00:00+08:00")
    assert numbers(offered_for(muster.store, "FIRE", starts, TODAY, p1_id)) == ["E4"]
    assert numbers(offered_for(muster.store, "SAFE", starts, TODAY, p1_id)) == []
    (missed,) = missed_in(muster.store, "/G/", TODAY, NOW)
    assert (missed["employee_no"], missed["course"], missed["next_session_id"]) == (
        "E4",
        "FIRE",
        None,  # nothing of FIRE planned in E4's plant (P2) yet
    )

    # a FIRE session in P2 for workshop W3 (E4's): E4 is on it, and no longer offered
    p2 = muster.planner.save(fire("P2", "二厂培训室", day(2).isoformat(), ["W3"]), "user:hr", TODAY)
    assert p2.outcome is Outcome.SAVED
    (missed,) = missed_in(muster.store, "/G/", TODAY, NOW)
    assert missed["next_session_id"] == p2.session_ids[0] and missed["on_next"] is True
    assert offered_for(muster.store, "FIRE", starts, TODAY, p1_id) == []
    # people of another subtree do not see E4
    assert missed_in(muster.store, "/G/P1/", TODAY, NOW) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_planner_form_and_the_compliance_api_offer_the_absentee(server: LiveServer) -> None:
    muster = server.muster
    e4_misses_s2(muster)
    saved = muster.planner.save(fire("P1", "培训室A", day(3).isoformat(), ["E1"]), "user:hr", TODAY)
    assert saved.outcome is Outcome.SAVED
    muster.app.add_user("planner-hr", "hr", "G", "test", password="planner-pw")
    assert muster.runner.wait_until_caught_up(30)
    with login(server, "planner-hr", "planner-pw") as hr:
        form = hr.get(f"/plans/sessions/{saved.session_ids[0]}", headers={"HX-Request": "true"})
        assert form.status_code == 200
        assert 'name="offer" value="E4"' in form.text and 'value="E1"' not in form.text
        body = hr.get("/api/v1/compliance", params={"org": "G"}).json()
        assert [(a["employee_no"], a["course"]) for a in body["absentees"]] == [("E4", "FIRE")]
