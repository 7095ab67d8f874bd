"""Phone check-ins over HTTP: an employee's own login, the room QR, the phone's id."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.domain.qr import qr_key, room_qr
from tests.conftest import LiveServer, Plant

PHONE_A = "phone-a-0001"
PHONE_B = "phone-b-0002"


def login(server: LiveServer, login: str, password: str) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


@pytest.fixture
def people(server: LiveServer, plant: Plant) -> dict[str, str]:
    """Employee logins for E01, E02 and E15 (who works at the other plant)."""
    app = server.muster.app
    for no, unit in (("E01", "W1-T1"), ("E02", "W1-T1"), ("E15", "W3")):
        app.add_user(no.lower(), "employee", unit, "test", password=f"{no}-pw", employee_no=no)
    assert server.muster.runner.wait_until_caught_up(30)
    return {no: login(server, no.lower(), f"{no}-pw") for no in ("E01", "E02", "E15")}


def room_token(server: LiveServer, plant: Plant, session_id: str | None = None) -> str:
    reply = httpx.get(
        f"{server.url}/api/v1/sessions/{session_id or plant.session_id}/qr",
        headers={"Authorization": f"Bearer {plant.p1_token}"},
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["qr_token"])


def phone_check_in(
    server: LiveServer, token: str, session_id: str, qr_token: str, phone_id: str, **extra: Any
) -> httpx.Response:
    body = {
        "client_event_id": str(uuid.uuid4()),
        "session_id": session_id,
        "method": "qr",
        "qr_token": qr_token,
        "phone_id": phone_id,
        "device_time": datetime.now(UTC).isoformat(),
        **extra,
    }
    return httpx.post(
        f"{server.url}/api/v1/checkins",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
    )


def checked_in_event(server: LiveServer, employee_no: str) -> dict[str, Any]:
    for n in server.muster.app.recorder.select_notifications(start=1, limit=100_000):
        state = json.loads(n.state)
        if n.topic.endswith(".EmployeeCheckedIn") and state["employee_no"] == employee_no:
            return dict(state)
    raise AssertionError(f"{employee_no} not checked in")


def test_an_employee_checks_in_as_themselves_with_the_room_qr(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    reply = phone_check_in(
        server, people["E01"], plant.session_id, room_token(server, plant), PHONE_A
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["employee"]["id"] == "E01" and body["message"] == "签到成功"
    assert body["status"] == "accepted"
    event = checked_in_event(server, "E01")
    assert event["method"] == "qr" and event["evidence"]["phone_id"] == PHONE_A
    assert event["actor"] == "user:e01"


def test_an_employee_from_another_plant_checks_in_with_the_room_qr(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    reply = phone_check_in(
        server, people["E15"], plant.session_id, room_token(server, plant), "phone-e15"
    )
    assert reply.status_code == 201, reply.text


def test_the_typed_code_finds_the_session_and_checks_in(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    code = room_qr(qr_key(server.muster.secret), plant.session_id, datetime.now(UTC)).code
    found = httpx.post(
        f"{server.url}/api/v1/qr-codes/resolve",
        headers={"Authorization": f"Bearer {people['E02']}"},
        json={"code": code},
    )
    assert found.status_code == 200 and found.json()["session_id"] == plant.session_id
    reply = phone_check_in(server, people["E02"], plant.session_id, code, PHONE_B)
    assert reply.status_code == 201 and reply.json()["employee"]["id"] == "E02"
    wrong = httpx.post(
        f"{server.url}/api/v1/qr-codes/resolve",
        headers={"Authorization": f"Bearer {people['E02']}"},
        json={"code": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status_code == 404


def test_an_employee_cannot_check_in_someone_else(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    token = room_token(server, plant)
    other = phone_check_in(
        server, people["E01"], plant.session_id, token, PHONE_A, employee_id="E02"
    )
    assert other.status_code == 403 and other.json()["type"].endswith("/not-yourself")
    badge = phone_check_in(
        server, people["E01"], plant.session_id, token, PHONE_A, badge_uid=plant.badges["E02"]
    )
    assert badge.status_code == 403
    staff = phone_check_in(
        server, login(server, "hr", "hr-password"), plant.session_id, token, PHONE_A
    )
    # staff tokens never reach the check-in: the permissions table refuses them
    assert staff.status_code == 403 and staff.json()["type"].endswith("/forbidden")


@pytest.mark.parametrize("case", ["forged", "expired", "other_session", "missing"])
def test_a_bad_qr_is_refused_with_a_clear_reason(
    server: LiveServer, plant: Plant, people: dict[str, str], case: str
) -> None:
    key = qr_key(server.muster.secret)
    now = datetime.now(UTC)
    tokens = {
        "forged": room_qr(qr_key(b"someone-else"), plant.session_id, now).token,
        "expired": room_qr(key, plant.session_id, now - timedelta(seconds=45)).token,
        "other_session": room_qr(key, plant.later_session_id, now).token,
        "missing": "",
    }
    reply = phone_check_in(server, people["E01"], plant.session_id, tokens[case], PHONE_A)
    if case == "missing":
        assert reply.status_code == 422 and reply.json()["type"].endswith("/qr-required")
        return
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["status"] == "rejected" and body["reason"] == f"qr_{case}"
    assert body["employee"]["id"] == "E01" and body["employee"]["name"]  # the one logged in
    assert body["message"] and body["message"] == body["detail"]


def test_one_phone_checking_in_two_people_is_proxy_suspected(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    token = room_token(server, plant)
    first = phone_check_in(server, people["E01"], plant.session_id, token, PHONE_A)
    assert first.json()["status"] == "accepted"
    second = phone_check_in(server, people["E02"], plant.session_id, token, PHONE_A)
    assert second.status_code == 201
    assert second.json()["status"] == "flagged" and "proxy_suspected" in second.json()["flags"]
    evidence = checked_in_event(server, "E02")["evidence"]
    assert evidence == {"phone_id": PHONE_A, "proxy_other_employee": "E01"}
    assert "proxy_suspected" not in checked_in_event(server, "E01")["flags"]


def test_two_people_on_their_own_phones_are_not_flagged(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    token = room_token(server, plant)
    for no, phone in (("E01", PHONE_A), ("E02", PHONE_B)):
        reply = phone_check_in(server, people[no], plant.session_id, token, phone)
        assert reply.json()["status"] == "accepted" and reply.json()["flags"] == []


def test_a_qr_scanned_offline_is_judged_at_the_time_of_the_scan(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    scanned_at = datetime.now(UTC) - timedelta(minutes=3)
    token = room_qr(qr_key(server.muster.secret), plant.session_id, scanned_at).token
    item = {
        "client_event_id": str(uuid.uuid4()),
        "session_id": plant.session_id,
        "method": "qr",
        "qr_token": token,
        "phone_id": PHONE_A,
        "device_time": scanned_at.isoformat(),
    }
    reply = httpx.post(
        f"{server.url}/api/v1/checkins/batch",
        headers={"Authorization": f"Bearer {people['E01']}"},
        json={"items": [item], "sent_at": datetime.now(UTC).isoformat()},
    )
    assert reply.status_code == 200
    (result,) = reply.json()["results"]
    assert result["employee"]["id"] == "E01", result
    again = httpx.post(
        f"{server.url}/api/v1/checkins/batch",
        headers={"Authorization": f"Bearer {people['E01']}"},
        json={"items": [item], "sent_at": datetime.now(UTC).isoformat()},
    )
    assert again.json()["results"][0]["replayed"] is True


def test_an_employee_may_not_fetch_the_room_qr(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    reply = httpx.get(
        f"{server.url}/api/v1/sessions/{plant.session_id}/qr",
        headers={"Authorization": f"Bearer {people['E01']}"},
    )
    assert reply.status_code == 403


def test_a_phone_adds_a_room_photo(
    server: LiveServer, plant: Plant, people: dict[str, str]
) -> None:
    from tests.e2e.test_photos import jpeg_with_exif

    def upload(token: str, kind: str) -> httpx.Response:
        return httpx.post(
            f"{server.url}/api/v1/photos",
            headers={"Authorization": f"Bearer {token}"},
            data={"session_id": plant.session_id, "kind": kind, "client_event_id": kind},
            files={"file": ("room.jpg", jpeg_with_exif("2026:12:07 09:00:00"), "image/jpeg")},
        )

    reply = upload(people["E15"], "room")
    assert reply.status_code == 201 and reply.json()["message"] == "已存储"
    assert upload(people["E15"], "selfie").status_code == 422
    assert upload(login(server, "hr", "hr-password"), "room").status_code == 403
