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
