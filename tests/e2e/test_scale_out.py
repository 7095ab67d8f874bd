"""The scale-out shape for real: PostgreSQL, NATS JetStream, a `muster worker` process and two
`muster serve` processes that do not project. A check-in on one web process shows up on a
wallboard connected to the other."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from app.bootstrap import Muster, build
from tests.conftest import Plant, free_port, load_plant, make_settings
from tests.e2e.test_photos import jpeg_with_exif
from tests.services import ensure_nats


@pytest.fixture
def backend() -> str:
    return "postgres"


def scale_out_env(tmp_path: Path, pg_schema: str, bus: str) -> dict[str, str]:
    """The environment of the worker and web processes: PostgreSQL in `pg_schema`, `bus`."""
    settings = make_settings("postgres", tmp_path, pg_schema)
    return {
        **os.environ,
        "MUSTER_STORE": settings.store,
        "MUSTER_STORE_SCHEMA": pg_schema,
        "MUSTER_BUS": bus,
        "MUSTER_SECRET_KEY": settings.secret_key,
        "MUSTER_VAR_DIR": str(tmp_path),
        "MUSTER_PROJECTION_POLL_MS": "50",
    }


@pytest.fixture
def cluster_env(tmp_path: Path, pg_schema: str) -> dict[str, str]:
    ensure_nats()
    return scale_out_env(tmp_path, pg_schema, "nats://127.0.0.1:4222")


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120  # a loaded 2-core machine takes long to import it all
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited: {log.read_text()}")
        try:
            httpx.get(url + "/login", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"no answer from {url}: {log.read_text()}")


@pytest.fixture
def cluster(
    cluster_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Muster, Plant, list[str]]]:
    from app.settings import Settings

    admin = build(
        Settings(
            store=cluster_env["MUSTER_STORE"],
            store_schema=cluster_env["MUSTER_STORE_SCHEMA"],
            var_dir=tmp_path,
            secret_key=cluster_env["MUSTER_SECRET_KEY"],
        )
    )
    procs = [spawn(["worker", "--vision"], cluster_env, tmp_path / "worker.log")]
    try:
        plant = load_plant(admin)  # the worker projects too: two runners, each batch once
        urls = []
        web_env = {
            **cluster_env,
            "MUSTER_RUN_PROJECTIONS": "false",
            "MUSTER_VISION_PROCESSES": "0",
        }
        for n in range(2):
            port = free_port()
            log = tmp_path / f"web{n}.log"
            procs.append(spawn(["serve", "--port", str(port)], web_env, log))
            urls.append(f"http://127.0.0.1:{port}")
            wait_http(urls[-1], procs[-1], log)
        yield admin, plant, urls
    finally:  # also when a process failed to start: none outlives the test
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        admin.close()


def test_a_check_in_on_one_web_process_reaches_a_wallboard_on_another(
    cluster: tuple[Muster, Plant, list[str]],
) -> None:
    admin, plant, (web_a, web_b) = cluster
    token = httpx.post(
        f"{web_b}/api/v1/auth/token", json={"login": "hr", "password": "hr-password"}
    ).json()["token"]

    async def scenario() -> dict[str, object]:
        url = (
            web_b.replace("http", "ws")
            + f"/ws/live?scope=session:{plant.session_id}&format=json&token={token}"
        )
        async with websockets.connect(url) as socket:
            snapshot = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert snapshot["session"]["checked_in"] == 0
            async with httpx.AsyncClient() as client:
                reply = await client.post(
                    f"{web_a}/api/v1/checkins",
                    headers={"Authorization": f"Bearer {plant.p1_token}"},
                    json={
                        "client_event_id": str(uuid.uuid4()),
                        "session_id": plant.session_id,
                        "method": "badge",
                        "badge_uid": plant.badges["E07"],
                    },
                )
                assert reply.status_code == 201, reply.text
            return json.loads(await asyncio.wait_for(socket.recv(), 10))  # type: ignore[no-any-return]

    pushed = asyncio.run(scenario())
    session = pushed["session"]
    assert session["checked_in"] == 1  # type: ignore[index]
    assert [r["employee_no"] for r in session["roster"] if r["status"] == "present"] == ["E07"]  # type: ignore[index]
    # the push comes from the live projection; the worker's other projections follow within
    # the same round
    deadline = time.monotonic() + 10
    while {s.lag for s in admin.runner.status()} != {0}:
        assert time.monotonic() < deadline, admin.runner.status()
        time.sleep(0.05)


def test_room_photos_uploaded_to_a_web_process_are_analysed_by_the_vision_worker(
    cluster: tuple[Muster, Plant, list[str]],
) -> None:
    _admin, plant, (web_a, _web_b) = cluster
    photo = jpeg_with_exif()
    reply = httpx.post(
        f"{web_a}/api/v1/photos",
        headers={"Authorization": f"Bearer {plant.p1_token}"},
        data={"session_id": plant.session_id, "kind": "room", "client_event_id": "room-1"},
        files={"file": ("room.jpg", photo, "image/jpeg")},
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["message"] == "已存储"
    token = httpx.post(
        f"{web_a}/api/v1/auth/token", json={"login": "hr", "password": "hr-password"}
    ).json()["token"]
    deadline = time.monotonic() + 120  # the worker loads the dlib models on its first photo
    photos: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        photos = httpx.get(
            f"{web_a}/api/v1/sessions/{plant.session_id}/attendance",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["photos"]
        if photos and photos[0]["status"] != "stored":
            break
        time.sleep(0.5)
    assert [(p["status"], p["headcount"]) for p in photos] == [("analysed", 1)]
