"""Overload benchmark: does the system answer a storm in time, and how fast does it recover?

    uv run python bench/overload.py                    # SQLite and PostgreSQL
    uv run python bench/overload.py --stores postgres --seconds 15

For each store, against one `muster serve` process on loopback (projections inside):
1. storm: `--tablets` tablets each sending `--batch`-item offline batches back to back for
   `--seconds` (every item a new record: a stranger's badge, refused and kept, answered in
   its batch as `"status": "rejected"`); the answer mix of the batches (2xx / 429 / 503 /
   5xx / client timeout at 30 s) and the slowest answer;
2. recovery: from the moment the storm stops sending, a single check-in every 100 ms until
   one is answered 2xx — the time that took;
3. before the storm, on the quiet system: 500 tablets sending one check-in each at the same
   moment: answer mix (a `2xx rejected` is a check-in the rules refused), p50 and p99.

Nothing here asserts: it measures and prints. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bootstrap import build  # noqa: E402
from bench.checkin import (  # noqa: E402
    Pairs,
    Processes,
    fresh_store,
    load_bench_plant,
    machine,
    pct,
    rejected_in,
)

TIMEOUT_S = 30


def load_average() -> str:
    """The machine's load average now, as `uptime` words it."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return f"load {one} {five} {fifteen}"


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def burst_file(out: str, burst: int) -> str:
    """`x.json` → `x-2.json`: one profile per burst, so the first (cold) one compares with
    the later (warm) ones."""
    path = Path(out)
    return str(path.with_name(f"{path.stem}-{burst}{path.suffix}"))


def start_profile(processes: Processes, out: str | None) -> subprocess.Popen[bytes] | None:
    """py-spy recording the web process (its Python threads, native frames off) into `out`."""
    if out is None:
        return None
    pid = processes.procs[-1][1].pid
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--nonblocking",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--threads",
            "--gil",
            "--output",
            out,
            "--format",
            "speedscope" if out.endswith(".json") else "flamegraph",
        ],
    )


def kind_of(status: int | str) -> str:
    if isinstance(status, str):
        return status
    if status >= 500 and status != 503:
        return "5xx"
    return str(status) if status in (429, 503) else f"{status // 100}xx"


async def post(
    session: aiohttp.ClientSession, url: str, token: str, body: dict[str, Any]
) -> tuple[int | str, float, int]:
    """The answer's status, the seconds it took, and how many check-ins it refused."""
    started = time.perf_counter()
    try:
        async with session.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
        ) as reply:
            data = await reply.read()
            refused = rejected_in(data) if 200 <= reply.status < 300 else 0
            return reply.status, time.perf_counter() - started, refused
    except TimeoutError:
        return "timeout", time.perf_counter() - started, 0
    except aiohttp.ClientError as exc:
        return type(exc).__name__, time.perf_counter() - started, 0


async def storm(
    session: aiohttp.ClientSession, base: str, tokens: list[str], sid: str, args: argparse.Namespace
) -> tuple[Counter[str], list[float], float]:
    answers: Counter[str] = Counter()
    took: list[float] = []
    stop_at = time.monotonic() + args.seconds

    async def tablet(n: int) -> None:
        sent = 0
        while time.monotonic() < stop_at:
            items = [
                {
                    "client_event_id": f"storm-{n}-{sent}-{i}",
                    "session_id": sid,
                    "method": "badge",
                    "badge_uid": f"STRANGER-{n}-{sent}-{i}",
                }
                for i in range(args.batch)
            ]
            sent += 1
            status, seconds, _ = await post(
                session, f"{base}/api/v1/checkins/batch", tokens[n % len(tokens)], {"items": items}
            )
            answers[kind_of(status)] += 1
            took.append(seconds)
            if status in (429, 503):
                await asyncio.sleep(0.5)  # a tablet honours Retry-After loosely

    tasks = [asyncio.create_task(tablet(n)) for n in range(args.tablets)]
    await asyncio.sleep(args.seconds)
    recovery = await recover(session, base, tokens[0], sid)
    await asyncio.gather(*tasks)
    return answers, took, recovery


async def recover(session: aiohttp.ClientSession, base: str, token: str, sid: str) -> float:
    """Seconds from the storm's end until a single check-in is answered 2xx."""
    ended = time.monotonic()
    while True:
        body = {
            "client_event_id": str(uuid.uuid4()),
            "session_id": sid,
            "method": "badge",
            "badge_uid": f"PROBE-{uuid.uuid4().hex[:8]}",
        }
        status, _, _ = await post(session, f"{base}/api/v1/checkins", token, body)
        if isinstance(status, int) and 200 <= status < 300:  # a stranger: refused, kept, 201
            return time.monotonic() - ended
        await asyncio.sleep(0.1)


async def singles(
    session: aiohttp.ClientSession, base: str, tokens: list[str], pairs: Pairs, count: int
) -> tuple[Counter[str], list[float]]:
    bodies = [
        {
            "client_event_id": str(uuid.uuid4()),
            "session_id": sid,
            "method": "badge",
            "badge_uid": badge,
        }
        for sid, badge in pairs.take(count)
    ]
    shots = await asyncio.gather(
        *(
            post(session, f"{base}/api/v1/checkins", tokens[i % len(tokens)], body)
            for i, body in enumerate(bodies)
        )
    )
    mix = Counter(kind_of(s) + (" rejected" if refused else "") for s, _, refused in shots)
    return mix, [t for _, t, _ in shots]


async def drive(processes: Processes, plant: Any, args: argparse.Namespace) -> dict[str, Any]:
    base = processes.urls[0]
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await processes.wait(session)
        pairs = Pairs(plant, set())
        sid = next(iter(plant.pairs))
        server = processes.procs[-1][1].pid
        await asyncio.sleep(args.settle)
        for burst in range(1, args.repeat + 1):
            profiler = start_profile(
                processes, burst_file(args.profile, burst) if args.profile else None
            )
            cpu_before = cpu_seconds(server)
            single_mix, latencies = await singles(
                session, base, plant.device_tokens, pairs, args.singles
            )
            # the server's CPU for the burst and what follows it (projections, followers)
            await asyncio.sleep(2)
            cpu = cpu_seconds(server) - cpu_before
            print(
                f"  {args.singles} simultaneous check-ins: "
                + ", ".join(f"{k} {v}" for k, v in sorted(single_mix.items()))
                + f"; p50 {pct(latencies, 50) * 1000:.0f} ms, "
                + f"p99 {pct(latencies, 99) * 1000:.0f} ms; server CPU {cpu:.2f} s; "
                + load_average(),
                flush=True,
            )
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(60)
        if not args.storm:
            return {"singles": dict(single_mix), "singles_p99_ms": round(pct(latencies, 99) * 1000)}
        answers, took, recovery = await storm(session, base, plant.device_tokens, sid, args)
        mix = ", ".join(f"{k} {v}" for k, v in sorted(answers.items()))
        print(
            f"  storm: {args.tablets} tablets x {args.batch}-item batches for {args.seconds}s: "
            f"{mix}; slowest answer {max(took):.1f}s; recovered in {recovery:.2f}s",
            flush=True,
        )
    return {
        "storm": dict(answers),
        "storm_slowest_s": round(max(took), 2),
        "recovery_s": round(recovery, 2),
        "singles": dict(single_mix),
        "singles_p50_ms": round(pct(latencies, 50) * 1000),
        "singles_p99_ms": round(pct(latencies, 99) * 1000),
    }


def bench_store(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n== {kind}", flush=True)
    store = fresh_store(kind, "overload")
    muster = build(store.settings)
    try:
        plant = load_bench_plant(muster, args.employees, args.sessions, seed=7)
    finally:
        muster.close()
    processes = Processes(store, "embedded", 1)
    try:
        return asyncio.run(drive(processes, plant, args))
    finally:
        processes.stop()
        store.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--tablets", type=int, default=50)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1, help="bursts of singles, 2 s apart")
    parser.add_argument(
        "--settle",
        type=float,
        default=0,
        help="seconds from the server's first answer to the burst",
    )
    parser.add_argument("--storm", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--profile",
        help="py-spy output of the web process (.svg or .json), one file per burst (x-1.json …)",
    )
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    print(machine())
    for kind in args.stores:
        bench_store(kind, args)


if __name__ == "__main__":
    main()
