"""A known training effect injected through the public contract is found again.

Two courses on four teams of 30 workers: LIFT really works (+15% output per hour, -20%
defects per unit for the trained), IDLE does nothing. Half of each team is trained, at
different sessions; a year's worth of daily figures goes in through `POST /api/v1/metrics`
and the effect is read back from `GET /api/v1/effect`.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from app.demo.metrics import TrueEffect, Worker, simulate
from tests.conftest import LiveServer

DAYS = 180
TEAMS = ("T1", "T2", "T3", "T4")
PER_TEAM = 30
#: the figures' random draw; the interval's coverage over many draws is checked in
#: tests/domain/test_did.py, this test replays one draw end to end
SEED = 3


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode()


def _import(client: httpx.Client, headers: dict[str, str], kind: str, data: bytes) -> None:
    reply = client.post(
        f"/api/v1/imports/{kind}", files={"file": (f"{kind}.csv", data)}, headers=headers
    )
    assert reply.status_code == 200 and reply.json()["applied"], reply.text


def _plant(client: httpx.Client, hr: dict[str, str], start: date) -> dict[str, Any]:
    """Org, people, courses, past sessions and who attended them, imported as a plant would
    bring them over; returns who was trained when, with what true effect."""
    org = [["G", "集团", "group", ""], ["C", "公司", "company", "G"], ["P1", "一厂", "plant", "C"]]
    # a name a spreadsheet would run as a formula: the CSV export must keep it text
    org += [["W1", "=1+2总装车间", "workshop", "P1"]] + [[t, f"{t}班", "team", "W1"] for t in TEAMS]
    _import(client, hr, "org", _csv(["code", "name", "kind", "parent_code"], org))
    _import(client, hr, "positions", _csv(["code", "name"], [["OP", "操作工"]]))
    courses = [["LIFT", "标准作业与防错"], ["IDLE", "企业文化"], ["FEW", "新设备试讲"]]
    _import(client, hr, "courses", _csv(["code", "title"], courses))
    people = [[f"{t}-{i:02d}", f"{t}员工{i}", t, "OP"] for t in TEAMS for i in range(PER_TEAM)]
    header = ["employee_no", "name", "org_code", "position_code"]
    _import(client, hr, "employees", _csv(header, people))
    plan: list[tuple[str, str, int, list[str], TrueEffect]] = []
    for n, day in enumerate((60, 85, 110)):
        part = range(n * PER_TEAM // 6, (n + 1) * PER_TEAM // 6)
        lifted = [f"{t}-{i:02d}" for t in ("T1", "T2") for i in part]
        plan.append((f"LIFT-{n}", "LIFT", day, lifted, TrueEffect(0.15, -0.20)))
        idle = [f"{t}-{i:02d}" for t in ("T3", "T4") for i in part]
        plan.append((f"IDLE-{n}", "IDLE", day + 5, idle, TrueEffect()))
    plan.append(("FEW-0", "FEW", 90, ["T3-20", "T3-21", "T4-22"], TrueEffect()))
    sessions, attended = [], []
    trained: dict[str, list[tuple[date, TrueEffect]]] = {}
    for code, course, day, names, effect in plan:
        starts = datetime.combine(start + timedelta(days=day), time(2, 0), UTC)  # 10:00 Suzhou
        ends = starts + timedelta(hours=1)
        sessions.append(
            [code, course, "P1", "培训室", starts.isoformat(), ends.isoformat(), ";".join(names)]
        )
        came = (starts + timedelta(minutes=2)).isoformat()
        attended += [[code, no, came, "paper"] for no in names]
        for no in names:
            trained.setdefault(no, []).append((start + timedelta(days=day), effect))
    header = ["code", "course_code", "plant_code", "room", "starts_at", "ends_at", "roster"]
    _import(client, hr, "sessions", _csv(header, sessions))
    header = ["session_code", "employee_no", "checked_in_at", "method"]
    _import(client, hr, "attendance", _csv(header, attended))
    return trained


def _token(client: httpx.Client, login: str, password: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", json={"login": login, "password": password})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


@pytest.fixture
def simulated(server: LiveServer) -> tuple[httpx.Client, dict[str, str]]:
    muster, a = server.muster, "test"
    muster.app.register_org_unit("G", "集团", "group", None, a)
    muster.runner.wait_until_caught_up(10)
    muster.app.add_user("hr", "hr", "G", a, password="hr-password")
    muster.app.add_user("erp", "integration", "G", a, password="erp-password")
    assert muster.runner.wait_until_caught_up(10)
    client = httpx.Client(base_url=server.url, timeout=120)
    hr = _token(client, "hr", "hr-password")
    start = datetime.now(UTC).date() - timedelta(days=DAYS + 1)
    trained = _plant(client, hr, start)
    workers = [Worker(f"{t}-{i:02d}", t) for t in TEAMS for i in range(PER_TEAM)]
    lines = list(simulate(workers, trained, start, DAYS, seed=SEED))
    erp = _token(client, "erp", "erp-password")
    for i in range(0, len(lines), 5000):
        reply = client.post("/api/v1/metrics", json={"items": lines[i : i + 5000]}, headers=erp)
        assert reply.status_code == 200, reply.text
        assert reply.json()["rejected"] == 0
    assert muster.metrics_runner.wait_until_caught_up(120)
    return client, hr


def _effect(client: httpx.Client, headers: dict[str, str], **params: str) -> dict[str, Any]:
    reply = client.get("/api/v1/effect", params={"org": "P1", **params}, headers=headers)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_injected_effects_are_recovered_no_effect_reads_as_zero_and_few_people_warn(
    simulated: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, hr = simulated
    lift = _effect(client, hr, course="LIFT", metric="output")
    # the untrained half of each team, and for the first session also those trained later
    assert lift["trained"] == PER_TEAM and lift["control"] >= 30
    assert lift["ci95"][0] <= 0.15 <= lift["ci95"][1], lift
    assert lift["ci95"][1] - lift["ci95"][0] < 0.1
    assert lift["unit"] == "units_per_hour"
    assert lift["conversion_rate"] > 0.9
    assert "warning" not in lift

    fewer_defects = _effect(client, hr, course="LIFT", metric="defect_rate")
    assert fewer_defects["ci95"][0] <= -0.20 <= fewer_defects["ci95"][1], fewer_defects
    assert fewer_defects["ci95"][1] < 0

    for metric in ("output", "defect_rate"):
        idle = _effect(client, hr, course="IDLE", metric=metric)
        assert idle["trained"] == PER_TEAM
        assert idle["ci95"][0] <= 0 <= idle["ci95"][1], idle
        assert idle["likely_ineffective"] is True
    assert lift["likely_ineffective"] is False

    # the same per session and per person
    sessions = _effect(client, hr, course="LIFT", by="session")["groups"]
    assert [g["label"] for g in sessions] == ["LIFT-0", "LIFT-1", "LIFT-2"]
    assert all(g["ci95"][0] <= 0.15 <= g["ci95"][1] for g in sessions), sessions
    people = _effect(client, hr, course="LIFT", by="person")["groups"]
    assert len(people) == 30
    assert sum(abs(p["did"] - 0.15) < 0.05 for p in people) >= PER_TEAM - 3

    # a course given to three people: numbers, and a warning saying why to doubt them
    few = _effect(client, hr, course="FEW")
    assert few["trained"] == 3
    assert "3" in few["warning"] and "10" in few["warning"]
    assert few["warnings"][0]["code"] == "small_sample"


def test_reports_rank_the_working_course_first_and_export_what_they_show(
    simulated: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, hr = simulated
    page = client.get("/reports", params={"org": "P1", "lang": "en"}, headers=hr)
    assert page.status_code == 200
    assert page.text.index("LIFT 标准作业与防错") < page.text.index("IDLE 企业文化")
    assert "likely ineffective" in page.text and "<svg" in page.text

    params = {"org": "P1", "course": "LIFT", "metric": "defect_rate", "lang": "en"}
    xlsx = client.get("/reports/export/xlsx", params=params, headers=hr)
    book = load_workbook(io.BytesIO(xlsx.content))
    ranking = list(book.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert ranking[0][0] == "LIFT 标准作业与防错" and ranking[0][3] < -0.1
    assert book.worksheets[0]._charts  # the chart travels with the numbers

    text = client.get("/reports/export/csv", params=params, headers=hr).content.decode("utf-8-sig")
    first_cells = [r[0] for r in csv.reader(io.StringIO(text)) if r]
    assert "'=1+2总装车间" in first_cells and "=1+2总装车间" not in first_cells
    assert first_cells[2].startswith("LIFT")

    pdf = client.get("/reports/export/pdf", params=params, headers=hr)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_a_trained_worker_sees_their_sessions_and_own_before_and_after(
    server: LiveServer, simulated: tuple[httpx.Client, dict[str, str]]
) -> None:
    client, hr = simulated
    server.muster.app.add_user("t1-00", "employee", "T1", "test", "worker-pw", "T1-00")
    server.muster.runner.wait_until_caught_up(10)
    me = _token(client, "t1-00", "worker-pw")
    archive = client.get("/api/v1/me/effect", headers=me).json()
    assert [s["code"] for s in archive["sessions"]] == ["LIFT-0"]
    (course,) = archive["courses"]
    assert course["course"] == "LIFT" and len(course["days"]) > 40
    assert 1.10 < course["output_after"] / course["output_before"] < 1.22
    fragment = client.get("/m/effect", headers=me)
    assert fragment.status_code == 200 and "<svg" in fragment.text and "LIFT" not in fragment.text
    assert "标准作业与防错" in fragment.text
    assert client.get("/api/v1/me/effect", headers=hr).status_code == 403
