"""The demo plant: a group with two plants, 300 workers, 12 courses, a year of training
history and today's sessions — all loaded through the import, from files."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.bootstrap import Muster
from app.demo import files
from app.demo.files import DATA, ROOMS, SESSION_COLUMNS, TRAINERS, plant_of, to_csv
from app.demo.metrics import demo_metrics_csv
from app.domain.ids import natural_id
from app.domain.training import SessionStatus

ACTOR = "demo"
DEMO_USERS = [
    ("admin", "admin", "XC", "muster-admin"),
    ("hr", "hr", "XC", "muster-hr"),
    ("sz1-hr", "hr", "SZ1", "muster-sz1"),
]


class DemoImportError(RuntimeError):
    """A demo file did not import: the demo's files and the importer disagree."""


@dataclass
class DemoPlant:
    """What the simulator needs: device tokens per plant and the live sessions."""

    device_tokens: dict[str, str]
    sessions: list[dict[str, Any]]
    badges: dict[str, str]


def _import(muster: Muster, kind: str, path: Path) -> None:
    result = muster.imports.run(kind, path.read_bytes(), filename=path.name, actor=ACTOR)
    if not result.applied:
        raise DemoImportError(f"{path}: {[(e.line, e.column, e.key) for e in result.errors]}")


def load(muster: Muster, employees: int = 300, seed: int = 7) -> DemoPlant:
    """Import the demo organisation (an upsert: a reused database stays as it was), then
    (re)issue devices and schedule today's live sessions."""
    out = muster.settings.var_dir / "demo-import"
    out.mkdir(parents=True, exist_ok=True)
    for kind in ("org", "positions", "courses"):
        _import(muster, kind, DATA / f"{kind}.csv")
    people = files.employees(employees, seed)
    if employees == files.STATIC_EMPLOYEES:
        _import(muster, "employees", DATA / "employees.csv")
    else:
        (out / "employees.csv").write_text(files.employees_csv(people), encoding="utf-8")
        _import(muster, "employees", out / "employees.csv")
    _load_history(muster, people, out)
    app = muster.app
    for login, role, scope, password in DEMO_USERS:
        app.add_user(login, role, scope, ACTOR, password=password)
    tokens = {}
    for plant, rooms in ROOMS.items():
        for i, room in enumerate(rooms):
            tokens[room] = app.register_device(
                f"{plant}-tablet-{i + 1}", room, plant, "tablet", ACTOR
            )
    sessions = _schedule_wave(muster, people, random.Random(seed), out)
    return DemoPlant(tokens, sessions, {p["employee_no"]: p["badge_uid"] for p in people})


def _load_history(muster: Muster, people: list[dict[str, str]], out: Path) -> None:
    """Past sittings of the mandatory courses and who attended them (paper records)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    sessions, attendance = files.history(people, today)
    (out / "history-sessions.csv").write_text(sessions, encoding="utf-8")
    (out / "history-attendance.csv").write_text(attendance, encoding="utf-8")
    _import(muster, "sessions", out / "history-sessions.csv")
    _import(muster, "attendance", out / "history-attendance.csv")
    _load_metrics(muster, people, sessions, attendance, out)
    for line in sessions.splitlines()[1:]:
        _close(muster, natural_id("session", line.split(",", 1)[0]))


def _load_metrics(
    muster: Muster, people: list[dict[str, str]], sessions: str, attendance: str, out: Path
) -> None:
    """A year of production figures in which quality training really cuts defects and the
    other courses change nothing (imported once: a restart keeps the figures it has)."""
    if muster.store.fetch_one("SELECT id FROM metrics LIMIT 1") is not None:
        return
    today = datetime.now(UTC).astimezone(files.PLANT_TZ).date()
    path = out / "metrics.csv"
    path.write_text(demo_metrics_csv(people, sessions, attendance, today), encoding="utf-8")
    _import(muster, "metrics", path)


def _close(muster: Muster, session_id: Any) -> None:
    session = muster.app.get_or_none(session_id)
    if session is not None and session.status is not SessionStatus.CLOSED:
        muster.app.end_session(session_id, ACTOR)


def _schedule_wave(
    muster: Muster, people: list[dict[str, str]], rng: random.Random, out: Path
) -> list[dict[str, Any]]:
    """Seven sessions starting around now (several running at once), plus the day's others."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    wave = now.strftime("%Y%m%d%H%M")
    by_plant: dict[str, list[dict[str, str]]] = {"SZ1": [], "SZ2": []}
    for p in people:
        by_plant[plant_of(p)].append(p)
    plan = [  # (plant, room index, course, start offset minutes, length minutes)
        ("SZ1", 0, "SAFE-101", -8, 60),
        ("SZ1", 1, "ROBOT-301", -4, 90),
        ("SZ1", 2, "LEAN-5S", 2, 60),
        ("SZ1", 3, "FORK-201", 6, 90),
        ("SZ2", 0, "CHEM-120", -6, 60),
        ("SZ2", 1, "QUAL-110", 0, 60),
        ("SZ2", 2, "PPE-140", 9, 45),
        ("SZ1", 0, "FIRE-102", 120, 45),
        ("SZ2", 0, "ESD-220", 150, 45),
        ("SZ1", 1, "AID-150", -180, 120),
    ]
    sessions, rows = [], []
    for n, (plant, room_index, course, offset, length) in enumerate(plan):
        # a small demo (`--employees`) plans rosters of whoever the plant has
        here, there = by_plant[plant], by_plant["SZ2" if plant == "SZ1" else "SZ1"]
        roster = rng.sample(here, min(len(here), rng.randint(24, 40)))
        if n % 3 == 0:  # cross-plant trainees
            roster += rng.sample(there, min(len(there), 3))
        starts = now + timedelta(minutes=offset)
        code = f"{wave}-{n + 1:02d}"
        numbers = [p["employee_no"] for p in roster]
        rows.append(
            (
                code,
                course,
                plant,
                ROOMS[plant][room_index],
                starts.isoformat(),
                (starts + timedelta(minutes=length)).isoformat(),
                rng.choice(TRAINERS),
                ";".join(numbers),
                "",
            )
        )
        sessions.append(
            {
                "id": str(natural_id("session", code)),
                "code": code,
                "plant": plant,
                "room": ROOMS[plant][room_index],
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=length),
                "roster": numbers,
                "offset": offset,
            }
        )
    # A restart within the same minute finds this wave already scheduled: the import is an
    # upsert and changes nothing.
    (out / "sessions.csv").write_text(to_csv(SESSION_COLUMNS, rows), encoding="utf-8")
    _import(muster, "sessions", out / "sessions.csv")
    for s in sessions:
        session = muster.app.get_or_none(natural_id("session", s["code"]))
        if s.pop("offset") <= 0 and session.status is SessionStatus.SCHEDULED:
            muster.app.start_session(session.id, ACTOR)
        if s["ends_at"] <= now:
            _close(muster, session.id)
    return sessions
