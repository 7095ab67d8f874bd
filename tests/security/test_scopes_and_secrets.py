"""Issue 24 (3, 4): no secrets in the audit log, auditors and department heads kept inside
their subtree, tokens that stop working, and the `dept:` live scope."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from app.bootstrap import Muster
from tests.conftest import LiveServer, Plant
from tests.support.forms import page_form_token


def token_of(server: LiveServer, login: str, password: str) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def client(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def all_events(server: LiveServer, token: str) -> list[dict[str, object]]:
    server.muster.runner.wait_until_caught_up(30)
    events: list[dict[str, object]] = []
    with client(server, token) as api:
        after = 0
        while True:
            reply = api.get("/api/v1/events", params={"after": after, "limit": 1000})
            assert reply.status_code == 200, reply.text
            page = reply.json()
            if not page["events"]:
                return events
            events += page["events"]
            after = page["next_after"]


def stored_secrets(muster: Muster) -> list[str]:
    users = muster.store.fetch("SELECT password_hash FROM user_credentials")
    devices = muster.store.fetch("SELECT token_hash FROM device_credentials")
    return [r["password_hash"] for r in users] + [r["token_hash"] for r in devices]


def test_the_event_log_shows_no_password_or_token_hash(server: LiveServer, plant: Plant) -> None:
    events = all_events(server, token_of(server, "auditor", "auditor-password"))
    text = json.dumps(events)
    assert {"UserAdded", "DeviceRegistered"} <= {e["topic"].rsplit(".", 1)[-1] for e in events}  # type: ignore[union-attr]
    secrets = stored_secrets(server.muster)
    assert secrets and not [s for s in secrets if s in text]
    assert "password_hash" not in text and "token_hash" not in text


def test_an_auditor_of_one_plant_reads_only_that_plants_events(
    server: LiveServer, plant: Plant
) -> None:
    server.muster.app.add_user("aud-p1", "auditor", "P1", "test", password="aud-p1-password")
    assert server.muster.runner.wait_until_caught_up(30)  # the login reads the users table
    p1 = all_events(server, token_of(server, "aud-p1", "aud-p1-password"))
    everything = all_events(server, token_of(server, "auditor", "auditor-password"))
    p2_session = plant.other_plant_session_id
    assert any(e["originator_id"] == p2_session for e in everything)
    assert not any(p2_session in json.dumps(e) for e in p1)
    assert not any("P2" in json.dumps(e.get("state")) for e in p1)
    assert any(e["originator_id"] == plant.session_id for e in p1)


def test_a_department_head_reads_only_their_departments_attendance(
    server: LiveServer, plant: Plant
) -> None:
    server.muster.app.add_user("head-w1", "dept_head", "W1", "test", password="head-w1-pw")
    server.muster.runner.wait_until_caught_up(30)
    with client(server, token_of(server, "head-w1", "head-w1-pw")) as api:
        reply = api.get(f"/api/v1/sessions/{plant.session_id}/attendance")
    assert reply.status_code == 200, reply.text
    people = {r["employee_no"] for r in reply.json()["roster"]}
    assert people == {f"E{n:02d}" for n in range(1, 9)}  # W1's team; not W2 nor P2's E15


def test_a_token_stops_working_after_logout(server: LiveServer, plant: Plant) -> None:
    login = httpx.post(
        f"{server.url}/login",
        data={"login": "sz1", "password": "sz1-password"},
        headers={"Origin": server.url},
    )
    assert login.status_code in (302, 303), login.text
    cookie = login.cookies["muster_session"]
    bearer = token_of(server, "sz1", "sz1-password")
    with client(server, bearer) as api:
        assert api.get("/api/v1/sessions").status_code == 200
        pages = httpx.Client(base_url=server.url, cookies={"muster_session": cookie})
        pages.post(
            "/logout",
            headers={"Origin": server.url},
            data={"_csrf_token": page_form_token(server.url, cookie)},
        )
        assert api.get("/api/v1/sessions").status_code == 401
    again = httpx.get(f"{server.url}/api/v1/sessions", cookies={"muster_session": cookie})
    assert again.status_code == 401


def test_re_adding_a_login_ends_its_old_tokens(server: LiveServer, plant: Plant) -> None:
    old = token_of(server, "hr", "hr-password")
    server.muster.app.add_user("hr", "hr", "W1", "test", password="new-hr-password")
    server.muster.runner.wait_until_caught_up(30)
    with client(server, old) as api:
        assert api.get("/api/v1/sessions").status_code == 401
    with client(server, token_of(server, "hr", "new-hr-password")) as api:
        roster = api.get(f"/api/v1/sessions/{plant.session_id}/attendance").json()["roster"]
    assert {r["employee_no"] for r in roster} == {f"E{n:02d}" for n in range(1, 9)}


def ws_url(server: LiveServer, query: str) -> str:
    return server.url.replace("http://", "ws://") + "/ws/live?" + query


async def test_a_department_head_follows_their_own_department_live(
    server: LiveServer, plant: Plant
) -> None:
    server.muster.app.add_user("head-w1", "dept_head", "W1", "test", password="head-w1-pw")
    server.muster.runner.wait_until_caught_up(30)
    token = await asyncio.to_thread(token_of, server, "head-w1", "head-w1-pw")
    url = ws_url(server, f"scope=dept:W1&format=json&token={token}")
    async with websockets.connect(url) as socket:
        first = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert (first["type"], first["kind"]) == ("attendance", "dept")
    assert {d["dept"] for d in first["board"]["departments"]} <= {"W1"}
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(server, f"scope=dept:W2&token={token}")):
            pass
    assert refused.value.response.status_code == 403
