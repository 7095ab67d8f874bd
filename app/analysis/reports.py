"""Reports management reads: which courses work (ranking), and participation, attention and
effect by department. Everything here runs in a worker thread over the read models."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import tzinfo

from app.analysis.did import Effect
from app.analysis.effect import GROUPINGS, EffectQuery, EffectReport, analyse
from app.analysis.windows import Metric
from app.stores.base import ReadStore


@dataclass(frozen=True)
class CourseRow:
    """One course in the ranking."""

    code: str
    name: str
    sessions: int
    effect: Effect
    likely_ineffective: bool
    participation: float | None
    attention: float | None
    warned: bool


@dataclass(frozen=True)
class DepartmentRow:
    """One department: how many came, how attentive the rooms were, and the effect."""

    code: str
    name: str
    expected: int
    attended: int
    attention: float | None
    effect: Effect | None

    @property
    def participation(self) -> float | None:
        return self.attended / self.expected if self.expected else None


#: reports are for management meetings: a minute-old analysis is fresh enough, unless new
#: figures arrived (the metrics projection moved)
CACHE_SECONDS = 60.0
_cache: OrderedDict[tuple[object, ...], tuple[float, EffectReport]] = OrderedDict()
_cache_lock = threading.Lock()


def cached_analyse(
    store: ReadStore, query: EffectQuery, groupings: tuple[str, ...] = GROUPINGS
) -> EffectReport:
    """`analyse`, remembered for a minute per store, query and metrics position."""
    row = store.fetch_one("SELECT position FROM projection_tracking WHERE name = 'metrics'")
    key = (id(store), query, groupings, row["position"] if row else 0)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    report = analyse(store, query, groupings)
    with _cache_lock:
        _cache[key] = (now, report)
        while len(_cache) > 256:
            _cache.popitem(last=False)
    return report


def courses_given(store: ReadStore, org_path: str) -> list[dict[str, object]]:
    """Courses with at least one attended session by people of the subtree."""
    return store.fetch(
        "SELECT c.code, c.name, COUNT(DISTINCT s.id) AS sessions FROM courses c "
        "JOIN sessions s ON s.course = c.code "
        "JOIN attendance a ON a.session_id = s.id AND a.checked_in_at IS NOT NULL "
        "JOIN employees e ON e.employee_no = a.employee_no "
        "JOIN org_units ou ON ou.code = e.org_unit AND ou.path LIKE :prefix "
        "GROUP BY c.code, c.name ORDER BY c.code",
        {"prefix": org_path + "%"},
    )


def course_ranking(
    store: ReadStore, org_path: str, metric: Metric, tz: tzinfo, window_days: int = 30
) -> list[CourseRow]:
    """Every course given in the subtree, best effect first (courses without a measurable
    effect last); days in the plant's clock `tz`."""
    rows = []
    for course in courses_given(store, org_path):
        query = EffectQuery(str(course["code"]), org_path, metric, window_days, plant_tz=tz)
        report = cached_analyse(store, query, ("session",))
        rows.append(
            CourseRow(
                code=str(course["code"]),
                name=str(course["name"]),
                sessions=int(str(course["sessions"])),
                effect=report.effect,
                likely_ineffective=report.likely_ineffective,
                participation=report.participation,
                attention=report.attention,
                warned=any(code == "small_sample" for code, _ in report.warnings),
            )
        )
    sign = 1.0 if metric.higher_is_better else -1.0
    return sorted(
        rows,
        key=lambda r: (r.effect.did is None, -sign * (r.effect.did or 0.0), r.code),
    )


def by_department(
    store: ReadStore, org_path: str, report: EffectReport | None
) -> list[DepartmentRow]:
    """Participation and attention per department (workshop) of the subtree, for one course
    or all, with the course's effect per department when a report is given."""
    course = report.query.course if report else None
    params = {"prefix": org_path + "%", "course": course or ""}
    filter_course = "AND s.course = :course " if course else ""
    seats = store.fetch(
        "SELECT e.dept AS code, ou.name AS name, COUNT(*) AS expected, "
        "SUM(CASE WHEN a.checked_in_at IS NOT NULL THEN 1 ELSE 0 END) AS attended "
        "FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "JOIN employees e ON e.employee_no = a.employee_no "
        "JOIN org_units eu ON eu.code = e.org_unit AND eu.path LIKE :prefix "
        "LEFT JOIN org_units ou ON ou.code = e.dept "
        f"WHERE a.on_roster = 1 {filter_course}"
        "GROUP BY e.dept, ou.name ORDER BY e.dept",
        params,
    )
    looks = store.fetch(
        "SELECT e.dept AS code, AVG(p.attention_share) AS attention "
        "FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "JOIN employees e ON e.employee_no = a.employee_no "
        "JOIN org_units eu ON eu.code = e.org_unit AND eu.path LIKE :prefix "
        "JOIN photos p ON p.session_id = a.session_id AND p.kind = 'room' "
        f"WHERE a.checked_in_at IS NOT NULL AND p.attention_share IS NOT NULL {filter_course}"
        "GROUP BY e.dept",
        params,
    )
    attention = {r["code"]: r["attention"] for r in looks}
    effects = {g.key: g.effect for g in report.groups["department"]} if report else {}
    return [
        DepartmentRow(
            code=str(r["code"] or "-"),
            name=str(r["name"] or r["code"] or "-"),
            expected=int(r["expected"] or 0),
            attended=int(r["attended"] or 0),
            attention=float(attention[r["code"]]) if attention.get(r["code"]) is not None else None,
            effect=effects.get(str(r["code"] or "-")),
        )
        for r in seats
    ]
