"""Shared fixtures: a wired Muster on real SQLite or PostgreSQL, a small plant, a live server."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from psycopg import sql

from app.audit.context import ACTING
from app.bootstrap import Adapters, Muster, build, real_adapters
from app.services.vision_adapters import InlineRoomAnalyser
from app.settings import Settings
from tests.services import PG_DSN, NatsServer, ensure_postgres
from vision.fake import FakeFaceEngine, FakeRoomAnalyzer, FixtureIndex


@pytest.fixture(autouse=True)
def nobody_acting() -> Iterator[None]:
    """Each test starts with no acting role or address: an in-process CLI run sets them for
    the rest of the thread, as it does for its own process."""
    token = ACTING.set(None)
    yield
    ACTING.reset(token)


VISION_FIXTURES = Path(__file__).parent / "fixtures" / "vision"

BACKENDS = ["sqlite", "postgres"]


def make_settings(backend: str, tmp_path: Path, schema: str, **overrides: Any) -> Settings:
    store = f"sqlite:///{tmp_path / 'muster.db'}" if backend == "sqlite" else PG_DSN
    return Settings(
        store=store,
        store_schema=schema,
        var_dir=tmp_path,
        secret_key="test-secret-key-for-signing-tokens",
        projection_poll_ms=50,
        # tests open and close their sessions themselves; most log staff in by password
        # (tests/security enrol them in two-factor)
        **{"two_factor_roles": [], "session_clock": False, **overrides},
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pg_schema(backend: str) -> Iterator[str]:
    """A fresh PostgreSQL schema per test (dropped afterwards); 'public' for SQLite."""
    if backend != "postgres":
        yield "public"
        return
    ensure_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A NATS JetStream server of this test's own: it may stop and start it."""
    server = NatsServer(str(tmp_path / "nats"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    return make_settings(backend, tmp_path, pg_schema)


@functools.cache
def fixture_index(directory: Path = VISION_FIXTURES) -> FixtureIndex:
    return FixtureIndex(directory)


def fake_adapters(directory: Path = VISION_FIXTURES, *, analyse: bool = True) -> Adapters:
    """The fakes of ``vision.fake``: each image's faces come from the JSON beside it
    (``analyse=False``: photos are stored and not analysed, as on a scale-out web process)."""
    index = fixture_index(directory)
    analyser = InlineRoomAnalyser(FakeRoomAnalyzer(index)) if analyse else None
    return Adapters(analyser=analyser, faces=lambda: FakeFaceEngine(index))


def wired_adapters(settings: Settings, kind: str) -> Adapters:
    """The room analyser ``kind`` asks for (fake, real or none) beside the face engine the
    face check-in tests were written for (the real one, loaded on the first selfie)."""
    real = real_adapters(settings)
    if kind == "real":
        return real
    return replace(fake_adapters(analyse=kind == "fake"), faces=real.faces)


@pytest.fixture
def adapters(request: pytest.FixtureRequest, settings: Settings) -> Adapters:
    """The vision adapters the app is wired with: the fakes unless the test is marked
    ``@pytest.mark.vision("real")`` (the dlib/OpenCV models in a process) or
    ``@pytest.mark.vision("none")`` (photos stored, none analysed)."""
    marker = request.node.get_closest_marker("vision")
    return wired_adapters(settings, marker.args[0] if marker else "fake")


@pytest.fixture
def muster(settings: Settings, adapters: Adapters) -> Iterator[Muster]:
    wired = build(settings, adapters)
    yield wired
    wired.close()


@dataclass
class Plant:
    """A small plant: two plants, workshops, 20 employees, a session running now."""

    session_id: str
    later_session_id: str
    other_plant_session_id: str
    p1_token: str
    p2_token: str
    badges: dict[str, str]
    hr_password: str
    sz1_password: str
    auditor_password: str


def load_plant(
    muster: Muster, started_minutes_ago: int = 5, later_in: timedelta = timedelta(hours=3)
) -> Plant:
    """The plant, its sessions timed from now: S-NOW and S-P2 running, S-LATER starting
    `later_in` from now (after 21:00 in the plant, three hours on is the plant's next day)."""
    app = muster.app
    a = "test"
    app.register_org_unit("G", "测试集团", "group", None, a)
    app.register_org_unit("C", "测试公司", "company", "G", a)
    app.register_org_unit("P1", "一厂", "plant", "C", a)
    app.register_org_unit("P2", "二厂", "plant", "C", a)
    app.register_org_unit("W1", "冲压车间", "workshop", "P1", a)
    app.register_org_unit("W2", "总装车间", "workshop", "P1", a)
    app.register_org_unit("W3", "注塑车间", "workshop", "P2", a)
    app.register_org_unit("W1-T1", "甲班", "team", "W1", a)
    app.register_course("SAFE", "安全生产基础", "safety", 60, 12, a)
    badges = {f"E{n:02d}": f"BADGE{n:02d}" for n in range(1, 21)}
    units = {
        **{f"E{n:02d}": "W1-T1" for n in range(1, 9)},
        **{f"E{n:02d}": "W2" for n in range(9, 15)},
        **{f"E{n:02d}": "W3" for n in range(15, 21)},
    }
    app.hire_employees(
        [
            {"employee_no": no, "name": f"员工{no}", "org_unit": units[no], "badge_uid": badges[no]}
            for no in badges
        ],
        a,
    )
    now = datetime.now(UTC)
    start = now - timedelta(minutes=started_minutes_ago)
    roster = [f"E{n:02d}" for n in range(1, 13)] + ["E15"]  # E15 trains across plants
    sid = app.schedule_session(
        "S-NOW", "SAFE", "P1", "培训室A", "陈老师", start, start + timedelta(hours=1), roster, a
    )
    app.start_session(sid, a)
    later = app.schedule_session(
        "S-LATER",
        "SAFE",
        "P1",
        "培训室B",
        "刘工",
        now + later_in,
        now + later_in + timedelta(hours=1),
        roster,
        a,
    )
    other = app.schedule_session(
        "S-P2",
        "SAFE",
        "P2",
        "二厂培训室",
        "王工",
        start,
        start + timedelta(hours=1),
        ["E15", "E16"],
        a,
    )
    p1 = app.register_device("tablet-p1", "培训室A", "P1", "tablet", a)
    p2 = app.register_device("tablet-p2", "二厂培训室", "P2", "tablet", a)
    hr = app.add_user("hr", "hr", "G", a, password="hr-password")
    sz1 = app.add_user("sz1", "hr", "P1", a, password="sz1-password")
    aud = app.add_user("auditor", "auditor", "G", a, password="auditor-password")
    assert muster.runner.wait_until_caught_up(30)
    return Plant(str(sid), str(later), str(other), p1, p2, badges, hr, sz1, aud)


@pytest.fixture
def plant(muster: Muster) -> Plant:
    return load_plant(muster)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    muster: Muster


@contextlib.contextmanager
def serve(muster: Muster) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free loopback port, projections running in-process."""
    from app.web.app import WEBSOCKETS, create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(muster),
        host="127.0.0.1",
        port=port,
        loop="asyncio",
        **WEBSOCKETS,
        log_level="warning",
        lifespan="on",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(srv.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", muster)
    finally:
        srv.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def server(muster: Muster) -> Iterator[LiveServer]:
    """The real app under uvicorn on a free loopback port, projections running in-process."""
    with serve(muster) as live:
        yield live
