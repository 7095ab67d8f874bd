"""`GET /api/v1/compliance?org=`: people against their positions' courses, from live and
imported attendance; the records equal a rebuild; exports neutralise formulas."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from app.bootstrap import Muster
from tests.conftest import LiveServer
from tests.imports.files import day
from tests.imports.test_import_api import hr_client, load_over_http, post
from tests.imports.test_importer import load, run


def records(muster: Muster) -> list[dict[str, object]]:
    return muster.store.fetch("SELECT * FROM training_records ORDER BY employee_no, course")


def test_training_records_equal_a_rebuild_from_the_events(muster: Muster) -> None:
    load(muster)
    now = datetime.now(UTC).replace(microsecond=0)
    live = (
        "code,course_code,plant_code,room,starts_at,ends_at,roster\n"
        f"L1,SAFE,P1,B,{(now - timedelta(minutes=5)).isoformat()},"
        f"{(now + timedelta(hours=1)).isoformat()},E2;E3\n"
    )
    assert run(muster, "sessions", live).applied
    muster.runner.run_once()
    token = muster.app.register_device("tab", "B", "P1", "tablet", "test")
    muster.runner.run_once()
    from tests.support.checkins import check_in  # the same path the HTTP API takes

    session_id = str(uuid.uuid5(uuid.UUID("6f1c4a52-8f0e-4f57-9a3e-6d2b8f1c0a11"), "session:L1"))
    item = {
        "client_event_id": "c1",
        "session_id": session_id,
        "method": "manual",
        "employee_id": "E2",
        "reason": "badge forgotten",
    }
    check_in(muster, token, [item], lang="en")
    assert muster.runner.wait_until_caught_up(30)
    live_records = records(muster)
    assert {(r["employee_no"], r["course"]) for r in live_records} == {
        ("E1", "FIRE"),  # imported paper record
        ("E4", "FIRE"),  # trained in plant P1, works in P2
        ("E2", "SAFE"),  # checked in live
    }
    muster.runner.rebuild(["training_records"])
    assert records(muster) == live_records


def test_compliance_matrix_over_http(server: LiveServer) -> None:
    with hr_client(server) as hr:
        load_over_http(hr)
        body = hr.get("/api/v1/compliance", params={"org": "P2"}).json()
        assert body["org"] == "P2" and body["courses"] == ["FIRE", "SAFE"]
        (e4,) = body["rows"]
        assert (e4["employee_no"], e4["employee_id"], e4["org_code"], e4["position_code"]) == (
            "E4",
            "E4",
            "W3",
            "OP",
        )
        # trained in the other plant, counted at home; FIRE stays valid two years
        assert e4["cells"]["FIRE"] == {
            "state": "done",
            "due_on": day(724).isoformat(),
            "last_done": day(-6).isoformat(),
        }
        assert e4["cells"]["SAFE"] == {"state": "never", "due_on": None, "last_done": None}
        whole = hr.get("/api/v1/compliance", params={"org": "P1"}).json()
        qc = next(r for r in whole["rows"] if r["employee_no"] == "E3")
        assert set(qc["cells"]) == {"SAFE"}  # only the courses the position requires
        never = hr.get(
            "/api/v1/compliance", params={"org": "G", "state": "never", "course": "FIRE"}
        )
        assert [r["employee_no"] for r in never.json()["rows"]] == ["E2"]
        assert hr.get("/api/v1/compliance", params={"org": "NOPE"}).status_code == 404


def test_exports_neutralise_formula_cells(server: LiveServer) -> None:
    with hr_client(server) as hr:
        load_over_http(hr)
        evil = "employee_no,name,org_code,position_code\nE9,=cmd|' /C calc'!A0,W3,OP\n"
        assert post(hr, "employees", evil).status_code == 200
        text = hr.get("/api/v1/compliance/export", params={"org": "P2"}).content.decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text)))
        assert lines[0][:2] == ["工号", "姓名"]
        assert lines[2][:2] == ["E9", "'=cmd|' /C calc'!A0"]
        xlsx = hr.get("/api/v1/compliance/export", params={"org": "P2", "format": "xlsx"})
        sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
        names = [row[1] for row in sheet.iter_rows(values_only=True)]
        assert "'=cmd|' /C calc'!A0" in names and not any(str(n).startswith("=") for n in names)
