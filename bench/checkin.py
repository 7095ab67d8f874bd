"""Check-in benchmark: HTTP throughput and latency, push latency, projection lag, rebuild rate,
and beside them the raw event-store append rate of the same run.

    uv run python bench/checkin.py        # SQLite embedded, PostgreSQL embedded and scale-out
    uv run python bench/checkin.py --runs sqlite:embedded --seconds 5
    uv run python bench/checkin.py --json var/bench/checkin.json

For each store it
1. appends new attendance aggregates straight into a fresh event store, 1 and 100 per
   transaction (the ceiling the web and domain layers are measured against);
2. loads a bench plant (employees, ~40-person sessions all in progress, tablets, an HR login);
3. starts the system as separate processes on loopback — embedded: one `muster serve` with
   projections inside; scale-out: a `muster worker` projecting onto NATS JetStream and
   `--webs` `muster serve` processes — and drives it with aiohttp:
   - single check-ins, closed loop (many tablets posting back to back): throughput, p50/p99;
   - single check-ins, open loop at a fixed rate (default 500/s): p50/p99 measured from the
     scheduled send time, so a stall cannot hide (no coordinated omission);
   - while that runs, a few wallboard websockets (session scope, JSON) record how long each
     check-in takes to show up as a push;
   - offline-tablet batches (`/checkins/batch`, 500 items): items/s;
   - projection lag sampled every 100 ms, and the time to drain after each phase;
4. stops the processes (peak RSS of each read from /proc) and rebuilds every projection
   from zero: events/s.

Nothing here asserts: it measures and prints. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bootstrap import Muster, build  # noqa: E402
from app.domain.attendance import Attendance  # noqa: E402
from app.logging import configure  # noqa: E402
from app.settings import Settings  # noqa: E402

PG_DSN = os.environ.get("MUSTER_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-not-for-production"
ACTOR = "bench"
ROSTER = 40
SHAPES = ("embedded", "scale-out")
TEAMS = 12


# --------------------------------------------------------------------------- helpers


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0–100), in the values' unit; nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_peak_mib(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


@dataclass
class Store:
    """One store under test: its Settings (fresh file or schema) and how to drop it."""

    kind: str
    settings: Settings
    schema: str = "public"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MUSTER_STORE": self.settings.store,
            "MUSTER_STORE_SCHEMA": self.settings.store_schema,
            "MUSTER_SECRET_KEY": SECRET,
            "MUSTER_VAR_DIR": str(self.settings.var_dir),
            "MUSTER_BUS": "memory://",
            "MUSTER_VISION_PROCESSES": "0",
        }

    def drop(self) -> None:
        if self.kind == "postgres":
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
                )


def fresh_store(kind: str, label: str) -> Store:
    tag = f"{label}_{uuid.uuid4().hex[:8]}"
    var = ROOT / "var" / "bench" / tag
    var.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        settings = Settings(store=f"sqlite:///{var / 'muster.db'}", var_dir=var, secret_key=SECRET)
        return Store(kind, settings)
    schema = f"bench_{tag}"
    settings = Settings(store=PG_DSN, store_schema=schema, var_dir=var, secret_key=SECRET)
    return Store(kind, settings, schema)


# --------------------------------------------------------------------------- raw appends


def new_attendance(n: int) -> Attendance:
    now = datetime.now(UTC)
    return Attendance(
        session_id=uuid.uuid4(),
        employee_no=f"R{n:07d}",
        employee_name="基准",
        dept="T",
        method="badge",
        attendance_status="present",
        flags=[],
        checked_in_at=now,
        device_id=uuid.uuid4(),
        device_time=now,
        device_seq=n,
        client_event_id=str(uuid.uuid4()),
        reason=None,
        evidence={"badge_uid": f"B{n:07d}"},
        actor=ACTOR,
    )


def raw_appends(kind: str, single: int, batched: int) -> dict[str, float]:
    """New attendance aggregates appended straight to a fresh event store (no web, no rules)."""
    store = fresh_store(kind, "raw")
    muster = build(store.settings)
    try:
        aggs = [new_attendance(n) for n in range(single)]
        started = time.perf_counter()
        for agg in aggs:
            muster.app.save(agg)
        one = single / (time.perf_counter() - started)
        aggs = [new_attendance(single + n) for n in range(batched)]
        started = time.perf_counter()
        for i in range(0, batched, 100):
            muster.app.save(*aggs[i : i + 100])
        hundred = batched / (time.perf_counter() - started)
    finally:
        muster.close()
        store.drop()
    return {"append_1_per_txn": one, "append_100_per_txn": hundred}


# --------------------------------------------------------------------------- the bench plant


@dataclass
class BenchPlant:
    device_tokens: list[str]
    #: (session id, badge) pairs not yet checked in, per session
    pairs: dict[str, list[str]]
    hr_password: str
    employees: int
    sessions: int


def load_bench_plant(muster: Muster, employees: int, sessions: int, seed: int) -> BenchPlant:
    app = muster.app
    rng = random.Random(seed)
    app.register_org_unit("BG", "基准集团", "group", None, ACTOR)
    app.register_org_unit("BC", "基准公司", "company", "BG", ACTOR)
    app.register_org_unit("BP", "基准工厂", "plant", "BC", ACTOR)
    app.register_org_unit("BW", "基准车间", "workshop", "BP", ACTOR)
    for t in range(TEAMS):
        app.register_org_unit(f"BW-T{t}", f"{t + 1}班", "team", "BW", ACTOR)
    app.register_course("BENCH", "基准课程", "safety", 240, 12, ACTOR)
    people = [
        {
            "employee_no": f"B{n:05d}",
            "name": f"员工{n:05d}",
            "org_unit": f"BW-T{n % TEAMS}",
            "badge_uid": f"BADGE{n:08d}",
        }
        for n in range(employees)
    ]
    for i in range(0, len(people), 1000):
        app.hire_employees(people[i : i + 1000], ACTOR)
    start = datetime.now(UTC) - timedelta(minutes=2)
    pairs: dict[str, list[str]] = {}
    for s in range(sessions):
        roster = rng.sample(people, ROSTER)
        sid = app.schedule_session(
            f"BENCH-{s:05d}",
            "BENCH",
            "BP",
            f"培训室{s % 50}",
            "基准老师",
            start,
            start + timedelta(hours=4),
            [p["employee_no"] for p in roster],
            ACTOR,
        )
        app.start_session(sid, ACTOR)
        pairs[str(sid)] = [p["badge_uid"] for p in roster]
    tokens = [app.register_device(f"bench-{d}", "培训室", "BP", "tablet", ACTOR) for d in range(8)]
    password = "bench-hr-password"
    app.add_user("bench-hr", "hr", "BG", ACTOR, password=password)
    while muster.runner.run_once():
        pass
    # What follows the log besides the projections (anomaly rules, alerts, reminders, the
    # session clock) reads the plant too: let it finish here, so the system under test
    # starts quiet instead of spending its first seconds on the plant's backlog.
    for subscriber in muster.subscribers:
        while subscriber.run_once():
            pass
    muster.alert_toasts.send = lambda messages: True  # the plant's backlog: nobody watches
    for follower in (
        muster.alert_engine,
        muster.alert_delivery,
        muster.alert_toasts,
        muster.reminders,
        muster.session_clock,
    ):
        follower.run_until_idle(rounds=10_000)
    return BenchPlant(tokens, pairs, password, employees, sessions)


def badge_of(employee_no: str) -> str:
    """The bench plant's badge for an employee number (B00042 → BADGE00000042)."""
    return f"BADGE{int(employee_no[1:]):08d}"


class Pairs:
    """Hands out (session, badge) pairs never used before: every check-in is a new one."""

    def __init__(self, plant: BenchPlant, reserved: set[str]) -> None:
        self.flat = [
            (sid, badge)
            for sid, badges in plant.pairs.items()
            if sid not in reserved
            for badge in badges
        ]
        random.Random(3).shuffle(self.flat)
        self.next = 0

    def take(self, n: int) -> list[tuple[str, str]]:
        if self.next + n > len(self.flat):
            raise SystemExit("bench plant exhausted: raise --sessions")
        out = self.flat[self.next : self.next + n]
        self.next += n
        return out


# --------------------------------------------------------------------------- the system


class Processes:
    """The system under test, in its own processes as a plant runs it.

    embedded: one `muster serve` (projections in the web process, in-process bus).
    scale-out: one `muster worker` (projections, publishing on NATS JetStream) and `webs`
    `muster serve` processes that only take requests and push what the worker projected."""

    def __init__(self, store: Store, shape: str, webs: int) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        env = store.env()
        #: the NATS subject of the sessions' view changes (scale-out), for the stage probe
        self.live_subject: str | None = None
        if shape == "scale-out":
            namespace = f"bench{uuid.uuid4().hex[:8]}"
            env |= {"MUSTER_BUS": "nats://127.0.0.1:4222", "MUSTER_BUS_NAMESPACE": namespace}
            self.live_subject = f"muster.{namespace}.live.session"
            self._spawn("worker", ["worker"], env, store)
            env |= {"MUSTER_RUN_PROJECTIONS": "false"}
        self.urls = []
        for n in range(webs if shape == "scale-out" else 1):
            port = free_port()
            self.urls.append(f"http://127.0.0.1:{port}")
            self._spawn(f"web{n}", ["serve", "--port", str(port)], env, store)

    def _spawn(self, name: str, args: list[str], env: dict[str, str], store: Store) -> None:
        log = store.settings.var_dir / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *args],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.procs.append((name, proc, log))

    async def wait(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 180  # a loaded 2-core machine takes long to start them
        pending = list(self.urls)
        while pending and time.monotonic() < deadline:
            for name, proc, log in self.procs:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited:\n{log.read_text()}")
            try:
                async with session.get(pending[0] + "/login") as reply:
                    if reply.status == 200:
                        pending.pop(0)
                        continue
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        if pending:
            raise SystemExit(f"no answer from {pending[0]}")

    def stop(self) -> dict[str, float]:
        """Stop them all (again: a no-op); returns each one's peak RSS in MiB."""
        peaks = {
            name: round(rss_peak_mib(proc.pid), 1)
            for name, proc, _ in self.procs
            if proc.poll() is None
        }
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, proc, _ in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return peaks


# --------------------------------------------------------------------------- load phases


@dataclass
class Shot:
    """What one request did."""

    latency_ms: float
    ok: bool


def rejected_in(data: bytes) -> int:
    """How many check-ins in a 2xx answer (one reply or a batch's results) the rules
    refused: since decision 0138 they are replies with `"status": "rejected"`, not 422s."""
    if b'"rejected"' not in data:
        return 0
    body = json.loads(data)
    results = body.get("results", [body]) if isinstance(body, dict) else []
    return sum(1 for r in results if isinstance(r, dict) and r.get("status") == "rejected")


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    items: int = 0
    shots: list[Shot] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        lat = [s.latency_ms for s in self.shots if s.ok]
        return {
            "items": self.items,
            "seconds": round(self.seconds, 2),
            "per_s": round(self.items / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(pct(lat, 50), 2),
            "p99_ms": round(pct(lat, 99), 2),
            "max_ms": round(max(lat), 2) if lat else float("nan"),
            "errors": self.errors,
        }


def body(sid: str, badge: str, seq: int) -> dict[str, Any]:
    return {
        "client_event_id": str(uuid.uuid4()),
        "session_id": sid,
        "method": "badge",
        "badge_uid": badge,
        "device_time": datetime.now(UTC).isoformat(),
        "device_seq": seq,
    }


class Driver:
    """Tablets posting check-ins; tablet d talks to web process d mod n."""

    def __init__(self, http: aiohttp.ClientSession, urls: list[str], tokens: list[str]) -> None:
        self.http = http
        self.urls = urls
        self.headers = [{"Authorization": f"Bearer {t}"} for t in tokens]
        self.sent_at: dict[tuple[str, str], float] = {}
        #: when the reply (the commit) came back, per (session, badge)
        self.replied_at: dict[tuple[str, str], float] = {}
        self.seq = 0

    async def post(self, path: str, payload: Any, device: int, phase: Phase, n: int) -> None:
        """POST like a tablet: a dropped connection is retried (up to 3 attempts) with the
        same body — the same client_event_ids, so the server answers a replay, never a double."""
        started = time.perf_counter()
        ok = False
        for attempt in range(3):
            try:
                async with self.http.post(
                    self.urls[device % len(self.urls)] + path,
                    json=payload,
                    headers=self.headers[device],
                ) as reply:
                    data = await reply.read()
                    ok = reply.status in (200, 201, 207)
                    key = str(reply.status) if not ok else "rejected (kept)"
                    if counted := 1 if not ok else rejected_in(data):
                        phase.errors[key] = phase.errors.get(key, 0) + counted
                break
            except aiohttp.ClientError as exc:
                key = f"{type(exc).__name__} (retried)" if attempt < 2 else type(exc).__name__
                phase.errors[key] = phase.errors.get(key, 0) + 1
        phase.shots.append(Shot((time.perf_counter() - started) * 1000, ok))
        if ok:
            phase.items += n

    async def single(self, sid: str, badge: str, device: int, phase: Phase) -> None:
        self.seq += 1
        self.sent_at[(sid, badge)] = time.perf_counter()
        await self.post("/api/v1/checkins", body(sid, badge, self.seq), device, phase, 1)
        self.replied_at[(sid, badge)] = time.perf_counter()

    async def closed_loop(self, pairs: Pairs, concurrency: int, seconds: float) -> Phase:
        phase = Phase("single, closed loop")
        deadline = time.perf_counter() + seconds

        async def tablet(d: int) -> None:
            while time.perf_counter() < deadline:
                ((sid, badge),) = pairs.take(1)
                await self.single(sid, badge, d % len(self.headers), phase)

        started = time.perf_counter()
        await asyncio.gather(*(tablet(d) for d in range(concurrency)))
        phase.seconds = time.perf_counter() - started
        return phase

    async def open_loop(
        self, work: list[tuple[str, str]], rate: float, name: str = "single, open loop"
    ) -> Phase:
        """Send work at `rate`/s on a fixed schedule; latency counts from the scheduled time."""
        phase = Phase(f"{name} at {rate:.0f}/s")
        started = time.perf_counter()
        tasks = []

        async def fire(i: int, sid: str, badge: str) -> None:
            scheduled = started + i / rate
            self.seq += 1
            self.sent_at[(sid, badge)] = time.perf_counter()
            inner = Phase("inner")
            await self.post(
                "/api/v1/checkins", body(sid, badge, self.seq), i % len(self.headers), inner, 1
            )
            self.replied_at[(sid, badge)] = time.perf_counter()
            ok = bool(inner.shots and inner.shots[0].ok)
            phase.shots.append(Shot((time.perf_counter() - scheduled) * 1000, ok))
            phase.items += inner.items
            for k, v in inner.errors.items():
                phase.errors[k] = phase.errors.get(k, 0) + v

        for i, (sid, badge) in enumerate(work):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(fire(i, sid, badge)))
        await asyncio.gather(*tasks)
        phase.seconds = time.perf_counter() - started
        return phase

    async def batches(self, pairs: Pairs, size: int, concurrency: int, seconds: float) -> Phase:
        phase = Phase(f"batch of {size}, closed loop")
        deadline = time.perf_counter() + seconds

        async def tablet(d: int) -> None:
            while time.perf_counter() < deadline:
                items = []
                for sid, badge in pairs.take(size):
                    self.seq += 1
                    items.append(body(sid, badge, self.seq))
                payload = {"items": items, "sent_at": datetime.now(UTC).isoformat()}
                await self.post("/api/v1/checkins/batch", payload, d, phase, size)

        started = time.perf_counter()
        await asyncio.gather(*(tablet(d) for d in range(concurrency)))
        phase.seconds = time.perf_counter() - started
        return phase


class Wallboards:
    """Session-scoped JSON websockets: when does each check-in show up in a push?"""

    def __init__(self, driver: Driver, url: str, token: str, sessions: list[str]) -> None:
        self.driver = driver
        self.ws_url = url.replace("http://", "ws://") + "/ws/live"
        self.token = token
        self.sessions = sessions
        self.latencies_ms: list[float] = []
        #: when each watched (session, employee no) first showed in a push
        self.arrived: dict[tuple[str, str], float] = {}
        self.pushes = 0
        self._seen: dict[str, set[str]] = {s: set() for s in sessions}
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = 0

    async def start(self) -> None:
        for sid in self.sessions:
            self._tasks.append(asyncio.create_task(self._watch(sid)))
        while self._ready < len(self.sessions):
            await asyncio.sleep(0.05)

    async def _watch(self, sid: str) -> None:
        query = f"?scope=session:{sid}&format=json&token={self.token}"
        async with self.driver.http.ws_connect(self.ws_url + query, max_msg_size=0) as ws:
            first = True
            async for msg in ws:
                now = time.perf_counter()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(msg.data)
                if data.get("type") != "session":
                    continue
                if not first:
                    self.pushes += 1
                for row in data["session"]["roster"]:
                    no = row["employee_no"]
                    if row["status"] != "expected" and no not in self._seen[sid]:
                        self._seen[sid].add(no)
                        sent = self.driver.sent_at.get((sid, badge_of(no)))
                        if sent is not None and not first:
                            self.latencies_ms.append((now - sent) * 1000)
                            self.arrived[(sid, no)] = now
                if first:
                    first = False
                    self._ready += 1

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class NatsProbe:
    """Listens (core NATS) to the view changes the worker publishes: when did the message
    for a session at a log position reach NATS? That splits check-in → push in two."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        self.seen: dict[str, list[tuple[int, float]]] = {}
        self._nc: Any = None

    async def start(self) -> None:
        import nats

        async def got(msg: Any) -> None:
            data = json.loads(msg.data)
            self.seen.setdefault(data["session_id"], []).append(
                (int(data["position"]), time.perf_counter())
            )

        self._nc = await nats.connect("nats://127.0.0.1:4222")
        await self._nc.subscribe(self.subject + ".*", cb=got)

    async def stop(self) -> None:
        if self._nc is not None:
            await self._nc.close()

    def reached(self, sid: str, position: int) -> float | None:
        """When the first message for `sid` at or past `position` arrived."""
        times = [at for pos, at in self.seen.get(sid, []) if pos >= position]
        return min(times) if times else None


def stages(muster: Muster, driver: Driver, boards: Wallboards, probe: NatsProbe) -> dict[str, Any]:
    """Each watched check-in's way to the other node, in stages (ms from the send): the reply
    (commit), the view change on NATS (worker woken, projected, published), the push."""
    from app.domain.ids import attendance_id

    commit, to_nats, nats_to_push = [], [], []
    for (sid, no), pushed in boards.arrived.items():
        sent = driver.sent_at.get((sid, badge_of(no)))
        replied = driver.replied_at.get((sid, badge_of(no)))
        row = muster.store.fetch_one(
            "SELECT notification_id FROM training_events "
            "WHERE originator_id = CAST(:id AS uuid) AND originator_version = 1",
            {"id": str(attendance_id(uuid.UUID(sid), no))},
        )
        on_nats = probe.reached(sid, int(row["notification_id"])) if row else None
        if sent is None or replied is None or on_nats is None:
            continue
        commit.append((replied - sent) * 1000)
        to_nats.append((on_nats - sent) * 1000)
        nats_to_push.append((pushed - on_nats) * 1000)
    return {
        "checkins": len(commit),
        **{
            f"{name}_p{q}_ms": round(pct(values, q), 1)
            for name, values in (
                ("reply", commit),
                ("on_nats", to_nats),
                ("nats_to_push", nats_to_push),
            )
            for q in (50, 99)
        },
    }


class LagProbe:
    """Samples projection lag (events behind the log) from a second connection."""

    def __init__(self, muster: Muster) -> None:
        self.muster = muster
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def lag(self) -> int:
        return max(s.lag for s in self.muster.runner.status())

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append(self.lag())

    def __enter__(self) -> LagProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def drain_s(self, timeout: float = 120) -> float:
        started = time.perf_counter()
        while self.lag() > 0 and time.perf_counter() - started < timeout:
            time.sleep(0.02)
        return time.perf_counter() - started


# --------------------------------------------------------------------------- one store


async def drive(
    store: Store, shape: str, muster: Muster, plant: BenchPlant, args: argparse.Namespace
) -> dict[str, Any]:
    watched = list(plant.pairs)[: args.wallboards]
    pairs = Pairs(plant, set(watched))
    system = Processes(store, shape, args.webs)
    try:
        return await drive_system(system, muster, plant, watched, pairs, args)
    finally:
        system.stop()  # also when something failed: no process outlives the bench


async def drive_system(
    system: Processes,
    muster: Muster,
    plant: BenchPlant,
    watched: list[str],
    pairs: Pairs,
    args: argparse.Namespace,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=None)
    async with aiohttp.ClientSession(connector=connector) as http:
        await system.wait(http)
        await asyncio.sleep(1.0)  # the worker subscribes and catches up
        async with http.post(
            system.urls[-1] + "/api/v1/auth/token",
            json={"login": "bench-hr", "password": plant.hr_password},
        ) as reply:
            token = (await reply.json())["token"]
        driver = Driver(http, system.urls, plant.device_tokens)

        async def phase(key: str, run: Callable[[], Awaitable[Phase]]) -> None:
            probe = LagProbe(muster)
            with probe:
                done = await run()
            drain = await asyncio.to_thread(probe.drain_s)
            summary = done.summary()
            summary["lag_max_events"] = max(probe.samples, default=0)
            summary["drain_s"] = round(drain, 2)
            results[key] = summary
            print(f"  {done.name:<28} {json.dumps(summary, ensure_ascii=False)}", flush=True)

        await phase("warmup", lambda: driver.closed_loop(pairs, 16, 2))
        await phase(
            "single_closed", lambda: driver.closed_loop(pairs, args.concurrency, args.seconds)
        )
        # wallboards on the last web process: in scale-out most check-ins arrive elsewhere
        boards = Wallboards(driver, system.urls[-1], token, watched)
        await boards.start()
        nats_probe = NatsProbe(system.live_subject) if system.live_subject else None
        if nats_probe is not None:
            await nats_probe.start()
        # the watched sessions' people arrive spread evenly through the open-loop run
        mine = [(sid, badge) for sid in watched for badge in plant.pairs[sid]]
        random.Random(5).shuffle(mine)
        n = max(int(args.rate * args.seconds), len(mine))
        slots = {i * n // len(mine) for i in range(len(mine))} if mine else set()
        others = iter(pairs.take(n - len(slots)))
        watched_iter = iter(mine)
        work = [next(watched_iter) if i in slots else next(others) for i in range(n)]
        await phase("single_open", lambda: driver.open_loop(work, args.rate))
        await asyncio.sleep(1.0)  # let the last pushes arrive
        await boards.stop()
        results["push"] = {
            "checkins_watched": len(boards.latencies_ms),
            "pushes": boards.pushes,
            "p50_ms": round(pct(boards.latencies_ms, 50), 1),
            "p99_ms": round(pct(boards.latencies_ms, 99), 1),
            "max_ms": round(max(boards.latencies_ms, default=float("nan")), 1),
        }
        print(f"  {'check-in → wallboard push':<28} {json.dumps(results['push'])}", flush=True)
        if nats_probe is not None:
            await nats_probe.stop()
            results["push_stages"] = await asyncio.to_thread(
                stages, muster, driver, boards, nats_probe
            )
            print(f"  {'push, by stage':<28} {json.dumps(results['push_stages'])}", flush=True)
        await phase(
            "batch", lambda: driver.batches(pairs, args.batch, args.batch_concurrency, args.seconds)
        )
    results["rss_peak_mib"] = system.stop()
    return results


def bench_store(kind: str, shape: str, args: argparse.Namespace) -> dict[str, Any]:
    webs = f", {args.webs} web processes + 1 worker" if shape == "scale-out" else ""
    print(f"\n== {kind}, {shape}{webs}", flush=True)
    raw = raw_appends(kind, args.raw_single, args.raw_batched)
    print(
        f"  raw appends: {raw['append_1_per_txn']:,.0f}/s one per transaction, "
        f"{raw['append_100_per_txn']:,.0f}/s a hundred per transaction",
        flush=True,
    )
    store = fresh_store(kind, "http")
    muster = build(store.settings)
    try:
        started = time.perf_counter()
        plant = load_bench_plant(muster, args.employees, args.sessions, args.seed)
        setup = time.perf_counter() - started
        print(
            f"  bench plant: {plant.employees} employees, {plant.sessions} sessions of {ROSTER} "
            f"in progress, loaded in {setup:.1f}s",
            flush=True,
        )
        results = asyncio.run(drive(store, shape, muster, plant, args))
        head = muster.runner.head()
        started = time.perf_counter()
        muster.runner.rebuild(None)
        took = time.perf_counter() - started
        results["rebuild"] = {
            "events": head,
            "seconds": round(took, 2),
            "events_per_s": round(head / took, 0),
        }
        print(f"  rebuild: {head:,} events in {took:.1f}s = {head / took:,.0f} events/s")
    finally:
        muster.close()
        store.drop()
    return {"raw": raw, **results}


def report(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="check-ins through HTTP vs raw appends of the same run")
    table.add_column("figure")
    for kind in results["stores"]:
        table.add_column(kind, justify="right")

    def row(label: str, pick: Callable[[dict[str, Any]], str]) -> None:
        table.add_row(label, *(pick(r) for r in results["stores"].values()))

    row("raw append, 1/txn (events/s)", lambda r: f"{r['raw']['append_1_per_txn']:,.0f}")
    row("raw append, 100/txn (events/s)", lambda r: f"{r['raw']['append_100_per_txn']:,.0f}")
    row("single check-ins/s (closed loop)", lambda r: f"{r['single_closed']['per_s']:,.0f}")
    row(
        "  ÷ raw 1/txn",
        lambda r: f"{r['single_closed']['per_s'] / r['raw']['append_1_per_txn']:.2f}",
    )
    row(
        "  p50 / p99 ms",
        lambda r: f"{r['single_closed']['p50_ms']:.1f} / {r['single_closed']['p99_ms']:.1f}",
    )
    row(
        "open loop: p50 / p99 ms",
        lambda r: f"{r['single_open']['p50_ms']:.1f} / {r['single_open']['p99_ms']:.1f}",
    )
    row("batch items/s", lambda r: f"{r['batch']['per_s']:,.0f}")
    row("  ÷ raw 100/txn", lambda r: f"{r['batch']['per_s'] / r['raw']['append_100_per_txn']:.2f}")
    row("push p50 / p99 ms", lambda r: f"{r['push']['p50_ms']:.0f} / {r['push']['p99_ms']:.0f}")
    row(
        "projection lag max (events)",
        lambda r: str(max(r[k]["lag_max_events"] for k in ("single_closed", "single_open"))),
    )
    row(
        "batch lag max / drain s",
        lambda r: f"{r['batch']['lag_max_events']} / {r['batch']['drain_s']}",
    )
    row("rebuild events/s", lambda r: f"{r['rebuild']['events_per_s']:,.0f}")
    row(
        "peak RSS MiB per process",
        lambda r: " ".join(f"{v:.0f}" for v in r["rss_peak_mib"].values()),
    )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--runs",
        default="sqlite:embedded,postgres:embedded,postgres:scale-out",
        help="store:shape pairs; shape is embedded or scale-out",
    )
    parser.add_argument("--webs", type=int, default=2, help="web processes in scale-out")
    parser.add_argument("--seconds", type=float, default=10.0, help="per load phase")
    parser.add_argument("--rate", type=float, default=500.0, help="open-loop check-ins/s")
    parser.add_argument("--concurrency", type=int, default=64, help="closed-loop tablets")
    parser.add_argument("--batch", type=int, default=500, help="items per batch")
    parser.add_argument("--batch-concurrency", type=int, default=4)
    parser.add_argument("--wallboards", type=int, default=8, help="watched sessions")
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--raw-single", type=int, default=3000)
    parser.add_argument("--raw-batched", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    configure("WARNING")
    runs = [tuple(run.split(":")) for run in args.runs.split(",")]
    for run in runs:
        if len(run) != 2 or run[0] not in ("sqlite", "postgres") or run[1] not in SHAPES:
            parser.error(f"bad run {':'.join(run)!r}: want sqlite|postgres:embedded|scale-out")
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "stores": {},
    }
    print(json.dumps(results["machine"]))
    for kind, shape in runs:
        results["stores"][f"{kind} {shape}"] = bench_store(kind, shape, args)
    results["bench_rss_peak_mib"] = round(rss_peak_mib(), 1)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
