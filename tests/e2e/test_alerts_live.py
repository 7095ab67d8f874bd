"""Alerts end to end on a running server with the real clock: the late mark passes, the
department head's inbox (`GET /api/v1/alerts`) has the alert within 2 s, a webhook gets it
within 3 s, an open inbox websocket gets it at once, and acknowledging it shows who took it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import httpx
import pytest
import websockets

from app.bootstrap import Muster
from tests.conftest import LiveServer, Plant, free_port

LATE_IN_S = 3.0


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def hook() -> Iterator[tuple[str, list[tuple[float, dict[str, Any]]]]]:
    """A JSON webhook receiver recording when each POST arrived."""
    got: list[tuple[float, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append((time.monotonic(), json.loads(body)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/hook", got
    server.shutdown()
    server.server_close()


def token(url: str, login: str, password: str) -> str:
    reply = httpx.post(f"{url}/api/v1/auth/token", json={"login": login, "password": password})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def schedule_late_soon(muster: Muster) -> tuple[str, float]:
    """A session in P1 for 冲压车间 whose late mark passes LATE_IN_S from now; returns its
    id and the monotonic time of the late mark."""
    now = datetime.now(UTC)
    late = muster.policy.late_after
    starts = now - late + timedelta(seconds=LATE_IN_S)
    roster = [f"E{n:02d}" for n in range(1, 9)]
    sid = muster.app.schedule_session(
        "S-SOON",
        "SAFE",
        "P1",
        "培训室C",
        "陈老师",
        starts,
        starts + timedelta(hours=1),
        roster,
        "t",
    )
    return str(sid), time.monotonic() + LATE_IN_S


def test_the_heads_inbox_and_the_webhook_get_a_dept_alert_within_seconds_of_the_late_mark(
    server: LiveServer, plant: Plant, hook: tuple[str, list[tuple[float, dict[str, Any]]]]
) -> None:
    muster = server.muster
    url, posts = hook
    muster.app.add_user("w1head", "dept_head", "W1", "t", password="head-password")
    muster.app.add_webhook(url, "json", "P1", ["dept_rate_low"], "t")
    assert muster.runner.wait_until_caught_up(10)  # logins are read from the users view
    head = token(server.url, "w1head", "head-password")
    sid, late_mark = schedule_late_soon(muster)

    async def watch_inbox() -> tuple[float, dict[str, Any]]:
        ws = server.url.replace("http", "ws") + f"/ws/live?scope=inbox&format=json&token={head}"
        async with websockets.connect(ws) as socket:
            while True:
                note = json.loads(await asyncio.wait_for(socket.recv(), 15))
                if note["alert"]["subject"].get("session_id") == sid:
                    return time.monotonic(), note

    async def poll_api() -> tuple[float, list[dict[str, Any]]]:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {head}"}) as client:
            while True:
                reply = await client.get(f"{server.url}/api/v1/alerts?rule=dept_rate_low")
                assert reply.status_code == 200, reply.text
                mine = [a for a in reply.json()["alerts"] if a["subject"]["session_id"] == sid]
                if mine:
                    return time.monotonic(), mine
                await asyncio.sleep(0.05)

    async def both() -> tuple[tuple[float, dict[str, Any]], tuple[float, list[dict[str, Any]]]]:
        return await asyncio.gather(watch_inbox(), poll_api())

    (toast_at, note), (inbox_at, listed) = asyncio.run(both())
    assert inbox_at - late_mark <= 2.0
    assert toast_at - late_mark <= 2.0
    (alert,) = listed
    assert alert["status"] == "open" and alert["subject"]["org_code"] == "W1"
    assert "w1head" in alert["recipients"]
    assert "员工E08" in alert["detail"]
    assert note["type"] == "alert" and note["id"] == alert["id"]
    deadline = time.monotonic() + 5
    while not posts and time.monotonic() < deadline:
        time.sleep(0.02)
    (hook_at, body), *_ = posts
    assert hook_at - late_mark <= 3.0
    assert body["alert"]["id"] == alert["id"]

    ack = httpx.post(
        f"{server.url}/api/v1/alerts/{alert['id']}/acknowledge",
        headers={"Authorization": f"Bearer {head}"},
        json={"note": "calling the line"},
    )
    assert ack.status_code == 200, ack.text
    again = httpx.post(
        f"{server.url}/api/v1/alerts/{alert['id']}/acknowledge",
        headers={"Authorization": f"Bearer {head}"},
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    listed_now = httpx.get(
        f"{server.url}/api/v1/alerts?status=acknowledged",
        headers={"Authorization": f"Bearer {head}"},
    ).json()["alerts"]
    assert [(a["id"], a["acknowledged_by"]) for a in listed_now] == [(alert["id"], "w1head")]


def test_alerts_are_scoped_to_the_caller_and_bad_filters_are_problems(
    server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    muster.app.add_user("w2head", "dept_head", "W2", "t", password="head-password")
    muster.runner.wait_until_caught_up()  # the sessions started 5 min ago: alerts follow
    deadline = time.monotonic() + 15
    hr = token(server.url, "hr", "hr-password")
    while time.monotonic() < deadline:
        everything = httpx.get(
            f"{server.url}/api/v1/alerts", headers={"Authorization": f"Bearer {hr}"}
        ).json()["alerts"]
        if {a["plant"] for a in everything} == {"P1", "P2"}:
            break
        time.sleep(0.2)
    assert {a["rule"] for a in everything} >= {"no_checkins", "device_silent"}
    sz1 = token(server.url, "sz1", "sz1-password")
    p1_only = httpx.get(
        f"{server.url}/api/v1/alerts", headers={"Authorization": f"Bearer {sz1}"}
    ).json()["alerts"]
    assert p1_only and {a["plant"] for a in p1_only} == {"P1"}
    w2 = token(server.url, "w2head", "head-password")
    theirs = httpx.get(
        f"{server.url}/api/v1/alerts", headers={"Authorization": f"Bearer {w2}"}
    ).json()["alerts"]
    assert theirs == []  # nothing about 总装车间 yet, and no session-wide alert is theirs
    bad = httpx.get(
        f"{server.url}/api/v1/alerts?status=closed", headers={"Authorization": f"Bearer {hr}"}
    )
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{server.url}/api/v1/alerts").status_code == 401
    missing = httpx.post(
        f"{server.url}/api/v1/alerts/not-an-id/acknowledge",
        headers={"Authorization": f"Bearer {hr}"},
    )
    assert missing.status_code == 404
