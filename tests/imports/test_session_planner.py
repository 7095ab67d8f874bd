"""The planner's commands on real stores: a weekly session saved four times with its team's
people, conflicts refused until confirmed (a room taken: never), a session rescheduled and
cancelled, each through the contract's events."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from app.bootstrap import Muster
from app.services.session_planner import Draft, Outcome
from tests.conftest import LiveServer
from tests.e2e.test_api import login
from tests.imports.files import day
from tests.imports.test_importer import load

CST = timezone(timedelta(hours=8))
TODAY = day(-6)


def at(on: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(on, time(hour, minute), CST)


def draft(**changes: object) -> Draft:
    base: dict[str, object] = {
        "plant": "P1",
        "course": "SAFE",
        "room": "培训室B",
        "trainer": "外部讲师 周老师",
        "starts_at": at(day(7), 14),
        "ends_at": at(day(7), 15),
        "roster_spec": ["E3"],
        "capacity": 20,
    }
    return Draft(**{**base, **changes})  # type: ignore[arg-type]


def topics(muster: Muster) -> list[str]:
    return [
        n.topic.rsplit(".", 1)[-1]
        for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
    ]


def sessions(muster: Muster, where: str = "1 = 1") -> list[dict[str, object]]:
    return muster.store.fetch(
        f"SELECT id, code, room, starts_at, status, expected FROM sessions WHERE {where} "
        "ORDER BY starts_at"
    )


def test_a_weekly_session_is_saved_four_times_with_its_teams_people(muster: Muster) -> None:
    load(muster, upto="sessions")
    weekly = draft(repeat="weekly", times=4, code="SAFE-WK", roster_spec=["T1"])
    # the whole of team T1 away at once: more than half of it, each week
    first = muster.planner.save(weekly, "user:hr", TODAY)
    assert first.outcome is Outcome.CONFLICTS
    assert [c.kind.value for c in first.checked.conflicts] == ["team_share"] * 4
    saved = muster.planner.save(weekly, "user:hr", TODAY, confirmed=True)
    assert saved.outcome is Outcome.SAVED, saved.checked.errors
    rows = sessions(muster, "code LIKE 'SAFE-WK-%'")
    assert [r["code"] for r in rows] == [
        f"SAFE-WK-{day(7):%Y%m%d}",
        f"SAFE-WK-{day(14):%Y%m%d}",
        f"SAFE-WK-{day(21):%Y%m%d}",
        f"SAFE-WK-{day(28):%Y%m%d}",
    ]
    assert {r["expected"] for r in rows} == {2}  # E1 and E2 of team T1
    roster = muster.store.fetch(
        "SELECT employee_no FROM attendance WHERE session_id = :id AND on_roster = 1 "
        "ORDER BY employee_no",
        {"id": rows[0]["id"]},
    )
    assert [r["employee_no"] for r in roster] == ["E1", "E2"]
    # the same plan again: every code is taken, nothing is saved twice
    again = muster.planner.save(weekly, "u", TODAY, confirmed=True)
    assert again.outcome is Outcome.INVALID
    assert [e.key for e in again.checked.errors] == ["plan.code_taken"]


def test_a_room_taken_is_never_saved_and_a_shift_clash_only_once_confirmed(
    muster: Muster,
) -> None:
    load(muster, upto="sessions")
    # S1: SAFE in 培训室A on day(1) 09:00–10:00, roster T1 (E1, E2) and QC (E3)
    same_room = draft(room="培训室A", starts_at=at(day(1), 9), ends_at=at(day(1), 10))
    checked = muster.planner.check(same_room, TODAY)
    kinds = {c.kind.value for c in checked.conflicts}
    assert {"room_double_booked", "person_double_booked"} <= kinds
    assert not checked.may_override
    slots = checked.occurrences[0].free_slots
    assert slots and all(not (s < at(day(1), 10) and e > at(day(1), 9)) for s, e in slots)
    refused = muster.planner.save(same_room, "user:hr", TODAY, confirmed=True)
    assert refused.outcome is Outcome.CONFLICTS
    assert not sessions(muster, "room = '培训室A' AND code <> 'S1' AND code <> 'S2'")

    # another room at the same hour: E1 is on shift (08:00–16:00) and on S1's roster
    other_room = draft(roster_spec=["E1"], starts_at=at(day(1), 9), ends_at=at(day(1), 10))
    first = muster.planner.save(other_room, "user:hr", TODAY)
    assert first.outcome is Outcome.CONFLICTS
    assert {c.kind.value for c in first.checked.conflicts} == {
        "person_double_booked",
        "shift_clash",
        "team_share",  # with S1, all of T1 would be away
    }
    assert first.checked.may_override
    confirmed = muster.planner.save(other_room, "user:hr", TODAY, confirmed=True)
    assert confirmed.outcome is Outcome.SAVED
    assert topics(muster)[-2:] == ["SessionScheduled", "SessionConflictsAccepted"]


def test_a_session_is_rescheduled_then_cancelled(muster: Muster) -> None:
    load(muster, upto="sessions")
    saved = muster.planner.save(draft(code="MOVE-ME"), "user:hr", TODAY)
    assert saved.outcome is Outcome.SAVED
    (sid,) = saved.session_ids
    later = draft(session_id=sid, starts_at=at(day(8), 10), ends_at=at(day(8), 11, 30))
    moved = muster.planner.save(later, "user:hr", TODAY)
    assert moved.outcome is Outcome.SAVED
    (row,) = sessions(muster, "code = 'MOVE-ME'")
    assert datetime.fromisoformat(str(row["starts_at"])) == at(day(8), 10)
    assert topics(muster)[-1] == "SessionRescheduled"
    # saving the same plan again changes nothing
    assert muster.planner.save(later, "user:hr", TODAY).outcome is Outcome.UNCHANGED
    assert muster.planner.cancel(sid, "trainer ill", "user:hr")
    assert topics(muster)[-1] == "SessionCancelled"
    (row,) = sessions(muster, "code = 'MOVE-ME'")
    assert row["status"] == "cancelled"
    over = muster.planner.save(draft(session_id=sid, room="培训室C"), "user:hr", TODAY)
    assert over.outcome is Outcome.INVALID
    assert [e.key for e in over.checked.errors] == ["plan.session_over"]


def test_a_department_heads_roster_stays_in_their_unit(muster: Muster) -> None:
    load(muster, upto="sessions")
    w1 = str(muster.store.fetch_one("SELECT path FROM org_units WHERE code = 'W1'")["path"])
    checked = muster.planner.check(draft(roster_spec=["T1", "E3"]), TODAY, people_under=w1)
    assert [(e.key, e.params) for e in checked.errors] == [("plan.roster_outside", {"count": 1})]
    assert not muster.planner.check(draft(roster_spec=["T1"]), TODAY, people_under=w1).errors


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_department_head_plans_for_their_unit_on_the_page(server: LiveServer) -> None:
    muster = server.muster
    load(muster, upto="sessions")
    muster.app.add_user("w1-head", "dept_head", "W1", "test", password="w1-password")
    muster.app.add_user("w1-trainer", "trainer", "W1", "test", password="trainer-password")
    assert muster.runner.wait_until_caught_up(30)
    form = {
        "plant": "P1",
        "course": "SAFE",
        "day": day(8).isoformat(),
        "start": "14:00",
        "end": "15:00",
        "room": "培训室B",
        "people": "E1 E3",
        "action": "save",
    }
    with login(server, "w1-head", "w1-password") as head:
        page = head.get("/plans/sessions/new", params={"plant": "P1", "day": day(8).isoformat()})
        assert page.status_code == 200
        assert 'value="T1"' in page.text and 'value="D1"' not in page.text  # their unit only
        refused = head.post("/plans/sessions", data=form, headers={"HX-Request": "true"})
        assert refused.status_code == 200 and "1 of the people on the roster are outside" in (
            head.post("/plans/sessions?lang=en", data=form, headers={"HX-Request": "true"}).text
        )
        saved = head.post(
            "/plans/sessions", data={**form, "people": "E1"}, headers={"HX-Request": "true"}
        )
        assert saved.headers.get("HX-Redirect", "").startswith("/plans?plant=P1")
    assert [r["code"] for r in sessions(muster, f"starts_at > '{day(8)}'")] == [
        f"P1-SAFE-{day(8):%Y%m%d}-1400"
    ]
    with login(server, "w1-trainer", "trainer-password") as trainer:
        assert trainer.get("/plans", params={"plant": "P1"}).status_code == 200
        looked = trainer.post("/plans/sessions", data=form, headers={"HX-Request": "true"})
        assert looked.status_code == 403  # trainers look at the plan, they do not change it
