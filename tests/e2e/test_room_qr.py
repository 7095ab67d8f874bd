"""The room QR over HTTP: who may get it, what it says, and the room screen page."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from app.domain.qr import check_qr, qr_key
from tests.conftest import LiveServer, Plant


def staff_token(server: LiveServer, login: str, password: str) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def qr(server: LiveServer, session_id: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{server.url}/api/v1/sessions/{session_id}/qr", headers=headers)


def test_the_rooms_own_tablet_gets_a_token_that_admits_check_in_until_it_expires(
    server: LiveServer, plant: Plant
) -> None:
    reply = qr(server, plant.session_id, plant.p1_token)
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) >= {"qr_token", "expires_at"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert 15 <= (expires - datetime.now(UTC)).total_seconds() <= 31
    key = qr_key(server.muster.secret)
    assert check_qr(key, body["qr_token"], plant.session_id, datetime.now(UTC)) is None
    assert check_qr(key, body["qr_token"], plant.session_id, expires) is not None
    assert reply.headers["cache-control"] == "no-store"


def test_staff_of_the_plant_get_it_and_others_do_not(server: LiveServer, plant: Plant) -> None:
    assert qr(server, plant.session_id, staff_token(server, "hr", "hr-password")).status_code == 200
    sz1 = staff_token(server, "sz1", "sz1-password")
    assert qr(server, plant.session_id, sz1).status_code == 200
    assert qr(server, plant.other_plant_session_id, sz1).status_code == 403
    assert qr(server, plant.session_id, None).status_code == 401


def test_a_tablet_of_another_room_is_refused(server: LiveServer, plant: Plant) -> None:
    # tablet-p1 stands in 培训室A; the later session is in 培训室B of the same plant
    reply = qr(server, plant.later_session_id, plant.p1_token)
    assert reply.status_code == 403
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert reply.json()["type"].endswith("/device-other-room")
    assert qr(server, plant.session_id, plant.p2_token).status_code == 403
    assert qr(server, plant.session_id, "mdt_forged").status_code == 401


def test_an_unknown_session_is_a_clear_problem(server: LiveServer, plant: Plant) -> None:
    reply = qr(server, "no-such-session", plant.p1_token)
    assert reply.status_code == 404
    assert reply.json()["type"].endswith("/unknown-session")


def test_the_room_screen_shows_the_qr_and_the_code(server: LiveServer, plant: Plant) -> None:
    cookies = {"muster_session": staff_token(server, "hr", "hr-password")}
    page = httpx.get(f"{server.url}/sessions/{plant.session_id}/qr", cookies=cookies)
    assert page.status_code == 200
    assert "<svg" in page.text and "hx-trigger" in page.text
    fragment = httpx.get(f"{server.url}/sessions/{plant.session_id}/qr?fragment=1", cookies=cookies)
    assert "<html" not in fragment.text and "<svg" in fragment.text
    anonymous = httpx.get(f"{server.url}/sessions/{plant.session_id}/qr")
    assert anonymous.status_code in (302, 303)
