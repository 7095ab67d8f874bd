"""`POST /api/v1/imports/{kind}`, the templates and `GET /api/v1/sessions?code=` over HTTP."""

from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook

from tests.conftest import LiveServer
from tests.e2e.test_api import assert_problem, login
from tests.imports.files import EMPLOYEES, PLANT, day


def post(client: httpx.Client, kind: str, text: str, **form: str) -> httpx.Response:
    return client.post(
        f"/api/v1/imports/{kind}",
        files={"file": (f"{kind}.csv", text.encode(), "text/csv")},
        data=form,
    )


def hr_client(server: LiveServer) -> httpx.Client:
    server.muster.app.register_org_unit("XC", "集团", "group", None, "test")
    server.muster.app.add_user("boss", "hr", "XC", "test", password="boss-password")
    server.muster.runner.wait_until_caught_up(30)
    return login(server, "boss", "boss-password")


def load_over_http(hr: httpx.Client) -> None:
    """The test plant, under the login's group XC."""
    for kind, text in PLANT.items():
        reply = post(hr, kind, ORG_UNDER_XC if kind == "org" else text)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["applied"] is True and body["errors"] == []
        assert {"rows", "created", "updated"} <= body.keys()


ORG_UNDER_XC = PLANT["org"].replace(",group,,", ",company,XC,")


def test_a_plant_loads_over_http_and_sessions_are_found_by_code(server: LiveServer) -> None:
    with hr_client(server) as hr:
        dry = post(hr, "org", ORG_UNDER_XC, dry_run="true")
        assert dry.status_code == 200, dry.text
        assert dry.json()["applied"] is False and dry.json()["created"] == 7
        load_over_http(hr)
        found = hr.get("/api/v1/sessions", params={"code": "S1"}).json()["sessions"]
        assert [s["code"] for s in found] == ["S1"] and found[0]["expected"] == 3
        assert hr.get("/api/v1/sessions", params={"code": "NONE"}).json() == {"sessions": []}


def test_a_bad_file_over_http_lists_each_row_in_the_callers_language(server: LiveServer) -> None:
    with hr_client(server) as hr:
        bad = "code,name,kind,parent_code\nA,甲,plant,\nA,乙,plant,\nB,丙,team,NOWHERE\n"
        reply = post(hr, "org", bad)
        body = assert_problem(reply, 422, "import-refused")
        assert body["applied"] is False
        assert body["errors"] == [
            {"line": 3, "column": "code", "reason": "“A”重复，第 2 行已出现"},
            {
                "line": 4,
                "column": "parent_code",
                "reason": "上级组织“NOWHERE”不存在（文件和系统中都没有）",
            },
        ]
        english = hr.post(
            "/api/v1/imports/org",
            files={"file": ("org.csv", b"code,name\n", "text/csv")},
            headers={"Accept-Language": "en"},
        )
        assert english.json()["errors"][0]["reason"] == "required column is missing"
        assert_problem(post(hr, "nonsense", "a\n"), 404, "unknown-import-kind")


def test_only_hr_and_admins_import(server: LiveServer) -> None:
    server.muster.app.register_org_unit("XC", "集团", "group", None, "test")
    server.muster.app.add_user("aud", "auditor", "XC", "test", password="aud-password")
    server.muster.runner.wait_until_caught_up(30)
    with login(server, "aud", "aud-password") as auditor:
        assert_problem(post(auditor, "org", PLANT["org"]), 403, "forbidden")
    anonymous = httpx.post(
        f"{server.url}/api/v1/imports/org", files={"file": ("org.csv", b"x", "text/csv")}
    )
    assert anonymous.status_code == 401


def test_templates_have_every_column_and_load_back(server: LiveServer) -> None:
    for kind in PLANT:
        csv_reply = httpx.get(f"{server.url}/api/v1/imports/{kind}/template")
        assert csv_reply.status_code == 200
        assert csv_reply.headers["content-type"] == "text/csv; charset=utf-8"
        header = next(csv.reader(io.StringIO(csv_reply.content.decode("utf-8-sig"))))
        xlsx = httpx.get(f"{server.url}/api/v1/imports/{kind}/template?format=xlsx")
        sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
        assert [c.value for c in next(sheet.iter_rows())] == header
    assert header == ["session_code", "employee_no", "checked_in_at", "method", "note"]


def test_a_roster_names_a_position_within_one_org_unit(server: LiveServer) -> None:
    """`position:QC@W1`: the quality inspectors of workshop W1 and below it, not those of
    the quality department; an unknown unit is refused naming the line."""
    with hr_client(server) as hr:
        load_over_http(hr)
        more = EMPLOYEES + "E6,周八,T1,QC,B6,,,,\n"
        assert post(hr, "employees", more).json()["applied"] is True
        head = "code,course_code,plant_code,room,starts_at,ends_at,roster\n"
        when = f"{day(13)}T09:00:00+08:00,{day(13)}T10:00:00+08:00"
        reply = post(hr, "sessions", head + f"QC-W1,SAFE,P1,培训室C,{when},position:QC@W1\n")
        assert reply.json()["applied"] is True, reply.text
        (found,) = hr.get("/api/v1/sessions", params={"code": "QC-W1"}).json()["sessions"]
        lines = hr.get(f"/api/v1/sessions/{found['id']}/attendance").json()["roster"]
        assert [line["employee_no"] for line in lines] == ["E6"]  # not E3 of D1

        wrong = post(hr, "sessions", head + f"QC-XX,SAFE,P1,培训室C,{when},position:QC@XX\n")
        body = wrong.json()
        assert body["applied"] is False
        assert [(e["line"], e["column"]) for e in body["errors"]] == [(2, "roster")]


def test_a_post_without_a_file_is_answered_with_musters_problem(server: LiveServer) -> None:
    """No multipart body (JSON, a plain form, a broken one): an invalid-body problem in the
    caller's words, like the other upload routes, never the framework's English one."""
    with hr_client(server) as hr:
        replies = [
            hr.post("/api/v1/imports/org", json={"file": "org.csv"}),
            hr.post("/api/v1/imports/org", data={"dry_run": "true"}),
            hr.post(
                "/api/v1/imports/org",
                content=b"--x\r\nbroken",
                headers={"content-type": "multipart/form-data; boundary=x"},
            ),
        ]
        for reply in replies:
            body = assert_problem(reply, 400, "invalid-body")
            assert body["detail"] == "请求内容格式错误"
