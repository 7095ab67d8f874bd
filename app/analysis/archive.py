"""An employee's own training archive: their sessions, how attentive the room was, and
their own figures around each course they attended (the phone page shows it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, tzinfo

from app.analysis.effect import training_day
from app.stores.base import ReadStore


@dataclass(frozen=True)
class Day:
    """One day of the person's own figures: output per hour worked (per day when the day
    has no hours) and defects per unit."""

    day: str
    output: float | None
    defect_rate: float | None


@dataclass
class CourseCurve:
    """The person's figures from `window_days` before to after their first sitting."""

    course: str
    name: str
    trained_on: str
    days: list[Day] = field(default_factory=list)

    def mean(self, side: int, attr: str) -> float | None:
        """The mean of `attr` before (side 0) or after (side 1) the training day."""
        values = [
            v
            for d in self.days
            if (d.day < self.trained_on) == (side == 0) and d.day != self.trained_on
            if (v := getattr(d, attr)) is not None
        ]
        return sum(values) / len(values) if values else None


@dataclass
class Archive:
    employee_no: str
    sessions: list[dict[str, object]]
    courses: list[CourseCurve]


def employee_archive(
    store: ReadStore, employee_no: str, tz: tzinfo, window_days: int = 30
) -> Archive:
    """Every session the person was expected at or attended, newest first, and their curve
    around each course attended (days in the plant's clock `tz`)."""
    sessions = store.fetch(
        "SELECT s.id, s.code, s.course, c.name AS course_name, s.starts_at, a.status, "
        "a.checked_in_at, (SELECT AVG(p.attention_share) FROM photos p WHERE p.session_id = s.id "
        "AND p.kind = 'room' AND p.attention_share IS NOT NULL) AS attention "
        "FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "LEFT JOIN courses c ON c.code = s.course "
        "WHERE a.employee_no = :no ORDER BY s.starts_at DESC",
        {"no": employee_no},
    )
    first: dict[str, dict[str, object]] = {}
    for s in sorted(sessions, key=lambda s: str(s["starts_at"])):
        if s["checked_in_at"] is not None:
            first.setdefault(str(s["course"]), s)
    curves = []
    for course, s in first.items():
        t = training_day(str(s["starts_at"]), tz)
        rows = store.fetch(
            "SELECT day, SUM(output_units) AS output, SUM(hours) AS hours, "
            "SUM(defects) AS defects FROM metrics WHERE employee_no = :no "
            "AND day_no BETWEEN :lo AND :hi GROUP BY day ORDER BY day",
            {"no": employee_no, "lo": t - window_days, "hi": t + window_days},
        )
        if not rows:
            continue
        curve = CourseCurve(
            course, str(s["course_name"] or course), date.fromordinal(t).isoformat()
        )
        for r in rows:
            output, hours, defects = r["output"], r["hours"], r["defects"]
            per = output / hours if output is not None and hours else output
            rate = defects / output if defects is not None and output else None
            curve.days.append(Day(str(r["day"]), per, rate))
        curves.append(curve)
    return Archive(employee_no, [dict(s) for s in sessions], curves)
