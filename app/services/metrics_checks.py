"""Checking metric lines a column at a time.

A month of a large plant's figures is hundreds of thousands of lines; checking them one
object at a time costs more than storing them. Here the lines are columns (lists of text,
float arrays with NaN where a line left a figure out) and each rule of
`app.domain.metrics.figures_problem` and `day_problem` runs once over a whole column.
A line gets the first problem in the order the one-line rules check them, so both ways
of checking name the same field and reason for every line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from uuid import UUID

import numpy as np
from numpy.typing import NDArray

from app.domain.metrics import FIELDS, DailyFigures, metrics_id

Floats = NDArray[np.float64]

#: a line may be dated at most this far ahead of the server's day (time zones)
FUTURE_DAYS = 1
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class LineProblem:
    """Why line `index` (0-based, in the order sent) was not recorded: the field, a reason
    code (`unknown_employee`, `no_source`, `bad_date`, `future_date` or one of
    `figures_problem`'s) and the value at fault (the employee number or date)."""

    index: int
    field: str
    reason: str
    value: str = ""


@dataclass(frozen=True)
class MetricsLine:
    """One reported line: an employee's figures for a day from a source."""

    employee_no: str
    day: str
    source: str
    figures: DailyFigures

    @cached_property
    def id(self) -> UUID:
        return metrics_id(self.employee_no, self.day, self.source)


@dataclass
class MetricsColumns:
    """Metric lines as columns: `figures[name][i]` is NaN where line i left it out."""

    employee_no: list[str]
    day: list[str]
    source: list[str]
    figures: dict[str, Floats]

    def __len__(self) -> int:
        return len(self.employee_no)

    @classmethod
    def of(cls, lines: Sequence[MetricsLine]) -> MetricsColumns:
        """The lines as columns."""
        nan = float("nan")
        return cls(
            [line.employee_no for line in lines],
            [line.day for line in lines],
            [line.source for line in lines],
            {
                name: np.array(
                    [nan if (v := getattr(line.figures, name)) is None else v for line in lines],
                    dtype=np.float64,
                )
                for name in FIELDS
            },
        )

    def take(self, index: Sequence[int]) -> MetricsColumns:
        """The lines at `index`, in that order."""
        at = np.asarray(index, dtype=np.intp)
        return MetricsColumns(
            [self.employee_no[i] for i in index],
            [self.day[i] for i in index],
            [self.source[i] for i in index],
            {name: values[at] for name, values in self.figures.items()},
        )

    def figures_at(self, i: int) -> DailyFigures:
        """Line i's figures (None where left out)."""
        values = [float(self.figures[name][i]) for name in FIELDS]
        return DailyFigures(*(None if v != v else v for v in values))

    def optional(self, name: str) -> list[float | None]:
        """A figure column as numbers and None (what events carry)."""
        return [None if v != v else v for v in self.figures[name].tolist()]


def day_problem(text: str, today: date) -> str | None:
    """Why `text` is not a day figures can be reported for (`bad_date`: not YYYY-MM-DD,
    `future_date`: after tomorrow or before 2000); None when it is."""
    try:
        if len(text) != 10:
            return "bad_date"
        day = date.fromisoformat(text)
    except ValueError:
        return "bad_date"
    if day < EARLIEST or day > today + timedelta(days=FUTURE_DAYS):
        return "future_date"
    return None


def problems(columns: MetricsColumns, employees: set[str], today: date) -> list[LineProblem]:
    """Each line's first problem, in line order: unknown employee, no source, a bad or
    future date, then the figures (none given, negative, over 24 hours, more defects than
    output) — the order of `app.domain.metrics.figures_problem`."""
    first: dict[int, LineProblem] = {}

    def flag(mask: NDArray[np.bool_] | list[bool], field: str, reason: str) -> None:
        for i in np.flatnonzero(mask).tolist():
            if i not in first:
                value = {"employee_no": columns.employee_no[i], "date": columns.day[i]}
                first[i] = LineProblem(i, field, reason, value.get(field, ""))

    unknown = [not no or no not in employees for no in columns.employee_no]
    flag(unknown, "employee_no", "unknown_employee")
    flag([not source for source in columns.source], "source", "no_source")
    verdicts = {text: day_problem(text, today) for text in set(columns.day)}
    for reason in ("bad_date", "future_date"):
        flag([verdicts[text] == reason for text in columns.day], "date", reason)
    out, defects, hours = (columns.figures[name] for name in FIELDS)
    given = [~np.isnan(values) for values in (out, defects, hours)]
    flag(~(given[0] | given[1] | given[2]), "output_units", "no_figures")
    with np.errstate(invalid="ignore"):  # NaN compares False: a figure left out passes
        for name in FIELDS:  # a line with two negative figures is named for the first
            flag(columns.figures[name] < 0, name, "negative")
        flag(hours > 24, "hours", "over_24_hours")
        flag(defects > out, "defects", "defects_over_output")
    return [first[i] for i in sorted(first)]
