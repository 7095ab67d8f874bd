"""The HTTP API of the contract, against the real app served by uvicorn."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, Plant
from tests.support.checkins import badge


def device(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def login(server: LiveServer, name: str, password: str) -> httpx.Client:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": name, "password": password}
    )
    assert reply.status_code == 200, reply.text
    token = reply.json()["token"]
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def assert_problem(reply: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = reply.json()
    assert body["type"].endswith(slug)
    assert body["status"] == status and body["detail"]
    assert "Traceback" not in reply.text
    return body


def test_badge_check_in_then_replay(server: LiveServer, plant: Plant) -> None:
    with device(server, plant.p1_token) as tablet:
        body = badge(plant, "E01")
        first = tablet.post("/api/v1/checkins", json=body)
        again = tablet.post("/api/v1/checkins", json=body)
    assert first.status_code == 201
    assert first.json()["message"] == "签到成功"
    assert first.json()["employee"] == {"id": "E01", "name": "员工E01"}
    assert again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}


def test_english_reply_when_the_device_asks_for_it(server: LiveServer, plant: Plant) -> None:
    with device(server, plant.p1_token) as tablet:
        reply = tablet.post(
            "/api/v1/checkins",
            json=badge(plant, "E02"),
            headers={"Accept-Language": "en-US,en;q=0.8"},
        )
    assert reply.json()["message"] == "Checked in"


def test_batch_sync_twice_changes_nothing_the_second_time(server: LiveServer, plant: Plant) -> None:
    items = [badge(plant, f"E{n:02d}") for n in range(1, 11)]
    with device(server, plant.p1_token) as tablet:
        first = tablet.post("/api/v1/checkins/batch", json={"items": items})
        again = tablet.post("/api/v1/checkins/batch", json={"items": items})
    assert first.status_code == again.status_code == 200
    assert [r["status"] for r in first.json()["results"]] == ["accepted"] * 10
    assert all(r["replayed"] for r in again.json()["results"])
    assert server.muster.runner.wait_until_caught_up(10)
    with login(server, "hr", "hr-password") as hr:
        roster = hr.get(f"/api/v1/sessions/{plant.session_id}/attendance").json()
    assert roster["checked_in"] == 10
    assert sum(1 for r in roster["roster"] if r["status"] == "present") == 10


@pytest.mark.parametrize(
    ("raw", "status", "slug"),
    [
        (b"{not json", 400, "invalid-json"),
        (b"[1, 2]", 422, "invalid-body"),
        (b'{"client_event_id": "a", "session_id": 7, "method": "badge"}', 422, "invalid-body"),
        (
            b'{"client_event_id": "a", "session_id": "s", "method": "telepathy"}',
            422,
            "invalid-body",
        ),
    ],
)
def test_malformed_requests_get_problem_details(
    server: LiveServer, plant: Plant, raw: bytes, status: int, slug: str
) -> None:
    with device(server, plant.p1_token) as tablet:
        reply = tablet.post(
            "/api/v1/checkins", content=raw, headers={"content-type": "application/json"}
        )
    assert_problem(reply, status, slug)


def test_bad_input_loses_nothing_already_accepted(server: LiveServer, plant: Plant) -> None:
    with device(server, plant.p1_token) as tablet:
        assert tablet.post("/api/v1/checkins", json=badge(plant, "E03")).status_code == 201
        assert_problem(
            tablet.post("/api/v1/checkins", json=badge(plant, "E04", session_id=str(uuid.uuid4()))),
            404,
            "unknown-session",
        )
        assert_problem(
            tablet.post(
                "/api/v1/checkins",
                json=badge(plant, "E15", session_id=plant.other_plant_session_id),
            ),
            403,
            "session-other-plant",
        )
        big = {"items": [badge(plant, "E05") for _ in range(1001)]}
        assert_problem(tablet.post("/api/v1/checkins/batch", json=big), 413, "batch-too-large")
        unknown = tablet.post("/api/v1/checkins", json={**badge(plant, "E06"), "badge_uid": "NOPE"})
        assert unknown.status_code == 201 and unknown.json()["status"] == "rejected"
        assert unknown.json()["verdict"] == "rejected" and "type" not in unknown.json()
    assert server.muster.runner.wait_until_caught_up(10)
    with login(server, "hr", "hr-password") as hr:
        roster = hr.get(f"/api/v1/sessions/{plant.session_id}/attendance").json()
    present = {r["employee_no"] for r in roster["roster"] if r["status"] != "expected"}
    assert present == {"E03"}


def test_revoked_or_forged_device_tokens_are_refused(server: LiveServer, plant: Plant) -> None:
    with device(server, plant.p1_token + "x") as forged:
        assert_problem(
            forged.post("/api/v1/checkins", json=badge(plant, "E01")), 401, "device-token"
        )
    reply = httpx.post(f"{server.url}/api/v1/checkins", json=badge(plant, "E01"))
    assert_problem(reply, 401, "device-token")
    server.muster.app.revoke_device("tablet-p1", "stolen", "test")
    assert server.muster.runner.wait_until_caught_up(10)
    with device(server, plant.p1_token) as revoked:
        assert_problem(
            revoked.post("/api/v1/checkins", json=badge(plant, "E01")), 401, "device-token"
        )


def test_login_failure_does_not_say_which_part_was_wrong(server: LiveServer, plant: Plant) -> None:
    wrong_password = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "hr", "password": "x"}
    )
    unknown_user = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "ghost", "password": "x"}
    )
    a = assert_problem(wrong_password, 401, "login-failed")
    b = assert_problem(unknown_user, 401, "login-failed")
    assert a == b


def test_read_endpoints_require_a_login(server: LiveServer, plant: Plant) -> None:
    for path in [
        "/api/v1/sessions",
        f"/api/v1/sessions/{plant.session_id}/attendance",
        "/api/v1/events",
    ]:
        assert_problem(httpx.get(server.url + path), 401, "login-required")
        forged = httpx.get(
            server.url + path, headers={"Authorization": "Bearer mut_eyJzdWIiOiJhZG1pbiJ9.sig"}
        )
        assert_problem(forged, 401, "login-required")


def test_reads_are_scoped_to_the_callers_subtree(server: LiveServer, plant: Plant) -> None:
    with login(server, "sz1", "sz1-password") as sz1, login(server, "hr", "hr-password") as hr:
        mine = {s["id"] for s in sz1.get("/api/v1/sessions").json()["sessions"]}
        everything = {s["id"] for s in hr.get("/api/v1/sessions").json()["sessions"]}
        assert plant.session_id in mine and plant.other_plant_session_id not in mine
        assert plant.other_plant_session_id in everything
        assert_problem(
            sz1.get(f"/api/v1/sessions/{plant.other_plant_session_id}/attendance"), 403, "forbidden"
        )
        assert_problem(sz1.get("/api/v1/sessions?org=P2"), 403, "forbidden")
        assert_problem(sz1.get("/api/v1/sessions?org=NOWHERE"), 403, "forbidden")
        in_p2 = {s["id"] for s in hr.get("/api/v1/sessions?org=P2").json()["sessions"]}
        assert in_p2 == {plant.other_plant_session_id}
        by_workshop = {s["id"] for s in sz1.get("/api/v1/sessions?org=W1").json()["sessions"]}
        assert by_workshop == mine  # a workshop narrows to its plant
        assert_problem(sz1.get("/api/v1/events"), 403, "forbidden")


def test_sessions_carry_live_counts(server: LiveServer, plant: Plant) -> None:
    with device(server, plant.p1_token) as tablet:
        tablet.post(
            "/api/v1/checkins/batch", json={"items": [badge(plant, "E01"), badge(plant, "E02")]}
        )
    assert server.muster.runner.wait_until_caught_up(10)
    with login(server, "hr", "hr-password") as hr:
        sessions = {s["id"]: s for s in hr.get("/api/v1/sessions").json()["sessions"]}
    now = sessions[plant.session_id]
    assert (now["expected"], now["checked_in"]) == (13, 2)
    assert now["rate"] == pytest.approx(2 / 13)


def test_auditor_reads_the_event_log_in_order(server: LiveServer, plant: Plant) -> None:
    with device(server, plant.p1_token) as tablet:
        tablet.post("/api/v1/checkins", json=badge(plant, "E01"))
    with login(server, "auditor", "auditor-password") as auditor:
        page1 = auditor.get("/api/v1/events?after=0&limit=5").json()
        page2 = auditor.get(f"/api/v1/events?after={page1['next_after']}&limit=1000").json()
    ids = [e["id"] for e in page1["events"] + page2["events"]]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    topics = [e["topic"] for e in page1["events"] + page2["events"]]
    assert topics[0].endswith("OrgUnit.OrgUnitRegistered")
    # the check-in is the last event of the test's own; the alert engine appends alerts too
    events = page1["events"] + page2["events"]
    checked_in = next(
        e["state"] for e in reversed(events) if e["topic"].endswith("Attendance.EmployeeCheckedIn")
    )
    assert checked_in["employee_no"] == "E01" and checked_in["actor"] == "device:tablet-p1"
    assert json.dumps(checked_in)  # plain JSON an auditor can keep


def test_every_event_carries_its_actor_and_a_check_ins_device_facts(
    server: LiveServer, plant: Plant
) -> None:
    """CONTRACT.md: each event carries the actor and server time, and a device's events its
    device id, device time and device sequence: the check-in, its receipt for the device's
    `client_event_id`, and a refusal alike."""
    sent = datetime.now(UTC).isoformat()
    with device(server, plant.p1_token) as tablet:
        tablet.post("/api/v1/checkins", json=badge(plant, "E01", device_time=sent, device_seq=7))
        tablet.post(
            "/api/v1/checkins",
            json={**badge(plant, "E02", device_time=sent, device_seq=8), "badge_uid": "NOPE"},
        )
    with login(server, "auditor", "auditor-password") as auditor:
        events = auditor.get("/api/v1/events?after=0&limit=1000").json()["events"]
    assert [e["topic"] for e in events if not e["state"].get("actor")] == []
    assert all(e["state"]["timestamp"] for e in events)
    device_events = {
        e["topic"].rsplit(".", 1)[1]: e["state"]
        for e in events
        if e["topic"].rsplit(".", 1)[1]
        in ("EmployeeCheckedIn", "CheckInRecorded", "CheckInRejected")
    }
    assert sorted(device_events) == ["CheckInRecorded", "CheckInRejected", "EmployeeCheckedIn"]
    for name, state in device_events.items():
        assert state["actor"] == "device:tablet-p1", name
        assert state["device_id"] and state["device_time"], name
        assert state["device_seq"] in (7, 8), name


def test_a_metrics_line_missing_a_field_names_that_field(server: LiveServer, plant: Plant) -> None:
    """An ERP job's line without `source` is refused by itself, naming `source` and the
    person and day it was about; the other line is recorded."""
    server.muster.app.add_user("erp", "integration", "G", "test", password="erp-password")
    server.muster.runner.wait_until_caught_up(10)
    items = [
        {"employee_no": "E01", "date": "2026-11-02", "output_units": 5},
        {"employee_no": "E02", "date": "2026-11-02", "output_units": 7, "source": "MES"},
    ]
    with login(server, "erp", "erp-password") as erp:
        reply = erp.post("/api/v1/metrics", json={"items": items})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["recorded"], body["rejected"]) == (1, 1)
    (problem,) = body["problems"]
    assert problem["index"] == 0 and problem["field"] == "source"
    assert (problem["employee_no"], problem["date"]) == ("E01", "2026-11-02")
