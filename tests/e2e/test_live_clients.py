"""Websocket clients at plant scale: a client reconnecting with `?since=` gets the alerts it
missed, and a client that cannot keep up is dropped without holding up the others."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets

from app.bootstrap import Muster
from app.web.hub import QUEUE, Client, LiveHub
from tests.conftest import LiveServer, Plant


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_a_client_reconnecting_with_since_gets_the_alerts_it_missed(
    server: LiveServer, plant: Plant
) -> None:
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "sz1", "password": "sz1-password"}
    ).json()["token"]
    base = server.url.replace("http", "ws") + f"/ws/live?scope=inbox&format=json&token={token}"
    starts = datetime.now(UTC) - timedelta(minutes=10)  # nobody checked in: no_checkins for sz1
    server.muster.app.schedule_session(
        "S-QUIET",
        "SAFE",
        "P1",
        "培训室D",
        "陈老师",
        starts,
        starts + timedelta(hours=1),
        ["E01"],
        "t",
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listed = httpx.get(
            f"{server.url}/api/v1/alerts?rule=no_checkins",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["alerts"]
        if any("sz1" in a["recipients"] for a in listed):
            break
        time.sleep(0.1)

    async def replayed(since: int) -> list[dict[str, Any]]:
        got = []
        async with websockets.connect(f"{base}&since={since}") as socket:
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(socket.recv(), 1.5)))
            except TimeoutError:
                return got

    missed = asyncio.run(replayed(0))
    mine = [n for n in missed if n["alert"]["rule"] == "no_checkins"]
    assert mine and mine[0]["type"] == "alert" and mine[0]["notice"] == "raised"
    latest = max(n["version"] for n in missed)
    assert asyncio.run(replayed(latest)) == []


def test_a_client_reconnecting_with_since_gets_each_missed_alert_once(
    server: LiveServer, plant: Plant
) -> None:
    """Two alerts raised while away come back as two messages, one per alert (not the first
    one twice)."""
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "sz1", "password": "sz1-password"}
    ).json()["token"]
    base = server.url.replace("http", "ws") + f"/ws/live?scope=inbox&format=json&token={token}"
    starts = datetime.now(UTC) - timedelta(minutes=10)  # nobody checked in: no_checkins
    for code, room in (("S-QUIET-1", "培训室D"), ("S-QUIET-2", "培训室E")):
        server.muster.app.schedule_session(
            code, "SAFE", "P1", room, "陈老师", starts, starts + timedelta(hours=1), ["E01"], "t"
        )
    listed: list[dict[str, Any]] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(listed) < 2:
        listed = [
            a
            for a in httpx.get(
                f"{server.url}/api/v1/alerts?rule=no_checkins",
                headers={"Authorization": f"Bearer {token}"},
            ).json()["alerts"]
            if "sz1" in a["recipients"]
        ]
        time.sleep(0.1)
    assert len(listed) >= 2

    async def replayed() -> list[dict[str, Any]]:
        got = []
        async with websockets.connect(f"{base}&since=0") as socket:
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(socket.recv(), 1.5)))
            except TimeoutError:
                return got

    missed = [n for n in asyncio.run(replayed()) if n["alert"]["rule"] == "no_checkins"]
    assert {a["id"] for a in listed} <= {n["id"] for n in missed}
    assert len({n["version"] for n in missed}) == len(missed)  # each notice once


class Screen:
    """A websocket seen from the hub: `stuck` never finishes a send (a frozen tablet)."""

    def __init__(self, stuck: bool = False) -> None:
        self.stuck = stuck
        self.sent: list[str] = []
        self.closed: int | None = None

    async def send_text(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code


def note(version: int) -> dict[str, Any]:
    alert = {"recipients": ["sz1"], "plant": "P1", "subject": {"session_id": "S"}, "rule": "x"}
    return {
        "type": "alert",
        "id": str(version),
        "version": version,
        "notice": "raised",
        "alert": alert,
    }


def test_a_client_that_cannot_keep_up_is_dropped_and_the_others_get_everything(
    muster: Muster,
) -> None:
    async def scenario() -> tuple[LiveHub, list[Client]]:
        hub = LiveHub(muster)
        clients = [
            Client(Screen(stuck=(n == 0)), "plant:P1", "json", "zh-CN", frozenset(), login="sz1")  # type: ignore[arg-type]
            for n in range(3)
        ]
        hub.clients["plant:P1"].update(clients)  # as `serve` registers them
        writers = [asyncio.create_task(hub._write(c)) for c in clients]
        for version in range(1, 4 * QUEUE):
            hub.push_alert(note(version))
            await asyncio.sleep(0.002)  # pushes come at most once per tick
        await asyncio.sleep(0.05)
        for writer in writers:
            writer.cancel()
        return hub, clients

    hub, (slow, *fast) = asyncio.run(scenario())
    assert slow.dropped and slow.socket.closed == 1013  # type: ignore[attr-defined]
    assert hub.dropped == 1
    for client in fast:
        versions = [json.loads(t)["version"] for t in client.socket.sent]  # type: ignore[attr-defined]
        assert versions == list(range(1, 4 * QUEUE))


def test_a_notice_delivered_twice_shows_once_and_a_resumed_bus_pushes_every_page_again(
    muster: Muster, plant: Plant
) -> None:
    async def scenario() -> list[dict[str, Any]]:
        hub = LiveHub(muster, tick_s=0.01)
        await hub.start()
        screen = Screen()
        client = Client(screen, "plant:P1", "json", "zh-CN", frozenset(), login="sz1")  # type: ignore[arg-type]
        hub.clients["plant:P1"].add(client)  # as `serve` registers it
        writer = asyncio.create_task(hub._write(client))
        try:
            hub.push_alert(note(7))
            hub.push_alert(note(7))  # again, as a stream delivers it after an outage
            await asyncio.sleep(0.2)
            assert not [t for t in screen.sent if '"kind": "plant"' in t]
            muster.bus.resumed()  # NATS is back: what changed meanwhile may be unknown
            deadline = time.monotonic() + 5
            while not [t for t in screen.sent if '"kind": "plant"' in t]:
                assert time.monotonic() < deadline, "no fresh board after the bus resumed"
                await asyncio.sleep(0.02)
        finally:
            writer.cancel()
            await hub.stop()
        return [json.loads(t) for t in screen.sent]

    sent = asyncio.run(scenario())
    assert [m["version"] for m in sent if m["type"] == "alert"] == [7]
    board = next(m for m in sent if m.get("kind") == "plant")
    assert board["id"] == "P1" and board["board"]["sessions"]


def test_a_notice_resent_after_the_duplicate_window_is_not_shown_again_after_a_reconnect(
    muster: Muster,
) -> None:
    """A worker restarted more than 120 s after it published notice 7 publishes it again;
    JetStream no longer knows it. The page saw 7 and has since reconnected (`?since=7`) to
    a web process started in between, which never received the first copy."""

    async def scenario() -> list[int]:
        hub = LiveHub(muster)
        screen = Screen()
        page = Client(screen, "plant:P1", "json", "zh-CN", frozenset(), login="sz1", since=7)  # type: ignore[arg-type]
        hub.clients["plant:P1"].add(page)  # as `serve` registers it, then replays
        writer = asyncio.create_task(hub._write(page))
        try:
            await hub._replay(page)  # nothing after 7 is kept yet
            hub.push_alert(note(7))  # the resend
            hub.push_alert(note(8))
            hub.push_alert(note(8))  # and a repeat inside this process
            await asyncio.sleep(0.05)
        finally:
            writer.cancel()
        return [json.loads(t)["version"] for t in screen.sent]

    assert asyncio.run(scenario()) == [8]


def test_the_board_socket_is_for_staff_inside_their_subtree(
    server: LiveServer, plant: Plant
) -> None:
    app = server.muster.app
    app.add_user("e04", "employee", "W1-T1", "t", password="e04-password", employee_no="E04")
    app.add_user("w1head", "dept_head", "W1", "t", password="head-password")
    server.muster.runner.wait_until_caught_up(30)

    def token(login: str, password: str) -> str:
        reply = httpx.post(
            f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
        )
        return str(reply.json()["token"])

    async def first(login: str, password: str, scope: str) -> dict[str, Any] | int:
        """The first message on `scope`, or the HTTP status that refused the socket."""
        url = server.url.replace("http", "ws") + f"/ws/live?scope={scope}&format=json"
        try:
            async with websockets.connect(f"{url}&token={token(login, password)}") as socket:
                return json.loads(await asyncio.wait_for(socket.recv(), 10))  # type: ignore[no-any-return]
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    board = asyncio.run(first("hr", "hr-password", "board:G"))
    assert isinstance(board, dict) and (board["type"], board["kind"]) == ("attendance", "board")
    assert {s["plant"] for s in board["board"]["sessions"]} == {"P1", "P2"}
    mine = asyncio.run(first("w1head", "head-password", "board:W1"))
    assert isinstance(mine, dict) and mine["board"]["narrowed"]
    assert asyncio.run(first("w1head", "head-password", "board:P1")) == 403  # above them
    assert asyncio.run(first("e04", "e04-password", "board:W1-T1")) == 403  # not staff


def test_a_client_reconnecting_after_more_alerts_than_a_queue_holds_gets_them_all(
    muster: Muster,
) -> None:
    """Three queues' worth of notices missed: the replay sends every one, in order, and the
    client is not dropped as too slow for what it asked for (it could never catch up)."""
    missed = 3 * QUEUE

    async def scenario() -> tuple[Client, Screen]:
        hub = LiveHub(muster)
        for version in range(1, missed + 1):
            hub._recent[version] = note(version)
        screen = Screen()
        client = Client(screen, "inbox", "json", "zh-CN", frozenset(), login="sz1", since=0)  # type: ignore[arg-type]
        hub.clients["inbox"].add(client)
        writer = asyncio.create_task(hub._write(client))
        await hub._replay(client)
        for _ in range(200):
            if len(screen.sent) == missed:
                break
            await asyncio.sleep(0.01)
        hub._offer(client, "a live push after the replay")
        await asyncio.sleep(0.05)
        writer.cancel()
        return client, screen

    client, screen = asyncio.run(scenario())
    assert not client.dropped and screen.closed is None
    versions = [json.loads(t)["version"] for t in screen.sent[:missed]]
    assert versions == list(range(1, missed + 1))
    assert screen.sent[missed:] == ["a live push after the replay"]
