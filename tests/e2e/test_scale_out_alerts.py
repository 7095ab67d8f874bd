"""Alerts in the scale-out shape (PostgreSQL, NATS JetStream, one `muster worker`, two `muster
serve`): an alert the worker raises reaches an inbox websocket on either web process; with
NATS stopped, check-ins still succeed (the event store is the truth) and alerts are still
raised; when it is back, live pages catch up at once and the alerts raised meanwhile reach
both processes, nothing lost.

The test runs a NATS server of its own: stopping it disturbs no other test, and no stream or
consumer left by an earlier test is in it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app.bootstrap import Muster
from tests.conftest import Plant
from tests.e2e import test_scale_out
from tests.services import NatsServer

# the scale-out fixtures: PostgreSQL only, a worker and two web processes
backend, cluster = test_scale_out.backend, test_scale_out.cluster


@pytest.fixture
def cluster_env(tmp_path: Path, pg_schema: str, own_nats: NatsServer) -> dict[str, str]:
    return test_scale_out.scale_out_env(tmp_path, pg_schema, own_nats.url)


def session_with_alert(admin: Muster, code: str) -> str:
    """A session in P1 that started 10 minutes ago with nobody checked in: the worker raises
    `no_checkins` (to P1's HR) as soon as it projects it."""
    starts = datetime.now(UTC) - timedelta(minutes=10)
    roster = [f"E{n:02d}" for n in range(1, 9)]
    sid = admin.app.schedule_session(
        code, "SAFE", "P1", "培训室D", "陈老师", starts, starts + timedelta(hours=1), roster, "t"
    )
    return str(sid)


async def next_alert(socket: Any, session_id: str, rule: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        note = json.loads(await asyncio.wait_for(socket.recv(), max(left, 0.01)))
        alert = note.get("alert") or {}
        if alert.get("subject", {}).get("session_id") == session_id and alert["rule"] == rule:
            return note  # type: ignore[no-any-return]


async def checked_in_push(socket: Any, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        message = json.loads(await asyncio.wait_for(socket.recv(), max(left, 0.01)))
        if message.get("type") == "session" and message["session"]["checked_in"] >= at_least:
            return int(message["session"]["checked_in"])


def listed_alert(url: str, token: str, session_id: str, timeout: float) -> None:
    """Wait until `GET /api/v1/alerts` lists a no_checkins alert about `session_id`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = httpx.get(
            f"{url}/api/v1/alerts?rule=no_checkins", headers={"Authorization": f"Bearer {token}"}
        ).json()["alerts"]
        if any(a["subject"]["session_id"] == session_id for a in listed):
            return
        time.sleep(0.1)
    raise AssertionError(f"no alert about {session_id} within {timeout} s")


def test_worker_alerts_reach_both_web_processes_and_survive_nats_going_away(
    cluster: tuple[Muster, Plant, list[str]], own_nats: NatsServer
) -> None:
    admin, plant, urls = cluster
    token = httpx.post(
        f"{urls[0]}/api/v1/auth/token", json={"login": "sz1", "password": "sz1-password"}
    ).json()["token"]

    def ws(url: str, scope: str) -> str:
        return url.replace("http", "ws") + f"/ws/live?scope={scope}&format=json&token={token}"

    async def scenario() -> None:
        inboxes = [await websockets.connect(ws(url, "inbox")) for url in urls]
        board = await websockets.connect(ws(urls[1], f"session:{plant.session_id}"))
        try:
            await asyncio.sleep(0.5)  # the hubs subscribed before the first alert
            first = session_with_alert(admin, "S-ALERT-1")
            for inbox in inboxes:
                note = await next_alert(inbox, first, "no_checkins", 15)
                assert "sz1" in note["alert"]["recipients"]
            snapshot = json.loads(await asyncio.wait_for(board.recv(), 10))
            before = int(snapshot["session"]["checked_in"])

            own_nats.stop()
            async with httpx.AsyncClient(timeout=10) as client:
                reply = await client.post(
                    f"{urls[0]}/api/v1/checkins",
                    headers={"Authorization": f"Bearer {plant.p1_token}"},
                    json={
                        "client_event_id": str(uuid.uuid4()),
                        "session_id": plant.session_id,
                        "method": "badge",
                        "badge_uid": plant.badges["E03"],
                    },
                )
            assert reply.status_code == 201, reply.text  # NATS down: the check-in stands
            during = session_with_alert(admin, "S-ALERT-2")  # raised while NATS is down
            await asyncio.to_thread(listed_alert, urls[1], token, during, 20)
            own_nats.start()

            # the wallboard on the other process catches up as soon as NATS is back (sooner
            # than its periodic refresh), and the alert raised meanwhile reaches both
            assert await checked_in_push(board, before + 1, 12) == before + 1
            for inbox in inboxes:
                await next_alert(inbox, during, "no_checkins", 12)
            after = session_with_alert(admin, "S-ALERT-3")
            for inbox in inboxes:
                await next_alert(inbox, after, "no_checkins", 15)
        finally:
            for socket in [*inboxes, board]:
                await socket.close()

    asyncio.run(scenario())
    listed = httpx.get(
        f"{urls[1]}/api/v1/alerts?rule=no_checkins", headers={"Authorization": f"Bearer {token}"}
    ).json()["alerts"]
    assert {a["facts"]["session"] for a in listed} >= {"安全生产基础"}
    assert len({a["subject"]["session_id"] for a in listed}) >= 3
