"""A known training effect injected through the public contract is found again.

Two courses on four teams of 30 workers: LIFT really works (+15% output per hour, -20%
defects per unit for the trained), IDLE does nothing. Half of each team is trained, at
different sessions; a year's worth of daily figures goes in through `POST /api/v1/metrics`
and the effect is read back from `GET /api/v1/effect`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from app.bootstrap import Muster
from app.demo.metrics import TrueEffect, Worker, simulate
from app.domain.attendance import Attendance
from tests.conftest import LiveServer

DAYS = 180
TEAMS = ("T1", "T2", "T3", "T4")
import os
PER_TEAM = int(os.environ.get("PT", "30"))


def _plant(muster: Muster, start: date) -> dict[str, list[tuple[date, TrueEffect]]]:
    """Org, people, courses, past sessions and who attended them; returns who was trained
    when, with what true effect."""
    app, a = muster.app, "test"
    app.register_org_unit("G", "集团", "group", None, a)
    app.register_org_unit("C", "公司", "company", "G", a)
    app.register_org_unit("P1", "一厂", "plant", "C", a)
    app.register_org_unit("W1", "总装车间", "workshop", "P1", a)
    for team in TEAMS:
        app.register_org_unit(team, f"{team}班", "team", "W1", a)
    app.register_position("OP", "操作工", a)
    app.register_course("LIFT", "标准作业与防错", "quality", 60, None, a)
    app.register_course("IDLE", "企业文化", "culture", 60, None, a)
    app.register_course("FEW", "新设备试讲", "equipment", 60, None, a)
    app.hire_employees(
        [
            {
                "employee_no": f"{team}-{i:02d}",
                "name": f"{team}员工{i}",
                "org_unit": team,
                "position": "OP",
            }
            for team in TEAMS
            for i in range(PER_TEAM)
        ],
        a,
    )
    assert muster.runner.wait_until_caught_up(30)
    plan: list[tuple[str, str, int, list[str], TrueEffect]] = []
    for n, day in enumerate((60, 85, 110)):
        part = range(n * PER_TEAM // 6, (n + 1) * PER_TEAM // 6)
        people = [f"{t}-{i:02d}" for t in ("T1", "T2") for i in part]
        plan.append((f"LIFT-{n}", "LIFT", day, people, TrueEffect(0.15, -0.20)))
        people = [f"{t}-{i:02d}" for t in ("T3", "T4") for i in part]
        plan.append((f"IDLE-{n}", "IDLE", day + 5, people, TrueEffect()))
    plan.append(("FEW-0", "FEW", 90, ["T3-20", "T3-21", "T4-22"], TrueEffect()))
    trained: dict[str, list[tuple[date, TrueEffect]]] = {}
    for code, course, day, people, effect in plan:
        starts = datetime.combine(start + timedelta(days=day), time(2, 0), UTC)  # 10:00 Suzhou
        sid = app.schedule_session(
            code, course, "P1", "培训室", "讲师", starts, starts + timedelta(hours=1), people, a
        )
        _attended(muster, sid, people, starts + timedelta(minutes=2))
        for no in people:
            trained.setdefault(no, []).append((start + timedelta(days=day), effect))
    app.add_user("erp", "admin", "G", a, password="erp-password")
    app.add_user("hr", "hr", "G", a, password="hr-password")
    assert muster.runner.wait_until_caught_up(30)
    return trained


def _attended(muster: Muster, session_id: Any, people: list[str], at: datetime) -> None:
    muster.app.save(
        *[
            Attendance(
                session_id=session_id,
                employee_no=no,
                employee_name=no,
                dept="W1",
                method="paper",
                attendance_status="present",
                flags=[],
                checked_in_at=at,
                device_id=None,
                device_time=None,
                device_seq=None,
                client_event_id=f"import-{session_id}-{no}",
                reason=None,
                evidence={},
                actor="import",
            )
            for no in people
        ]
    )


def _token(client: httpx.Client, login: str, password: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", json={"login": login, "password": password})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


@pytest.fixture
def simulated(server: LiveServer) -> tuple[httpx.Client, dict[str, str]]:
    start = datetime.now(UTC).date() - timedelta(days=DAYS + 1)
    trained = _plant(server.muster, start)
    workers = [Worker(f"{t}-{i:02d}", t) for t in TEAMS for i in range(PER_TEAM)]
    lines = list(simulate(workers, trained, start, DAYS, seed=int(os.environ.get("SEED", "7"))))
    client = httpx.Client(base_url=server.url, timeout=120)
    erp = _token(client, "erp", "erp-password")
    for i in range(0, len(lines), 5000):
        reply = client.post("/api/v1/metrics", json={"items": lines[i : i + 5000]}, headers=erp)
        assert reply.status_code == 200, reply.text
        assert reply.json()["rejected"] == 0
    assert server.muster.metrics_runner.wait_until_caught_up(120)
    return client, _token(client, "hr", "hr-password")


def _effect(client: httpx.Client, headers: dict[str, str], **params: str) -> dict[str, Any]:
    reply = client.get("/api/v1/effect", params={"org": "P1", **params}, headers=headers)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_injected_effects_are_recovered_and_no_effect_reads_as_zero(
    simulated: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, hr = simulated
    lift = _effect(client, hr, course="LIFT", metric="output")
    print(lift)
    # the untrained half of each team, and for the first session also those trained later
    assert lift["trained"] == PER_TEAM and lift["control"] >= 30
    assert lift["ci95"][0] <= 0.15 <= lift["ci95"][1], lift
    assert lift["ci95"][1] - lift["ci95"][0] < 0.1
    assert lift["unit"] == "units_per_hour"
    assert lift["conversion_rate"] > 0.9
    assert "warning" not in lift

    fewer_defects = _effect(client, hr, course="LIFT", metric="defect_rate")
    print(fewer_defects)
    assert fewer_defects["ci95"][0] <= -0.20 <= fewer_defects["ci95"][1], fewer_defects
    assert fewer_defects["ci95"][1] < 0

    for metric in ("output", "defect_rate"):
        idle = _effect(client, hr, course="IDLE", metric=metric)
        assert idle["trained"] == PER_TEAM
        assert idle["ci95"][0] <= 0 <= idle["ci95"][1], idle
        assert idle["likely_ineffective"] is True
    assert lift["likely_ineffective"] is False


def test_effect_by_session_and_person(simulated: tuple[httpx.Client, dict[str, str]]) -> None:
    client, hr = simulated
    sessions = _effect(client, hr, course="LIFT", by="session")["groups"]
    assert [g["label"] for g in sessions] == ["LIFT-0", "LIFT-1", "LIFT-2"]
    assert all(g["ci95"][0] <= 0.15 <= g["ci95"][1] for g in sessions), sessions
    people = _effect(client, hr, course="LIFT", by="person")["groups"]
    assert len(people) == 30
    assert sum(abs(p["did"] - 0.15) < 0.05 for p in people) >= 27


def test_a_course_given_to_three_people_is_reported_with_a_warning(
    simulated: tuple[httpx.Client, dict[str, str]],
) -> None:
    client, hr = simulated
    few = _effect(client, hr, course="FEW")
    assert few["trained"] == 3
    assert "3" in few["warning"] and "10" in few["warning"]
    assert few["warnings"][0]["code"] == "small_sample"
