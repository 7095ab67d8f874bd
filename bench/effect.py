"""Effect benchmark: the metrics import rate and the time of an effect report over a year.

    uv run python bench/effect.py                       # SQLite and PostgreSQL
    uv run python bench/effect.py --stores sqlite --import-days 6
    uv run python bench/effect.py --import-days 360     # the whole year through the import
    /usr/bin/time -v uv run python bench/effect.py --stores sqlite --import-days 360
    uv run python bench/effect.py --spread              # half of every team trained

For each store it
1. loads a plant of `--employees` people (200 teams, two positions) and one course taught in
   40 sessions over the year to half of them (events, through the application);
2. imports `--import-days` days of figures for everyone through the metrics import (CSV →
   checks → `MetricsRecorded` events in groups → read model caught up), a month per file,
   and reports rows/s (with fewer than 360 days the year is extrapolated: the import is
   linear in rows, each group costs the same);
3. fills the rest of the year straight into the `metrics` read model (bulk SQL; only the
   report's speed is measured on it) and times the effect report of the course for the
   whole plant (`analyse`: SQL window sums, bootstrap, session/department/person groups)
   and the course ranking the report page shows.

Nothing here asserts: it measures and prints. Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

from app.analysis.effect import EffectQuery, analyse
from app.analysis.windows import Metric
from app.bootstrap import Muster, build
from app.domain.attendance import Attendance
from app.domain.metrics import metrics_id
from app.projections.metrics_running import REFILL
from app.settings import Settings
from app.stores.base import Statement

PG = "postgresql://postgres@127.0.0.1:5432/test"
TEAMS = 200


def _muster(store: str, tmp: Path) -> Muster:
    # the PostgreSQL server processes serving this bench are found by this name (libpq)
    os.environ["PGAPPNAME"] = f"effect-bench-{os.getpid()}"
    if store == "sqlite":
        return build(Settings(store=f"sqlite:///{tmp / 'bench.db'}", var_dir=tmp, secret_key="b"))
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    return build(Settings(store=PG, store_schema=schema, var_dir=tmp, secret_key="b"))


def _plant(m: Muster, employees: int, start: date, spread: bool) -> list[str]:
    a, app = "bench", m.app
    app.register_org_unit("G", "集团", "group", None, a)
    app.register_org_unit("C", "公司", "company", "G", a)
    app.register_org_unit("P", "工厂", "plant", "C", a)
    for w in range(TEAMS // 10):
        app.register_org_unit(f"W{w}", f"车间{w}", "workshop", "P", a)
        for t in range(10):
            app.register_org_unit(f"W{w}-T{t}", f"班组{t}", "team", f"W{w}", a)
    app.register_course("C1", "标准作业", "quality", 60, None, a)
    nos = [f"E{i:05d}" for i in range(employees)]
    app.hire_employees(
        [
            {
                "employee_no": no,
                "name": no,
                "org_unit": f"W{(i % TEAMS) // 10}-T{i % 10}",
                "position": "OP" if i % 3 else "QC",
            }
            for i, no in enumerate(nos)
        ],
        a,
    )
    m.runner.wait_until_caught_up(300)
    # every other person (whole teams trained, peers from later sessions only), or with
    # `spread` half of every team (each trained person has untrained peers beside them)
    trained = [no for i, no in enumerate(nos) if (i // TEAMS if spread else i) % 2 == 0]
    for s in range(40):
        people = trained[s::40]
        starts = datetime.combine(start + timedelta(days=30 + s * 7), datetime.min.time(), UTC)
        sid = app.schedule_session(
            f"S{s}", "C1", "P", "room", "t", starts, starts + timedelta(hours=1), people, a
        )
        app.save(
            *[
                Attendance(
                    session_id=sid,
                    employee_no=no,
                    employee_name=no,
                    dept=None,
                    method="paper",
                    attendance_status="present",
                    flags=[],
                    checked_in_at=starts,
                    device_id=None,
                    device_time=None,
                    device_seq=None,
                    client_event_id=f"b-{s}-{no}",
                    reason=None,
                    evidence={},
                    actor=a,
                )
                for no in people
            ]
        )
    m.runner.wait_until_caught_up(600)
    return nos


def _server_cpu(m: Muster) -> float:
    """CPU seconds the PostgreSQL server processes serving this bench have used (0 on
    SQLite, where the database's work is this process's)."""
    if m.store.kind != "postgres":
        return 0.0
    rows = m.store.fetch(
        "SELECT pid FROM pg_stat_activity WHERE application_name = :name",
        {"name": os.environ["PGAPPNAME"]},
    )
    ticks, total = os.sysconf("SC_CLK_TCK"), 0.0
    for r in rows:
        try:
            fields = Path(f"/proc/{r['pid']}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile (or a server on another host)
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _import_rate(
    m: Muster, nos: list[str], start: date, days: int
) -> tuple[int, float, float, float]:
    """Import `days` days of figures for everyone, a month (≤ 30 days) per file as a plant
    would (the reader takes files up to 32 MB); rows, wall and CPU seconds of the imports
    (this process's, and the PostgreSQL server's for the connections of this process)."""
    rows, elapsed, cpu = 0, 0.0, 0.0
    server = _server_cpu(m)
    for first in range(0, days, 30):
        lines = ["employee_no,date,output_units,defects,hours,source"]
        for d in range(first, min(days, first + 30)):
            day = (start + timedelta(days=d)).isoformat()
            lines += [f"{no},{day},{800 + i % 50},{i % 17},8,mes" for i, no in enumerate(nos)]
        data = ("\n".join(lines) + "\n").encode()
        began, used = time.perf_counter(), time.process_time()
        result = m.imports.run("metrics", data, filename="metrics.csv", actor="bench")
        took, used = time.perf_counter() - began, time.process_time() - used
        elapsed, cpu = elapsed + took, cpu + used
        assert result.applied, result.errors[:3]
        print(
            f"  file of days {first}-{min(days, first + 30) - 1}: {took:.1f}s wall, "
            f"{used:.1f}s CPU ({elapsed:.1f}s wall so far), load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        rows += len(lines) - 1
    return rows, elapsed, cpu, _server_cpu(m) - server


def _fill(m: Muster, nos: list[str], start: date, first_day: int, days: int) -> float:
    rng = np.random.default_rng(1)
    began = time.perf_counter()
    with m.store.transaction() as tx:
        for d in range(first_day, days):
            day = start + timedelta(days=d)
            output = rng.normal(800, 60, len(nos)).round()
            rows = [
                {
                    "id": str(metrics_id(no, day.isoformat(), "mes")),
                    "no": no,
                    "day": day.isoformat(),
                    "n": day.toordinal(),
                    "o": float(output[i]),
                    "d": float(i % 17),
                }
                for i, no in enumerate(nos)
            ]
            tx.run(
                [
                    Statement(
                        "INSERT INTO metrics (id, employee_no, day, day_no, source, "
                        "output_units, defects, hours, version, updated_at) VALUES "
                        "(:id, :no, :day, :n, 'mes', :o, :d, 8, 1, '')",
                        r,
                    )
                    for r in rows
                ]
            )
        if first_day < days:  # rows went around the projection: its rollup too
            for statement in REFILL:
                tx.execute(statement)
    return time.perf_counter() - began


def run(
    store: str, employees: int, import_days: int, spread: bool = False, report: bool = True
) -> None:
    tmp = Path(tempfile.mkdtemp())
    m = _muster(store, tmp)
    try:
        start = datetime.now(UTC).date() - timedelta(days=361)
        nos = _plant(m, employees, start, spread)
        # as `muster serve` does once wired (app.deployment.settle_heap)
        gc.collect()
        gc.freeze()
        rows, elapsed, cpu, server = _import_rate(m, nos, start, import_days)
        print(
            f"{store}: metrics import {rows:,} rows in {elapsed:.1f}s wall, {cpu:.1f}s CPU of "
            f"this process = {rows / elapsed:,.0f} rows/s wall, {rows / cpu:,.0f} rows/s CPU "
            f"→ 3,600,000 rows ≈ {3_600_000 / rows * elapsed / 60:.1f} min wall here, "
            f"≈ {3_600_000 / rows * cpu / 60:.1f} min of one core; load average "
            + " ".join(f"{x:.1f}" for x in os.getloadavg()),
            flush=True,
        )
        if store == "postgres":
            print(
                f"{store}: the PostgreSQL server's processes for this bench used {server:.1f}s "
                f"CPU meanwhile ({rows / max(server, 1e-9):,.0f} rows per server CPU-second)",
                flush=True,
            )
        if not report:
            return
        filled = _fill(m, nos, start, import_days, 360)
        total = m.store.fetch_one("SELECT COUNT(*) AS n FROM metrics")
        print(f"{store}: read model filled to {total['n'] if total else 0:,} rows in {filled:.0f}s")
        for metric in (Metric.OUTPUT, Metric.DEFECT_RATE):
            began, cpu = time.perf_counter(), time.process_time()
            query = EffectQuery("C1", "/G/C/P/", metric, 30, plant_tz=m.settings.plant_tz)
            report = analyse(m.store, query)
            took, cpu = time.perf_counter() - began, time.process_time() - cpu
            print(
                f"{store}: effect report ({metric.value}, {report.effect.n:,} trained, "
                f"{report.controls:,} peers, 40 sessions, departments, people) "
                f"{took:.2f}s wall, {cpu:.2f}s CPU in this process, load "
                f"{os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        m.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--import-days", type=int, default=6)
    parser.add_argument(
        "--spread",
        action="store_true",
        help="train half of every team (more peers per trained person: a harder report)",
    )
    parser.add_argument("--import-only", action="store_true", help="no report afterwards")
    args = parser.parse_args()
    for store in args.stores.split(","):
        run(store, args.employees, args.import_days, args.spread, not args.import_only)


if __name__ == "__main__":
    main()
