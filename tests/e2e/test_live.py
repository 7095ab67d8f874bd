"""The live websocket: a check-in pushes an update to a subscribed wallboard."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets

from tests.conftest import LiveServer, Plant
from tests.support.checkins import badge


def user_token(server: LiveServer, login: str, password: str) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
    )
    return str(reply.json()["token"])


def ws_url(server: LiveServer, query: str) -> str:
    return server.url.replace("http://", "ws://") + "/ws/live?" + query


async def badge_check_in(
    server: LiveServer, plant: Plant, employee: str, client_event_id: str | None = None
) -> None:
    """A plant-1 tablet checks ``employee`` in by badge to the plant's session (201)."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        reply = await client.post(
            "/api/v1/checkins",
            headers={"Authorization": f"Bearer {plant.p1_token}"},
            json=badge(plant, employee, client_event_id),
        )
    assert reply.status_code == 201


async def next_json(socket: websockets.ClientConnection, timeout: float = 5) -> dict[str, object]:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))  # type: ignore[no-any-return]


async def test_a_check_in_pushes_the_session_update(server: LiveServer, plant: Plant) -> None:
    token = user_token(server, "hr", "hr-password")
    url = ws_url(server, f"scope=session:{plant.session_id}&format=json&token={token}")
    async with websockets.connect(url) as socket:
        snapshot = await next_json(socket)
        assert snapshot["type"] == "session" and snapshot["session"]["checked_in"] == 0  # type: ignore[index]
        started = time.monotonic()
        await badge_check_in(server, plant, "E01")
        pushed = await next_json(socket)
        elapsed = time.monotonic() - started
    session = pushed["session"]
    assert session["checked_in"] == 1  # type: ignore[index]
    assert pushed["version"] > snapshot["version"]  # type: ignore[operator]
    present = [r for r in session["roster"] if r["status"] == "present"]  # type: ignore[index]
    assert [r["employee_no"] for r in present] == ["E01"]
    assert elapsed < 1.0  # the wallboard promise: within a second


async def test_plant_wallboard_gets_html_fragments_to_swap(
    server: LiveServer, plant: Plant
) -> None:
    token = user_token(server, "hr", "hr-password")
    async with websockets.connect(ws_url(server, f"scope=plant:P1&token={token}")) as socket:
        first = await asyncio.wait_for(socket.recv(), 5)
        assert 'id="board-sessions" class="sessions" hx-swap-oob="true"' in first
        async with httpx.AsyncClient(base_url=server.url) as client:
            await client.post(
                "/api/v1/checkins/batch",
                headers={"Authorization": f"Bearer {plant.p1_token}"},
                json={
                    "items": [
                        {
                            "client_event_id": str(uuid.uuid4()),
                            "session_id": plant.session_id,
                            "method": "badge",
                            "badge_uid": plant.badges[no],
                        }
                        for no in ("E01", "E02")
                    ]
                },
            )
        pushed = await asyncio.wait_for(socket.recv(), 5)
    assert 'data-checked-in="2"' in pushed
    assert "员工E01" in pushed and "员工E02" in pushed


async def assert_refused(url: str, origin: str | None = None) -> None:
    """Refused during the handshake: the socket never opens, so nothing can leak."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, origin=websockets.Origin(origin) if origin else None):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("scope", ["plant:P2", "session:nope", "plant:", "galaxy:1"])
async def test_scopes_outside_the_callers_rights_are_refused(
    server: LiveServer, plant: Plant, scope: str
) -> None:
    token = user_token(server, "sz1", "sz1-password")
    await assert_refused(ws_url(server, f"scope={scope}&token={token}"))


async def test_anonymous_and_foreign_origin_sockets_are_refused(
    server: LiveServer, plant: Plant
) -> None:
    await assert_refused(ws_url(server, "scope=plant:P1"))
    token = user_token(server, "hr", "hr-password")
    await assert_refused(
        ws_url(server, f"scope=plant:P1&token={token}"), origin="http://evil.example"
    )
    async with websockets.connect(
        ws_url(server, f"scope=plant:P1&token={token}"), origin=websockets.Origin(server.url)
    ) as same_origin:
        assert "board-sessions" in await asyncio.wait_for(same_origin.recv(), 5)


async def test_a_reconnecting_client_gets_what_it_missed(server: LiveServer, plant: Plant) -> None:
    token = user_token(server, "hr", "hr-password")
    url = ws_url(server, f"scope=session:{plant.session_id}&format=json&token={token}")
    async with websockets.connect(url) as socket:
        seen = await next_json(socket)
    await badge_check_in(server, plant, "E05", "missed-1")  # while disconnected
    assert server.muster.runner.wait_until_caught_up(10)
    async with websockets.connect(url + f"&since={seen['version']}") as socket:
        caught_up = await next_json(socket)
    assert caught_up["session"]["checked_in"] == 1  # type: ignore[index]
    assert caught_up["version"] > seen["version"]  # type: ignore[operator]


async def test_a_script_with_a_bearer_header_gets_json_messages(
    server: LiveServer, plant: Plant
) -> None:
    """CONTRACT.md's client: `Authorization: Bearer` on the handshake, no other parameter.
    It is not an htmx page, so it gets the JSON messages (`type`, `id`, `version`); an
    explicit `format=html` still gets fragments."""
    token = user_token(server, "hr", "hr-password")
    header = {"Authorization": f"Bearer {token}"}
    url = ws_url(server, f"scope=session:{plant.session_id}")
    async with websockets.connect(url, additional_headers=header) as socket:
        snapshot = await next_json(socket)
        assert snapshot["type"] == "session" and snapshot["id"] == plant.session_id
        await badge_check_in(server, plant, "E03")
        pushed = await next_json(socket)
    assert pushed["type"] == "session" and pushed["version"] > snapshot["version"]  # type: ignore[operator]
    async with websockets.connect(url + "&format=html", additional_headers=header) as socket:
        assert 'id="session-body"' in await asyncio.wait_for(socket.recv(), 5)


async def next_of(socket: websockets.ClientConnection, kind: str) -> dict[str, object]:
    """The next message of the view ``kind`` (a plant's alert notice may come between)."""
    while True:
        message = await next_json(socket)
        if message.get("kind") == kind:
            return message


async def test_json_messages_carry_the_contracts_types_on_every_scope(
    server: LiveServer, plant: Plant
) -> None:
    """CONTRACT.md: `type` is attendance, anomaly, alert or session, with `id` and `version`.
    A check-in changes the wallboards' counts (`attendance`) and the session's state
    (`session`); which view a message carries stays in `kind`."""
    token = user_token(server, "hr", "hr-password")
    header = {"Authorization": f"Bearer {token}"}
    scopes = {"plant": "P1", "dept": "W1", "session": plant.session_id}
    sockets = {
        kind: await websockets.connect(
            ws_url(server, f"scope={kind}:{key}"), additional_headers=header
        )
        for kind, key in scopes.items()
    }
    try:
        snapshots = {kind: await next_of(socket, kind) for kind, socket in sockets.items()}
        await badge_check_in(server, plant, "E04")
        pushed = {kind: await next_of(socket, kind) for kind, socket in sockets.items()}
    finally:
        for socket in sockets.values():
            await socket.close()
    expected = {"plant": "attendance", "dept": "attendance", "session": "session"}
    for kind, message in pushed.items():
        assert message["type"] == expected[kind] == snapshots[kind]["type"]
        assert message["id"] == scopes[kind]
        assert message["version"] > snapshots[kind]["version"]  # type: ignore[operator]
    assert pushed["session"]["session"]["checked_in"] == 1  # type: ignore[index]
    assert "员工E04" in json.dumps(pushed["plant"]["board"], ensure_ascii=False)
