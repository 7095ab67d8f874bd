"""JSON clients of /ws/live get an `anomaly` message for each anomaly flagged or resolved in
their scope (the anomaly as `GET /api/v1/anomalies` shows it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import LiveServer, Plant
from tests.e2e.anomaly_support import anomalies, badge_in, settle, staff_token
from tests.e2e.test_live import next_json, ws_url


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the hub reads the same queries on both stores


def skewed_check_in(server: LiveServer, plant: Plant, employee: str) -> str:
    """A tablet whose clock is half an hour behind checks ``employee`` in."""
    skewed = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    return badge_in(
        server, plant.p1_token, plant.session_id, plant.badges[employee], device_time=skewed
    )


def dismiss(server: LiveServer, anomaly_id: str, reason: str) -> None:
    reply = httpx.post(
        f"{server.url}/api/v1/anomalies/{anomaly_id}/resolution",
        headers={"Authorization": f"Bearer {staff_token(server)}"},
        json={"outcome": "dismissed", "reason": reason},
    )
    assert reply.status_code == 200, reply.text


async def next_of_type(socket: Any, kind: str, timeout: float = 10) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        message = await next_json(socket, timeout=max(left, 0.1))
        if message["type"] == kind:
            return message


async def test_json_clients_get_an_anomaly_message_when_one_is_flagged_or_resolved(
    server: LiveServer, plant: Plant
) -> None:
    token = staff_token(server)
    query = f"scope=session:{plant.session_id}&format=json&token={token}"
    async with websockets.connect(ws_url(server, query)) as socket:
        snapshot = await next_json(socket)
        assert snapshot["type"] == "session" and snapshot["session"]["anomalies"] == []  # type: ignore[index]
        checkin = await asyncio.to_thread(skewed_check_in, server, plant, "E02")
        flagged = await next_of_type(socket, "anomaly")
        anomaly = flagged["anomaly"]
        assert (anomaly["kind"], anomaly["checkin_id"]) == ("device_clock_skew", checkin)
        assert anomaly["status"] == "open" and anomaly["employee_id"] == "E02"
        assert flagged["id"] == anomaly["id"] and flagged["version"] >= 1
        await asyncio.to_thread(dismiss, server, anomaly["id"], "clock fixed")
        resolved = await next_of_type(socket, "anomaly")
        assert resolved["id"] == anomaly["id"]
        assert resolved["anomaly"]["status"] == "dismissed"


async def test_an_anomaly_goes_to_its_session_and_plant_not_to_other_sessions_pages(
    server: LiveServer, plant: Plant
) -> None:
    token = staff_token(server)
    here = f"scope=session:{plant.session_id}&format=json&token={token}"
    wall = f"scope=plant:P1&format=json&token={token}"
    elsewhere = f"scope=session:{plant.later_session_id}&format=json&token={token}"
    async with (
        websockets.connect(ws_url(server, here)) as session_page,
        websockets.connect(ws_url(server, wall)) as wallboard,
        websockets.connect(ws_url(server, elsewhere)) as other_page,
    ):
        for socket in (session_page, wallboard, other_page):
            await next_json(socket)  # the snapshot
        checkin = await asyncio.to_thread(skewed_check_in, server, plant, "E03")
        for socket in (session_page, wallboard):
            flagged = await next_of_type(socket, "anomaly")
            assert flagged["anomaly"]["checkin_id"] == checkin
        # the same plant's other session page is not about this session: no anomaly for it
        with pytest.raises(TimeoutError):
            await next_of_type(other_page, "anomaly", timeout=1.5)


async def test_a_new_json_client_is_sent_only_anomalies_flagged_after_it_connected(
    server: LiveServer, plant: Plant
) -> None:
    """Anomalies flagged while no JSON client listened are history: the first client to
    connect later sees them in its snapshot, and is sent only what is new to it."""
    token = staff_token(server)
    before = await asyncio.to_thread(skewed_check_in, server, plant, "E04")
    await asyncio.to_thread(settle, server.muster)
    assert [a["checkin_id"] for a in anomalies(server, token)] == [before]
    query = f"scope=session:{plant.session_id}&format=json&token={token}"
    async with websockets.connect(ws_url(server, query)) as socket:
        snapshot = await next_json(socket)
        assert [a["checkin_id"] for a in snapshot["session"]["anomalies"]] == [before]  # type: ignore[index]
        checkin = await asyncio.to_thread(skewed_check_in, server, plant, "E05")
        flagged = await next_of_type(socket, "anomaly")
        assert flagged["anomaly"]["checkin_id"] == checkin
        with pytest.raises(TimeoutError):
            await next_of_type(socket, "anomaly", timeout=1.5)
