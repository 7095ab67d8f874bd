"""Training effect: did a course change output or defect rate, for whom?

Trained: employees in the org subtree who attended a session of the course (checked in
live or brought over by import), from the day of the first session they attended.
Peers: employees of the same team (org unit) and position not yet trained by the end of
that person's after-window, over the same calendar days. The metric:

- `output`: units per hour worked when every figure in the comparison carries hours,
  otherwise units per day worked (the report says which);
- `defect_rate`: defects per unit produced.

Everything is read from the read models in a worker thread; the numbers go to `did`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, tzinfo

import numpy as np

from app.analysis.did import GROUP_RESAMPLES, MIN_SAMPLE, Comparison, Effect, estimate
from app.analysis.windows import Metric, Side, window_sums
from app.stores.base import ReadStore, from_iso

#: the plant's calendar: a training at 07:30 in Suzhou happened on that Suzhou day
#: a person converted when their own effect moved beyond this (5%) the good way
CONVERSION_THRESHOLD = 0.05
GROUPINGS = ("session", "department", "person")


@dataclass(frozen=True)
class EffectQuery:
    """What to compare: a course, an org subtree, a metric and the window length."""

    course: str
    org_path: str
    metric: Metric = Metric.OUTPUT
    window_days: int = 30
    conversion_threshold: float = CONVERSION_THRESHOLD
    #: the plant's clock (`Settings.plant_tz`): a session's day is its day there, as the
    #: metrics' days are
    plant_tz: tzinfo = field(kw_only=True)


@dataclass(frozen=True)
class Person:
    employee_no: str
    name: str
    org_unit: str
    position: str | None
    dept: str | None


@dataclass(frozen=True)
class Training:
    """A trained person's first session of the course."""

    session_id: str
    session_code: str
    day: int


@dataclass
class GroupEffect:
    """The effect within one session, department or person."""

    key: str
    label: str
    effect: Effect


@dataclass
class EffectReport:
    """Everything the effect API, pages and exports show for one course."""

    query: EffectQuery
    unit: str
    effect: Effect
    trained_total: int
    controls: int
    excluded: dict[str, int]
    warnings: list[tuple[str, dict[str, int]]]
    likely_ineffective: bool
    participation: float | None
    attention: float | None
    groups: dict[str, list[GroupEffect]] = field(default_factory=dict)


def training_day(starts_at: str, tz: tzinfo) -> int:
    """The plant-calendar day number (plant clock `tz`) of a session's start."""
    return from_iso(starts_at).astimezone(tz).date().toordinal()


def people_in(store: ReadStore, org_path: str) -> dict[str, Person]:
    rows = store.fetch(
        "SELECT e.employee_no, e.name, e.org_unit, e.position, e.dept FROM employees e "
        "JOIN org_units ou ON ou.code = e.org_unit WHERE ou.path LIKE :prefix",
        {"prefix": org_path + "%"},
    )
    return {r["employee_no"]: Person(**r) for r in rows}


def first_trainings(store: ReadStore, course: str, tz: tzinfo) -> dict[str, Training]:
    """Each attendee's first attended session of `course` (live or imported)."""
    rows = store.fetch(
        "SELECT a.employee_no, s.id, s.code, s.starts_at FROM attendance a "
        "JOIN sessions s ON s.id = a.session_id "
        "WHERE s.course = :course AND a.checked_in_at IS NOT NULL",
        {"course": course},
    )
    first: dict[str, Training] = {}
    for r in sorted(rows, key=lambda r: str(r["starts_at"])):
        first.setdefault(
            r["employee_no"], Training(r["id"], r["code"], training_day(r["starts_at"], tz))
        )
    return first


def analyse(
    store: ReadStore, query: EffectQuery, groupings: tuple[str, ...] = GROUPINGS
) -> EffectReport:
    """The course's effect in the subtree, with its groups (sessions always: they decide
    whether the course looks ineffective; departments and people when asked)."""
    people = people_in(store, query.org_path)
    trainings = first_trainings(store, query.course, query.plant_tz)
    trained = {no: t for no, t in trainings.items() if no in people}
    w = query.window_days
    teams: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for no, p in people.items():
        teams[(p.org_unit, p.position)].append(no)

    def peers_of(no: str, t: int) -> list[str]:
        p = people[no]
        return [
            j
            for j in teams[(p.org_unit, p.position)]
            if j != no and (j not in trainings or trainings[j].day > t + w)
        ]

    peers = {no: peers_of(no, t.day) for no, t in trained.items()}
    windows = [(no, t.day) for no, t in trained.items()]
    windows += [(j, trained[no].day) for no, js in peers.items() for j in js]
    sums = window_sums(store, windows, w)
    per_hour = query.metric is Metric.OUTPUT and _all_have_hours(sums.values())

    def value(no: str, t: int, side: int) -> float | None:
        found = sums.get((no, t, side))
        return found.value(query.metric, per_hour) if found else None

    cohorts: dict[tuple[str, str | None, int], int] = {}
    trained_rows: list[tuple[str, float, float, int]] = []
    peer_rows: list[tuple[float, float, int]] = []
    used_controls: set[str] = set()
    excluded = {"no_metrics": 0, "no_peers": 0}
    for no, t in trained.items():
        b, a = value(no, t.day, 0), value(no, t.day, 1)
        if b is None or a is None or b <= 0:
            excluded["no_metrics"] += 1
            continue
        key = (people[no].org_unit, people[no].position, t.day)
        if key not in cohorts:
            cohorts[key] = len(cohorts)
            for j in peers[no]:
                cb, ca = value(j, t.day, 0), value(j, t.day, 1)
                if cb is not None and ca is not None:
                    peer_rows.append((cb, ca, cohorts[key]))
                    used_controls.add(j)
        trained_rows.append((no, b, a, cohorts[key]))
    with_peers = {k for _, _, k in peer_rows}
    excluded["no_peers"] = sum(1 for r in trained_rows if r[3] not in with_peers)
    trained_rows = [r for r in trained_rows if r[3] in with_peers]
    keys = [r[0] for r in trained_rows]
    comparison = Comparison(
        b=np.array([r[1] for r in trained_rows], dtype=float),
        a=np.array([r[2] for r in trained_rows], dtype=float),
        cohort=np.array([r[3] for r in trained_rows], dtype=np.intp),
        cb=np.array([r[0] for r in peer_rows], dtype=float),
        ca=np.array([r[1] for r in peer_rows], dtype=float),
        peer_cohort=np.array([r[2] for r in peer_rows], dtype=np.intp),
    )
    better = query.metric.higher_is_better
    threshold = query.conversion_threshold

    def effect_of(mask: np.ndarray) -> Effect:  # type: ignore[type-arg]
        return estimate(
            comparison.take(mask),
            higher_is_better=better,
            threshold=threshold,
            resamples=GROUP_RESAMPLES,
        )

    overall = estimate(comparison, higher_is_better=better, threshold=threshold)
    groups = {
        "session": _grouped(
            keys, lambda no: trained[no].session_id, lambda no: trained[no].session_code, effect_of
        )
    }
    if "department" in groupings:
        groups["department"] = _grouped(
            keys, lambda no: people[no].dept or "-", lambda no: people[no].dept or "-", effect_of
        )
    if "person" in groupings:
        groups["person"] = _people(keys, people, comparison)
    warnings = []
    if comparison.n < MIN_SAMPLE or len(used_controls) < MIN_SAMPLE:
        warnings.append(
            (
                "small_sample",
                {"trained": comparison.n, "control": len(used_controls), "minimum": MIN_SAMPLE},
            )
        )
    if excluded["no_peers"]:
        warnings.append(("no_peers", {"count": excluded["no_peers"]}))
    participation, attention = participation_and_attention(store, query.course, query.org_path)
    return EffectReport(
        query=query,
        unit=_unit(query.metric, per_hour),
        effect=overall,
        trained_total=len(trained),
        controls=len(used_controls),
        excluded=excluded,
        warnings=warnings,
        likely_ineffective=likely_ineffective(
            overall, [g.effect for g in groups["session"]], better
        ),
        participation=participation,
        attention=attention,
        groups=groups,
    )


def likely_ineffective(overall: Effect, sessions: Iterable[Effect], higher_is_better: bool) -> bool:
    """No effect across sessions: the course's interval holds zero and no session with
    enough people shows an interval wholly on the good side."""
    if overall.did is None or overall.interval_excludes_zero:
        return False

    def good(e: Effect) -> bool:
        lo, hi = e.ci95
        if lo is None or hi is None or e.n < MIN_SAMPLE:
            return False
        return lo > 0 if higher_is_better else hi < 0

    return not any(good(e) for e in sessions)


def participation_and_attention(
    store: ReadStore, course: str, org_path: str
) -> tuple[float | None, float | None]:
    """Share of rostered people in the subtree who attended the course's sessions, and the
    mean heads-up share of its analysed room photos."""
    seats = store.fetch_one(
        "SELECT COUNT(*) AS expected, "
        "SUM(CASE WHEN a.checked_in_at IS NOT NULL THEN 1 ELSE 0 END) AS came "
        "FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "JOIN employees e ON e.employee_no = a.employee_no "
        "JOIN org_units ou ON ou.code = e.org_unit "
        "WHERE s.course = :course AND a.on_roster = 1 AND ou.path LIKE :prefix",
        {"course": course, "prefix": org_path + "%"},
    )
    looks = store.fetch_one(
        "SELECT AVG(p.attention_share) AS attention FROM photos p "
        "JOIN sessions s ON s.id = p.session_id "
        "WHERE s.course = :course AND p.kind = 'room' AND p.attention_share IS NOT NULL",
        {"course": course},
    )
    expected = int(seats["expected"] or 0) if seats else 0
    participation = int(seats["came"] or 0) / expected if seats and expected else None
    attention = looks["attention"] if looks else None
    return participation, (float(attention) if attention is not None else None)


def _all_have_hours(sides: Iterable[Side]) -> bool:
    seen = False
    for side in sides:
        if side.days:
            seen = True
            if side.output_without_hours:
                return False
    return seen


def _unit(metric: Metric, per_hour: bool) -> str:
    if metric is Metric.DEFECT_RATE:
        return "defects_per_unit"
    return "units_per_hour" if per_hour else "units_per_day"


def _grouped(
    keys: list[str],
    key_of: Callable[[str], str],
    label_of: Callable[[str], str],
    effect_of: Callable[[np.ndarray], Effect],  # type: ignore[type-arg]
) -> list[GroupEffect]:
    by: dict[str, list[int]] = defaultdict(list)
    labels: dict[str, str] = {}
    for i, no in enumerate(keys):
        by[key_of(no)].append(i)
        labels[key_of(no)] = label_of(no)
    groups = []
    for key, index in sorted(by.items(), key=lambda kv: labels[kv[0]]):
        mask = np.zeros(len(keys), dtype=bool)
        mask[index] = True
        groups.append(GroupEffect(key, labels[key], effect_of(mask)))
    return groups


def _people(keys: list[str], people: dict[str, Person], c: Comparison) -> list[GroupEffect]:
    own = c.person_effects()
    cb, ca = c.peer_means()
    return [
        GroupEffect(
            no,
            people[no].name,
            Effect(
                n=1,
                before=float(c.b[i]),
                after=float(c.a[i]),
                control_before=float(cb[i]),
                control_after=float(ca[i]),
                did=float(own[i]) if np.isfinite(own[i]) else None,
                ci95=(None, None),
                conversion_rate=None,
            ),
        )
        for i, no in enumerate(keys)
    ]


def day_iso(day_number: int) -> str:
    return date.fromordinal(day_number).isoformat()
