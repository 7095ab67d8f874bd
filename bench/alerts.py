"""Alert latency and live clients: how long after a department's condition turns true its
head has the alert (inbox API, inbox websocket) and a webhook has it; and how long a check-in
takes to reach many wallboard websockets, with their memory.

    uv run python bench/alerts.py                       # SQLite embedded, 10 alerts, 1,000 clients
    uv run python bench/alerts.py --alerts 20 --clients 500 --json var/bench/alerts.json

One embedded `muster serve` process (SQLite; projections and the alert engine inside it) on
loopback, a local webhook receiver, and:
1. `--alerts` sessions whose late marks pass one after another (every 1.5 s) with nobody
   checked in: for each, the time from the late mark to the `dept_rate_low` alert in the
   head's `GET /api/v1/alerts` (polled every 20 ms), on the head's inbox websocket, and at the
   webhook;
2. `--clients` websockets on one plant's wallboard (JSON), then check-ins one at a time: for
   each, the time from the check-in's reply to the first push on every client that shows a
   newer board (one reader task per socket notes the arrival; it reads the version from the
   message's head instead of parsing it); the server's RSS before and after the clients
   connect, per client; the load average before and after.

Nothing here asserts: it measures and prints. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.bootstrap import build
from app.settings import Settings
from tests.conftest import free_port, load_plant

VERSION = re.compile(r'"version": (\d+)')


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(q * (len(ordered) - 1)), len(ordered) - 1)] if ordered else 0.0


def summary(name: str, values_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values_s]
    row = {
        "what": name,
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p99_ms": round(pct(ms, 0.99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
    }
    print(f"  {name:<38} n={row['n']:<6} p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms")
    return row


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def webhook_receiver() -> tuple[str, dict[str, float]]:
    """A JSON webhook on loopback recording when each alert id arrived."""
    arrived: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            arrived.setdefault(body["alert"]["id"], time.monotonic())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}/hook", arrived


async def alert_latency(url: str, muster: Any, head: str, count: int) -> list[dict[str, Any]]:
    hook, arrived = webhook_receiver()
    muster.app.add_webhook(hook, "json", "P1", ["dept_rate_low"], "bench")
    late = muster.policy.late_after
    first = time.monotonic() + 3
    marks: dict[str, float] = {}
    now = datetime.now(UTC)
    for n in range(count):  # the late marks pass 1.5 s apart, from 3 s from now
        starts = now - late + timedelta(seconds=3 + 1.5 * n)
        sid = muster.app.schedule_session(
            f"B-{n}",
            "SAFE",
            "P1",
            f"R{n}",
            "陈老师",
            starts,
            starts + timedelta(hours=1),
            [f"E{k:02d}" for k in range(1, 9)],
            "bench",
        )
        marks[str(sid)] = first + 1.5 * n
    inbox: dict[str, float] = {}
    toast: dict[str, float] = {}
    ws = url.replace("http", "ws") + f"/ws/live?scope=inbox&format=json&token={head}"

    async def watch() -> None:
        async with websockets.connect(ws) as socket:
            while len(toast) < count:
                note = json.loads(await socket.recv())
                sid = note["alert"]["subject"].get("session_id")
                if sid in marks and note["alert"]["rule"] == "dept_rate_low":
                    toast.setdefault(sid, time.monotonic())

    async def poll() -> None:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {head}"}) as client:
            while len(inbox) < count:
                reply = await client.get(f"{url}/api/v1/alerts?rule=dept_rate_low")
                for a in reply.json()["alerts"]:
                    inbox.setdefault(a["subject"]["session_id"], time.monotonic())
                await asyncio.sleep(0.02)

    await asyncio.wait_for(asyncio.gather(watch(), poll()), 30 + 2 * count)
    deadline = time.monotonic() + 10
    while len(arrived) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    ids = {
        r["subject"]["session_id"]: r["id"]
        for r in httpx.get(
            f"{url}/api/v1/alerts?rule=dept_rate_low", headers={"Authorization": f"Bearer {head}"}
        ).json()["alerts"]
    }
    return [
        summary("late mark → head's inbox (API)", [inbox[s] - m for s, m in marks.items()]),
        summary("late mark → head's inbox websocket", [toast[s] - m for s, m in marks.items()]),
        summary(
            "late mark → webhook",
            [arrived[ids[s]] - m for s, m in marks.items() if ids.get(s) in arrived],
        ),
    ]


async def wallboard_fanout(
    url: str, pid: int, plant: Any, token: str, clients: int
) -> list[dict[str, Any]]:
    before = rss_kb(pid)
    ws = url.replace("http", "ws") + f"/ws/live?scope=plant:P1&format=json&token={token}"
    sockets = []
    for _ in range(clients):
        sockets.append(await websockets.connect(ws, max_queue=4))
    snapshots = [await asyncio.wait_for(s.recv(), 60) for s in sockets]  # each gets its own
    after = rss_kb(pid)
    print(f"  {clients} wallboard clients: RSS +{(after - before) / clients:.1f} KB per client")
    # One reader per socket for the whole run: it notes when the socket first shows a board
    # newer than the one it had when the check-in was sent. The load generator does as little
    # as it can per message, so its own work delays the figures least.
    seen = [0] * clients
    base = [0] * clients
    first: dict[int, float] = {}
    everyone = asyncio.Event()

    async def read(n: int, socket: Any) -> None:
        while True:
            head = (await socket.recv())[:120]
            found = VERSION.search(head)
            if not head.startswith('{"type": "attendance", "kind": "plant"') or found is None:
                continue  # an alert notice about the plant
            seen[n] = max(seen[n], int(found.group(1)))
            if seen[n] > base[n] and n not in first:
                first[n] = time.monotonic()
                if len(first) == clients:
                    everyone.set()

    for n, snapshot in enumerate(snapshots):  # the version each one has
        found = VERSION.search(snapshot[:120])
        seen[n] = int(found.group(1)) if found else 0
    readers = [asyncio.create_task(read(n, s)) for n, s in enumerate(sockets)]
    latencies: list[float] = []
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {plant.p1_token}"}) as client:
        for employee in [f"E{k:02d}" for k in range(1, 13)]:
            base[:] = seen
            first.clear()
            everyone.clear()
            reply = await client.post(
                f"{url}/api/v1/checkins",
                json={
                    "client_event_id": str(uuid.uuid4()),
                    "session_id": plant.session_id,
                    "method": "badge",
                    "badge_uid": plant.badges[employee],
                },
            )
            committed = time.monotonic()
            assert reply.status_code == 201, reply.text
            await asyncio.wait_for(everyone.wait(), 60)
            latencies.extend(max(at - committed, 0.0) for at in first.values())
            await asyncio.sleep(0.3)
    for reader in readers:
        reader.cancel()
    for socket in sockets:
        await socket.close()
    row = summary(f"check-in → {clients} wallboards", latencies)
    row["kb_per_client"] = round((after - before) / clients, 1)
    return [row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=10)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    tmp = Path(tempfile.mkdtemp(prefix="muster-bench-alerts-"))
    env = {
        **os.environ,
        "MUSTER_STORE": f"sqlite:///{tmp / 'muster.db'}",
        "MUSTER_VAR_DIR": str(tmp),
        "MUSTER_SECRET_KEY": "bench-secret",
        "MUSTER_VISION_PROCESSES": "0",
    }
    muster = build(Settings(store=env["MUSTER_STORE"], var_dir=tmp, secret_key="bench-secret"))
    plant = load_plant(muster, started_minutes_ago=2)
    muster.app.add_user("w1head", "dept_head", "W1", "bench", password="head-password")
    muster.runner.wait_until_caught_up()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        stdout=(tmp / "serve.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/login", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)

    def token(login: str, password: str) -> str:
        reply = httpx.post(f"{url}/api/v1/auth/token", json={"login": login, "password": password})
        return str(reply.json()["token"])

    rows: list[dict[str, Any]] = []
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("alerts (SQLite embedded, one `muster serve` process):")
    rows += asyncio.run(alert_latency(url, muster, token("w1head", "head-password"), args.alerts))
    print("wallboard fan-out (same process):")
    hr = token("hr", "hr-password")
    rows += asyncio.run(wallboard_fanout(url, server.pid, plant, hr, args.clients))
    load = os.getloadavg()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load)}")
    rows.append({"what": "load average (1, 5, 15 min) after", "load": [round(x, 2) for x in load]})
    server.terminate()
    server.wait(timeout=30)
    muster.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
