"""Changes reach the people affected: a session moved, its roster changed and then called
off each leave a notice in the inbox of every employee concerned, read on the phone with the
employee's own token; nobody else hears of it, and replaying the log or restarting records
nothing twice."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import httpx

from app.bootstrap import build
from app.domain.training import TrainingSession
from app.muster import Muster
from app.services.session_notices import SessionNotices
from tests.conftest import LiveServer, Plant
from tests.e2e.test_api import login

ROSTER = [f"E{n:02d}" for n in range(1, 13)] + ["E15"]


def employee(muster: Muster, no: str) -> str:
    muster.app.add_user(no.lower(), "employee", "P1", "test", password=f"{no}-pw", employee_no=no)
    return no.lower()


def session(muster: Muster, sid: str) -> TrainingSession:
    found = muster.app.repository.get(UUID(sid))
    assert isinstance(found, TrainingSession)
    return found


def notices(server: LiveServer, no: str, lang: str = "zh-CN") -> list[dict[str, object]]:
    with login(server, no.lower(), f"{no}-pw") as me:
        reply = me.get("/api/v1/me/notices", headers={"Accept-Language": lang})
    assert reply.status_code == 200, reply.text
    return list(reply.json()["notices"])


def inbox_size(muster: Muster) -> int:
    return int(muster.store.fetch("SELECT COUNT(*) AS n FROM session_notices")[0]["n"])


def test_a_move_a_roster_change_and_a_cancel_reach_the_people_on_the_roster(
    server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    for no in ("E01", "E05", "E20"):
        employee(muster, no)
    later = session(muster, plant.later_session_id)
    moved_to = later.starts_at + timedelta(days=1)
    later.reschedule(moved_to, moved_to + timedelta(hours=1), "培训室C", "user:hr")
    muster.app.save(later)
    muster.notices.run_until_idle()
    assert inbox_size(muster) == len(ROSTER)  # one notice per person on the roster
    [moved] = notices(server, "E05")
    assert moved["kind"] == "rescheduled" and moved["room"] == "培训室C"
    assert moved["was_room"] == "培训室B" and moved["title"] == "安全生产基础"
    assert "培训室C" in str(moved["text"]) and "改到" in str(moved["text"])
    [moved_en] = notices(server, "E05", "en")
    assert str(moved_en["text"]).startswith("安全生产基础: moved to")
    assert notices(server, "E20") == []  # not on the roster: hears nothing

    later = session(muster, plant.later_session_id)
    later.change_roster([*ROSTER[1:], "E20"], [*ROSTER[1:], "E20"], "user:hr")
    muster.app.save(later)
    muster.notices.run_until_idle()
    assert inbox_size(muster) == len(ROSTER) + 2  # only E01 (off) and E20 (on) are told
    assert [n["kind"] for n in notices(server, "E20")] == ["added"]
    assert [n["kind"] for n in notices(server, "E01")] == ["removed", "rescheduled"]
    assert [n["kind"] for n in notices(server, "E05")] == ["rescheduled"]

    assert muster.planner.cancel(plant.later_session_id, "讲师生病", "user:hr")
    muster.notices.run_until_idle()
    assert inbox_size(muster) == 2 * len(ROSTER) + 2  # E02…E12, E15 and E20
    cancelled = notices(server, "E20")[0]
    assert cancelled["kind"] == "cancelled" and cancelled["reason"] == "讲师生病"
    assert "已取消" in str(cancelled["text"]) and "讲师生病" in str(cancelled["text"])
    assert [n["kind"] for n in notices(server, "E01")] == ["removed", "rescheduled"]
    cancelled_en = notices(server, "E20", "en")[0]
    assert "is cancelled: 讲师生病" in str(cancelled_en["text"])

    # the phone page has the inbox, and another login cannot read it
    page = httpx.get(f"{server.url}/m?lang=zh-CN")
    assert "您的培训有变动" in page.text and 'id="p-notices"' in page.text
    script = httpx.get(f"{server.url}/static/checkin/phone.js").text
    assert "/api/v1/me/notices" in script
    with login(server, "hr", plant.hr_password) as hr:
        assert hr.get("/api/v1/me/notices").status_code == 403


def test_replaying_the_log_or_restarting_records_no_notice_twice(
    muster: Muster, plant: Plant
) -> None:
    later = session(muster, plant.later_session_id)
    later.reschedule(later.starts_at, later.ends_at, "培训室C", "user:hr")
    muster.app.save(later)
    ended = session(muster, plant.session_id)
    ended.end("user:trainer")
    muster.app.save(ended)
    ended = session(muster, plant.session_id)
    ended.change_roster(["E20"], ["E20"], "user:hr")  # over already: nobody is told
    muster.app.save(ended)
    muster.notices.run_until_idle()
    assert inbox_size(muster) == len(ROSTER)
    # the whole log read again from the start
    with muster.store.transaction() as tx:
        tx.execute("UPDATE projection_tracking SET position = 0 WHERE name = 'session_notices'")
    muster.notices.run_until_idle()
    assert inbox_size(muster) == len(ROSTER)
    # a restart: a new process with the same stores picks up where the last one stopped
    again = build(muster.settings, muster.adapters)
    try:
        assert isinstance(again.notices, SessionNotices)
        again.notices.run_until_idle()
        assert again.notices.position() == muster.notices.position()
        assert inbox_size(again) == len(ROSTER)
    finally:
        again.close()


def test_a_poll_with_nothing_new_opens_no_transaction(muster: Muster, plant: Plant) -> None:
    muster.notices.run_until_idle()
    opened: list[int] = []
    store = muster.store
    real = store.transaction

    def counted() -> object:
        opened.append(1)
        return real()

    store.transaction = counted  # type: ignore[method-assign]
    try:
        for _ in range(5):
            muster.notices.run_once()
    finally:
        del store.transaction
    assert opened == []
    later = session(muster, plant.later_session_id)
    later.reschedule(later.starts_at, later.ends_at, "培训室C", "user:hr")
    muster.app.save(later)
    muster.notices.run_until_idle()
    assert inbox_size(muster) == len(ROSTER)  # something new still goes through
