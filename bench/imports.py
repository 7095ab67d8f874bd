"""Import, conflict and compliance benchmark on SQLite and PostgreSQL.

    uv run python bench/imports.py                       # both stores
    uv run python bench/imports.py --stores sqlite --employees 2000 --sessions 400
    uv run python bench/imports.py --stores sqlite --profile sessions   # where its time goes

For each store it builds a fresh Muster, generates a plant's files (org tree, positions,
courses, `--employees` people, `--sessions` sessions spread over the coming year with 30
people each, and attendance for the first half of them) and times each `muster import` step
as the importer runs it — read, check every row, save all in one transaction, and wait until
the read models show it. Then it times the conflict check of one session against the year
(`GET /api/v1/conflicts`' work: the ±7-day planning window, every rule, free slots) and the
compliance matrix of the whole plant group. Nothing here asserts; figures go to
docs/benchmarks.md.

The process settles its heap after wiring as `muster serve` does (`settle_heap`; `--no-settle`
leaves the collector as Python starts it), and counts the collector's full passes that fall
inside the conflict checks.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql

from app.bootstrap import build
from app.demo.files import POSITIONS, SESSION_COLUMNS, courses_csv, positions_csv, to_csv
from app.deployment import settle_heap
from app.domain.compliance import standing  # noqa: F401 - the rule the matrix runs
from app.services.compliance import matrix
from app.services.planning import SLOT_HORIZON, PlanningWindow, sitting_of
from app.settings import Settings

PG = "postgresql://postgres@127.0.0.1:5432/test"
CST = timezone(timedelta(hours=8))


def files(employees: int, sessions: int, seed: int = 5) -> dict[str, str]:
    rng = random.Random(seed)
    org = [("G", "集团", "group", ""), ("C", "公司", "company", "G")]
    teams: dict[str, list[str]] = {}
    for p in (1, 2):
        org.append((f"P{p}", f"{p}厂", "plant", "C"))
        for w in range(5):
            org.append((f"P{p}-W{w}", f"车间{w}", "workshop", f"P{p}"))
            for t in range(10):
                code = f"P{p}-W{w}-T{t}"
                org.append((code, f"{t}班", "team", f"P{p}-W{w}"))
                teams[code] = []
    team_codes = list(teams)
    people = []
    for n in range(employees):
        team = team_codes[n % len(team_codes)]
        no = f"E{100000 + n}"
        teams[team].append(no)
        people.append((no, f"员工{n}", team, rng.choice(POSITIONS)[0], f"B{n:08d}"))
    start = datetime.now(CST).replace(hour=8, minute=0, second=0, microsecond=0) + timedelta(days=1)
    course_codes = [line.split(",")[0] for line in courses_csv().splitlines()[1:]]
    rows, attendance = [], []
    for n in range(sessions):
        plant = 1 + n % 2
        day = start + timedelta(days=(n // 16) * 365 // max(sessions // 16, 1))
        slot = (n // 2) % 8
        begins = day + timedelta(hours=2 * (slot // 4), minutes=0)
        room = f"室{slot % 4}"
        begins = day + timedelta(hours=2 * (slot // 4))
        ends = begins + timedelta(minutes=90)
        pool = [no for t in team_codes if t.startswith(f"P{plant}-") for no in teams[t][:3]]
        roster = rng.sample(pool, 30)
        code = f"B{n:05d}"
        rows.append(
            (
                code,
                rng.choice(course_codes),
                f"P{plant}",
                room,
                begins.isoformat(),
                ends.isoformat(),
                f"讲师{n % 40}",
                ";".join(roster),
                40,
            )
        )
        if n < sessions // 2:
            attendance += [(code, no, begins.isoformat(), "paper", "") for no in roster[:20]]
    return {
        "org": to_csv(["code", "name", "kind", "parent_code"], org),
        "positions": positions_csv(),
        "courses": courses_csv(),
        "employees": to_csv(
            ["employee_no", "name", "org_code", "position_code", "badge_uid"], people
        ),
        "sessions": to_csv(
            SESSION_COLUMNS,
            rows,
        ),
        "attendance": to_csv(
            ["session_code", "employee_no", "checked_in_at", "method", "note"], attendance
        ),
    }


def settings_for(store: str, tmp: Path) -> tuple[Settings, str | None]:
    if store == "sqlite":
        return Settings(store=f"sqlite:///{tmp / 'bench.db'}", var_dir=tmp, secret_key="b"), None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    return Settings(store=PG, store_schema=schema, var_dir=tmp, secret_key="b"), schema


class FullPasses:
    """The garbage collector's full (generation 2) passes while it is installed: how many,
    and the longest, in ms."""

    def __init__(self) -> None:
        self.count, self.longest_ms, self._began = 0, 0.0, 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.count += 1
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - self._began) * 1000)


def run(
    store: str,
    employees: int,
    sessions: int,
    profile: str = "",
    settle: bool = True,
    skip: tuple[str, ...] = (),
) -> dict[str, float]:
    out: dict[str, float] = {}
    data = files(employees, sessions)
    with tempfile.TemporaryDirectory() as tmp:
        settings, schema = settings_for(store, Path(tmp))
        muster = build(settings)
        if settle:
            settle_heap()
        try:
            for kind, text in data.items():
                if kind in skip:
                    continue
                profiler = cProfile.Profile() if kind == profile else None
                started, cpu = time.perf_counter(), time.process_time()
                if profiler is not None:
                    profiler.enable()
                result = muster.imports.run(kind, text.encode(), actor="bench")
                out[kind] = time.perf_counter() - started
                if profiler is not None:
                    profiler.disable()
                    stats = pstats.Stats(profiler).strip_dirs()
                    stats.sort_stats("cumulative").print_stats(25)
                    stats.sort_stats("tottime").print_stats(12)
                out[f"{kind} cpu"] = time.process_time() - cpu
                assert result.applied, result.errors[:3]
                print(
                    f"  {store:8} {kind:10} {result.rows:6} rows {out[kind]:7.2f} s "
                    f"(this process's CPU {out[f'{kind} cpu']:.2f} s)"
                )
            again = time.perf_counter()
            muster.imports.run("employees", data["employees"].encode(), actor="bench")
            out["employees again"] = time.perf_counter() - again
            ids = [
                r["id"] for r in muster.store.fetch("SELECT id FROM sessions ORDER BY starts_at")
            ]
            samples, cpu_samples = [], []
            passes = FullPasses()
            gc.callbacks.append(passes)
            for sid in random.Random(1).sample(ids, 30):
                began, cpu = time.perf_counter(), time.process_time()
                sitting = sitting_of(muster.store, sid)
                assert sitting is not None
                window = PlanningWindow.load(
                    muster.store,
                    sitting.starts_at - SLOT_HORIZON,
                    sitting.ends_at + SLOT_HORIZON,
                    sitting.roster,
                )
                window.check(sitting)
                window.free_slots(sitting)
                samples.append(time.perf_counter() - began)
                cpu_samples.append(time.process_time() - cpu)
            gc.callbacks.remove(passes)
            out["conflict full gc passes"] = passes.count
            out["conflict longest gc pass ms"] = passes.longest_ms
            out["conflict p50 ms"] = statistics.median(samples) * 1000
            out["conflict max ms"] = max(samples) * 1000
            out["conflict cpu p50 ms"] = statistics.median(cpu_samples) * 1000
            path = muster.store.fetch_one("SELECT path FROM org_units WHERE code = 'G'")
            assert path is not None
            began, cpu = time.perf_counter(), time.process_time()
            result_matrix = matrix(muster.store, "G", path["path"], datetime.now(UTC).date())
            out["matrix s"] = time.perf_counter() - began
            out["matrix cpu s"] = time.process_time() - cpu
            out["matrix rows"] = len(result_matrix["rows"])
        finally:
            muster.close()
            if schema:
                with psycopg.connect(PG, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=2_000)
    parser.add_argument("--profile", default="", help="an import kind to profile (cProfile)")
    parser.add_argument(
        "--no-settle", action="store_true", help="leave the garbage collector as Python starts"
    )
    parser.add_argument("--skip", default="", help="import kinds to leave out, e.g. attendance")
    args = parser.parse_args()
    for store in args.stores.split(","):
        skip = tuple(k for k in args.skip.split(",") if k)
        figures = run(store, args.employees, args.sessions, args.profile, not args.no_settle, skip)
        both = figures["employees"] + figures["sessions"]
        print(
            f"{store}: employees + sessions {both:.1f} s; "
            + ", ".join(f"{k} {v:.2f}" for k, v in figures.items())
        )


if __name__ == "__main__":
    main()
