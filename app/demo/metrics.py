"""Synthetic production figures with a known training effect (demo, tests, benchmarks).

Each worker has their own level; each team shares a daily swing (a line stopped, a new
order) and the whole plant drifts slowly, so the untrained peers carry the same ups and
downs the trained see. From the day after their training, trained workers produce
`output_lift` more per hour and make `defect_change` fewer defects per unit.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

HOURS = 8.0


@dataclass(frozen=True)
class Worker:
    employee_no: str
    team: str


@dataclass(frozen=True)
class TrueEffect:
    """What training really does to a trained worker (0.15: +15%; -0.2: -20%)."""

    output_lift: float = 0.0
    defect_change: float = 0.0


def simulate(
    workers: list[Worker],
    trained_on: Mapping[str, list[tuple[date, TrueEffect]]],
    start: date,
    days: int,
    *,
    seed: int = 7,
    source: str = "mes",
) -> Iterator[dict[str, object]]:
    """Daily lines `{"employee_no", "date", "output_units", "defects", "hours", "source"}`
    for every worker, in date order. `trained_on[no]` lists (training day, effect)."""
    rng = np.random.default_rng(seed)
    level = rng.normal(100.0, 12.0, len(workers)).clip(50, None)
    defect_base = rng.uniform(0.015, 0.03, len(workers))
    teams = sorted({w.team for w in workers})
    team_index = np.array([teams.index(w.team) for w in workers])
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day.weekday() == 6:  # Sundays off
            continue
        swing = rng.normal(1.0, 0.04, len(teams))[team_index]
        drift = 1.0 + 0.0004 * offset
        rate = level * swing * drift * rng.normal(1.0, 0.05, len(workers))
        defect_rate = defect_base * rng.normal(1.0, 0.05, len(workers))
        for i, worker in enumerate(workers):
            lift, change = 1.0, 1.0
            for trained_day, effect in trained_on.get(worker.employee_no, ()):
                if day > trained_day:
                    lift *= 1.0 + effect.output_lift
                    change *= 1.0 + effect.defect_change
            output = round(float(rate[i]) * lift * HOURS)
            defects = int(rng.poisson(max(output * float(defect_rate[i]) * change, 0.0)))
            yield {
                "employee_no": worker.employee_no,
                "date": day.isoformat(),
                "output_units": output,
                "defects": min(defects, output),
                "hours": HOURS,
                "source": source,
            }


#: what the demo's courses really do: quality training cuts defects, robot training lifts
#: output; every other course (safety basics among them) changes neither
DEMO_EFFECTS = {
    "QUAL-110": TrueEffect(output_lift=0.04, defect_change=-0.20),
    "ROBOT-301": TrueEffect(output_lift=0.10, defect_change=-0.05),
}
METRICS_COLUMNS = ("employee_no", "date", "output_units", "defects", "hours", "source")


def demo_metrics_csv(
    people: list[dict[str, str]], sessions_csv: str, attendance_csv: str, today: date
) -> str:
    """A year of daily figures for the demo plant, as the metrics import file: the trained
    (from the history files) carry their course's true effect from the day after."""
    course_of = {r["code"]: r["course_code"] for r in csv.DictReader(io.StringIO(sessions_csv))}
    trained: dict[str, list[tuple[date, TrueEffect]]] = {}
    for row in csv.DictReader(io.StringIO(attendance_csv)):
        effect = DEMO_EFFECTS.get(course_of.get(row["session_code"], ""))
        if effect is not None:
            day = datetime.fromisoformat(row["checked_in_at"]).date()
            trained.setdefault(row["employee_no"], []).append((day, effect))
    workers = [Worker(p["employee_no"], p["org_code"]) for p in people]
    out = io.StringIO()
    writer = csv.DictWriter(out, METRICS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(simulate(workers, trained, today - timedelta(days=365), 365))
    return out.getvalue()
