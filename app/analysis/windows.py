"""Per-person metric windows around a day, summed in SQL (the same SQL on both stores).

A window is (employee, day t): the `days` before t and the `days` after t, the training day
itself left out. Each side is the difference of two rows of running sums (decision 0130), so
a year of a plant's figures never leaves the database and is not even read; Python receives a
few numbers per person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.projections.metrics_running import (
    AS_DEFECTS,
    AS_HOURS,
    AS_OUTPUT,
    COLUMNS,
    is_stale,
    refresh,
)
from app.stores.base import ReadStore, Row, Statement

#: windows per query (two bound parameters each; far below either store's limit)
WINDOW_CHUNK = 2000


class Metric(StrEnum):
    """What the effect is measured on."""

    OUTPUT = "output"
    DEFECT_RATE = "defect_rate"

    @property
    def higher_is_better(self) -> bool:
        return self is Metric.OUTPUT


@dataclass(frozen=True)
class Side:
    """One side of a window: the sums its days add up to."""

    days: int
    output: float
    output_hours: float
    output_without_hours: int
    defects: float
    defect_base: float

    def value(self, metric: Metric, per_hour: bool) -> float | None:
        """The metric over these days: output per hour worked (or per day worked), or
        defects per unit produced; None where the days hold no such figures."""
        if metric is Metric.DEFECT_RATE:
            return self.defects / self.defect_base if self.defect_base > 0 else None
        if per_hour:
            return self.output / self.output_hours if self.output_hours > 0 else None
        return self.output / self.days if self.days > 0 else None


Window = tuple[str, int]  # (employee_no, training day number)


def window_sums(
    store: ReadStore, windows: Iterable[Window], days: int
) -> dict[tuple[str, int, int], Side]:
    """{(employee_no, t, side): Side} with side 0 before t and 1 after t; a side without a
    single figure is left out. Read from the running sums (`metrics_running`): four rows
    per window however many days it spans (brought up to date first where an import left
    them out of date)."""
    if is_stale(store):
        refresh(store)
    unique = sorted(set(windows))  # a person's windows side by side: the index read in order
    queries = [
        _running_query(unique[i : i + WINDOW_CHUNK], days)
        for i in range(0, len(unique), WINDOW_CHUNK)
    ]
    edges: dict[tuple[str, int, int], dict[int, Row]] = {}
    for rows in store.fetch_many(queries, lookups=True):
        for r in rows:
            edges.setdefault((r["employee_no"], int(r["t"]), int(r["side"])), {})[
                int(r["edge"])
            ] = r
    sums: dict[tuple[str, int, int], Side] = {}
    for key, pair in edges.items():
        d = {c: _at(pair.get(1), c) - _at(pair.get(0), c) for c in COLUMNS}
        if d["c_rows"] > 0:
            sums[key] = Side(
                days=round(d["c_days"]),
                output=d["c_output"],
                output_hours=d["c_output_hours"],
                output_without_hours=round(d["c_without_hours"]),
                defects=d["c_defects"],
                defect_base=d["c_defect_base"],
            )
    return sums


def _at(row: Row | None, column: str) -> float:
    """A running sum at an edge; no row: nothing before it."""
    return float(row[column] or 0) if row is not None else 0.0


def _running_query(chunk: Sequence[Window], days: int) -> Statement:
    """Each window's four edges: the running sums as of the last day with figures on or
    before t − days − 1 and t − 1 (the side before), t and t + days (the side after)."""
    params: dict[str, object] = {}
    values = []
    for n, (employee_no, t) in enumerate(chunk):
        params[f"e{n}"] = employee_no
        params[f"t{n}"] = t
        values.append(f"(:e{n}, CAST(:t{n} AS INTEGER))")
    edges = ", ".join(
        f"({side}, {edge}, {offset})"
        for side, edge, offset in ((0, 0, -days - 1), (0, 1, -1), (1, 0, 0), (1, 1, days))
    )
    sql = (
        f"WITH w (employee_no, t) AS (VALUES {', '.join(values)}), "
        f"k (side, edge, off) AS (VALUES {edges}), "
        "p AS (SELECT w.employee_no, w.t, k.side, k.edge, (SELECT MAX(r.day_no) "
        "FROM metrics_running r WHERE r.employee_no = w.employee_no "
        "AND r.day_no <= w.t + k.off) AS at FROM w CROSS JOIN k) "
        "SELECT p.employee_no, p.t, p.side, p.edge, "
        + ", ".join(f"r.{c}" for c in COLUMNS)
        + " FROM p JOIN metrics_running r ON r.employee_no = p.employee_no AND r.day_no = p.at"
    )
    return Statement(sql, params)


def raw_window_sums(
    store: ReadStore, windows: Iterable[Window], days: int
) -> dict[tuple[str, int, int], Side]:
    """The same sums added up from every day's figures: the reference the running sums are
    held to (tests), and a check by hand when a report looks wrong."""
    unique = sorted(set(windows))
    queries = [
        _query(unique[i : i + WINDOW_CHUNK], days) for i in range(0, len(unique), WINDOW_CHUNK)
    ]
    sums: dict[tuple[str, int, int], Side] = {}
    for rows in store.fetch_many(queries, lookups=True):
        for r in rows:
            sums[(r["employee_no"], int(r["t"]), int(r["side"]))] = Side(
                days=int(r["days"] or 0),
                output=float(r["output"] or 0),
                output_hours=float(r["output_hours"] or 0),
                output_without_hours=int(r["output_without_hours"] or 0),
                defects=float(r["defects"] or 0),
                defect_base=float(r["defect_base"] or 0),
            )
    return sums


def _query(chunk: Sequence[Window], days: int) -> Statement:
    params: dict[str, object] = {"days": days}
    values = []
    for n, (employee_no, t) in enumerate(chunk):
        params[f"e{n}"] = employee_no
        params[f"t{n}"] = t
        values.append(f"(:e{n}, CAST(:t{n} AS INTEGER))")
    sql = (
        f"WITH w (employee_no, t) AS (VALUES {', '.join(values)}) "
        "SELECT w.employee_no, w.t, CASE WHEN m.day_no < w.t THEN 0 ELSE 1 END AS side, "
        "COUNT(DISTINCT CASE WHEN m.output_units IS NOT NULL THEN m.day_no END) AS days, "
        f"SUM({AS_OUTPUT}) AS output, "
        f"SUM(CASE WHEN m.output_units IS NOT NULL THEN {AS_HOURS} END) AS output_hours, "
        "SUM(CASE WHEN m.output_units IS NOT NULL AND (m.hours IS NULL OR m.hours <= 0) "
        "THEN 1 ELSE 0 END) AS output_without_hours, "
        f"SUM(CASE WHEN m.output_units IS NOT NULL THEN {AS_DEFECTS} END) AS defects, "
        f"SUM(CASE WHEN m.defects IS NOT NULL THEN {AS_OUTPUT} END) AS defect_base "
        "FROM w JOIN metrics m ON m.employee_no = w.employee_no "
        "AND m.day_no BETWEEN w.t - :days AND w.t + :days AND m.day_no <> w.t "
        "GROUP BY w.employee_no, w.t, CASE WHEN m.day_no < w.t THEN 0 ELSE 1 END"
    )
    return Statement(sql, params)
