"""Per-person metric windows around a day, summed in SQL (the same SQL on both stores).

A window is (employee, day t): the `days` before t and the `days` after t, the training day
itself left out. The database sums each side, so a year of a plant's figures never leaves
it; Python receives a few numbers per person.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.stores.base import ReadStore, Statement

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
    """{(employee_no, t, side): Side} with side 0 before t and 1 after t."""
    unique = sorted(set(windows))  # a person's windows side by side: the index read in order
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
        "SUM(m.output_units) AS output, "
        "SUM(CASE WHEN m.output_units IS NOT NULL THEN m.hours END) AS output_hours, "
        "SUM(CASE WHEN m.output_units IS NOT NULL AND (m.hours IS NULL OR m.hours <= 0) "
        "THEN 1 ELSE 0 END) AS output_without_hours, "
        "SUM(CASE WHEN m.output_units IS NOT NULL THEN m.defects END) AS defects, "
        "SUM(CASE WHEN m.defects IS NOT NULL THEN m.output_units END) AS defect_base "
        "FROM w JOIN metrics m ON m.employee_no = w.employee_no "
        "AND m.day_no BETWEEN w.t - :days AND w.t + :days AND m.day_no <> w.t "
        "GROUP BY w.employee_no, w.t, CASE WHEN m.day_no < w.t THEN 0 ELSE 1 END"
    )
    return Statement(sql, params)
