"""Conflicts through the import (row by row) and `GET /api/v1/conflicts?session_id=`."""

from __future__ import annotations

import time

from app.bootstrap import Muster
from app.web.import_texts import reason
from tests.conftest import LiveServer
from tests.e2e.test_api import assert_problem
from tests.imports.files import PLANT, day
from tests.imports.test_import_api import hr_client, load_over_http
from tests.imports.test_importer import load, run

CLASH = (
    "code,course_code,plant_code,room,starts_at,ends_at,trainer,roster,capacity\n"
    f"S3,FIRE,P1,培训室A,{day(1)}T09:30:00+08:00,{day(1)}T10:30:00+08:00,E3,E1,\n"
)


def test_an_import_that_creates_conflicts_says_so_row_by_row(muster: Muster) -> None:
    load(muster)
    result = run(muster, "sessions", PLANT["sessions"] + CLASH.split("\n", 1)[1])
    assert result.applied  # conflicts are remarks for the planner, not refusals
    assert {(f.line, f.key) for f in result.warnings} == {
        (2, "conflict.shift_clash"),  # S1 itself: E1 is on shift, all of team T1 is away
        (2, "conflict.team_share"),
        (4, "conflict.person_double_booked"),
        (4, "conflict.trainer_double_booked"),
        (4, "conflict.room_double_booked"),
        (4, "conflict.shift_clash"),
        (4, "conflict.team_share"),
    }
    room = next(f for f in result.warnings if f.key == "conflict.room_double_booked")
    assert (
        reason(room, "en", muster.settings.plant_tz)
        == f"room 培训室A is taken by session S1 at that time ({day(1):%m-%d} 09:00)"
    )


def test_conflicts_endpoint_explains_each_and_offers_free_slots(server: LiveServer) -> None:
    muster = server.muster
    with hr_client(server) as hr:
        load_over_http(hr)
        clash = hr.post("/api/v1/imports/sessions", files={"file": ("f.csv", CLASH.encode())})
        assert clash.status_code == 200 and len(clash.json()["warnings"]) == 5
        s1 = hr.get("/api/v1/sessions", params={"code": "S1"}).json()["sessions"][0]["id"]
        s3 = hr.get("/api/v1/sessions", params={"code": "S3"}).json()["sessions"][0]["id"]
        started = time.perf_counter()
        reply = hr.get(
            "/api/v1/conflicts", params={"session_id": s3}, headers={"Accept-Language": "en"}
        )
        elapsed = time.perf_counter() - started
        assert reply.status_code == 200, reply.text
        body = reply.json()
        found = {
            (c["kind"], c.get("with_session_id"), c.get("employee_no")) for c in body["conflicts"]
        }
        assert found == {
            ("person_double_booked", s1, "E1"),
            ("trainer_double_booked", s1, None),
            ("room_double_booked", s1, None),
            ("shift_clash", None, "E1"),
            ("team_share", None, None),
        }
        details = {c["kind"]: c["detail"] for c in body["conflicts"]}
        assert (
            details["shift_clash"]
            == f"张三 (E1) is on shift on 冲压1线 then ({day(1):%m-%d} 08:00–{day(1):%m-%d} 16:00)"
        )
        assert len(body["free_slots"]) == 3
        assert all(s["starts_at"].endswith("+08:00") for s in body["free_slots"])
        assert elapsed < 2
        zh = hr.get("/api/v1/conflicts", params={"session_id": "S3"}).json()
        assert any("同一时间已被场次 S1 占用" in c["detail"] for c in zh["conflicts"])
        assert_problem(
            hr.get("/api/v1/conflicts", params={"session_id": "nope"}), 404, "unknown-session"
        )
    assert muster.runner.wait_until_caught_up(10)
