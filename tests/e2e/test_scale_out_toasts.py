"""Alert toasts in the scale-out shape survive the processes that carry them: a page that
reconnects with `?since=` to another or a freshly started web process is shown what it
missed (the notices are kept in the store, not in a web process's memory), and a toast a
worker could not publish before it was killed (NATS away) is published by the next worker.

PostgreSQL, a NATS server of the test's own, real `muster worker` and `muster serve`
processes; processes are killed with SIGKILL, as a crash or the OOM killer would."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from app.bootstrap import Muster, build
from app.settings import Settings
from tests.conftest import Plant, free_port, load_plant
from tests.e2e import test_scale_out
from tests.e2e.test_scale_out_alerts import listed_alert, next_alert, session_with_alert
from tests.services import NatsServer

backend = test_scale_out.backend


class Cluster:
    """A worker and web processes of one deployment, each started and killed at will."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def _spawn(self, args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
        self.started += 1
        log = self.tmp_path / f"{args[0]}{self.started}.log"
        proc = test_scale_out.spawn(args, env, log)
        self.procs.append(proc)
        return proc, log

    def worker(self) -> subprocess.Popen[bytes]:
        return self._spawn(["worker"], self.env)[0]

    def web(self) -> tuple[subprocess.Popen[bytes], str]:
        env = {**self.env, "MUSTER_RUN_PROJECTIONS": "false", "MUSTER_VISION_PROCESSES": "0"}
        port = free_port()
        proc, log = self._spawn(["serve", "--port", str(port)], env)
        url = f"http://127.0.0.1:{port}"
        test_scale_out.wait_http(url, proc, log)
        return proc, url

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def deployment(
    tmp_path: Path, pg_schema: str, own_nats: NatsServer
) -> Iterator[tuple[Muster, Plant, Cluster]]:
    env = test_scale_out.scale_out_env(tmp_path, pg_schema, own_nats.url)
    admin = build(
        Settings(
            store=env["MUSTER_STORE"],
            store_schema=pg_schema,
            var_dir=tmp_path,
            secret_key=env["MUSTER_SECRET_KEY"],
        )
    )
    cluster = Cluster(env, tmp_path)
    try:
        cluster.worker()
        plant = load_plant(admin)
        yield admin, plant, cluster
    finally:  # also when a process failed to start: none outlives the test
        cluster.stop()
        admin.close()


def token_of(url: str) -> str:
    reply = httpx.post(
        f"{url}/api/v1/auth/token", json={"login": "sz1", "password": "sz1-password"}
    )
    return str(reply.json()["token"])


def inbox(url: str, token: str, since: int | None = None) -> str:
    query = f"/ws/live?scope=inbox&format=json&token={token}"
    return url.replace("http", "ws") + query + (f"&since={since}" if since is not None else "")


async def replayed(url: str, token: str, since: int) -> list[dict[str, Any]]:
    """What an inbox socket opened with `?since=` is sent before it falls quiet."""
    got = []
    async with websockets.connect(inbox(url, token, since)) as socket:
        try:
            while True:
                got.append(json.loads(await asyncio.wait_for(socket.recv(), 3)))
        except TimeoutError:
            return got


def toasted(admin: Muster, session_id: str, timeout: float) -> None:
    """Wait until the worker has published (and kept) the notice of the alert about
    `session_id`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if admin.store.fetch(
            "SELECT n.position FROM alert_notices n JOIN alerts a ON a.id = n.alert_id "
            "WHERE a.subject LIKE :s",
            {"s": f"%{session_id}%"},
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"the alert about {session_id} was not toasted within {timeout} s")


def test_a_page_reconnecting_to_another_or_a_restarted_web_process_is_shown_what_it_missed(
    deployment: tuple[Muster, Plant, Cluster],
) -> None:
    admin, _plant, cluster = deployment
    (web_a, url_a), (_web_b, url_b) = cluster.web(), cluster.web()
    token = token_of(url_a)

    async def seen_on_a() -> int:
        async with websockets.connect(inbox(url_a, token)) as socket:
            await asyncio.sleep(0.5)  # the hubs subscribed before the first alert
            first = session_with_alert(admin, "S-SEEN")
            return int((await next_alert(socket, first, "no_checkins", 30))["version"])

    seen = asyncio.run(seen_on_a())
    # the page is away: an alert is raised and toasted while it has no socket open
    missed = session_with_alert(admin, "S-MISSED")
    listed_alert(url_b, token, missed, 30)
    toasted(admin, missed, 30)
    web_a.kill()  # the page's web process dies; the page reconnects elsewhere
    web_a.wait()
    _web_c, url_c = cluster.web()  # started after the toast: nothing of it in its memory

    for url in (url_b, url_c):
        notes = asyncio.run(replayed(url, token, seen))
        about = [n["alert"]["subject"].get("session_id") for n in notes]
        assert missed in about, url
        assert all(n["version"] > seen for n in notes)
        assert [n["notice"] for n in notes if n["alert"]["subject"]["session_id"] == missed] == [
            "raised"
        ]
    latest = max(n["version"] for n in asyncio.run(replayed(url_c, token, seen)))
    assert asyncio.run(replayed(url_c, token, latest)) == []


def test_a_toast_a_killed_worker_could_not_publish_is_published_by_the_next_worker(
    deployment: tuple[Muster, Plant, Cluster], own_nats: NatsServer
) -> None:
    admin, _plant, cluster = deployment
    (first_worker,) = cluster.procs
    urls = [cluster.web()[1], cluster.web()[1]]
    token = token_of(urls[0])

    async def scenario() -> None:
        sockets = [await websockets.connect(inbox(url, token)) for url in urls]
        try:
            await asyncio.sleep(0.5)
            before = session_with_alert(admin, "S-BEFORE")
            for socket in sockets:
                await next_alert(socket, before, "no_checkins", 30)

            own_nats.stop()
            stranded = session_with_alert(admin, "S-STRANDED")  # raised; its toast cannot go
            await asyncio.to_thread(listed_alert, urls[1], token, stranded, 30)
            await asyncio.sleep(1.0)  # the worker tries and keeps it
            first_worker.kill()  # SIGKILL: nothing of the worker's memory survives
            first_worker.wait()
            own_nats.start()
            cluster.worker()
            for socket in sockets:  # pages that stayed open get it from the next worker
                note = await next_alert(socket, stranded, "no_checkins", 60)
                assert note["notice"] == "raised" and "sz1" in note["alert"]["recipients"]
        finally:
            for socket in sockets:
                await socket.close()

    asyncio.run(scenario())
    kept = admin.store.fetch(
        "SELECT COUNT(*) AS n FROM alert_notices n JOIN alerts a ON a.id = n.alert_id "
        "WHERE a.rule = 'no_checkins' AND n.notice = 'raised'"
    )[0]["n"]
    assert kept >= 2  # once per notice, however often it was published
