"""`metrics`: daily production figures per employee (output units, defects, hours).

The figures live in their own event log (app.services.metrics), so this kind records them
itself instead of handing aggregates to the training store: every row is checked first and
nothing is recorded while any row is in error; then the lines go in groups of a few
thousand. Re-importing a file changes nothing; a changed figure is a correction.
A year of a large plant is imported a month per file (the reader takes up to 32 MB).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.domain.metrics import DailyFigures
from app.imports.base import Column, Context, ImportKind, Plan, Row, RowError, required
from app.services.metrics import MetricsLine, MetricsService

#: the source of lines whose file leaves the column empty
DEFAULT_SOURCE = "import"
FIGURES = ("output_units", "defects", "hours")


@dataclass
class MetricsPlan(Plan):
    """The checked lines, recorded by `apply_metrics`."""

    lines: list[MetricsLine] = field(default_factory=list)


def _figure(row: Row, column: str) -> float | None:
    value = row[column]
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise RowError(column, "metrics.problem.not_a_number", value=value) from None
    if not math.isfinite(number):
        raise RowError(column, "metrics.problem.not_a_number", value=value)
    return number


def _line(row: Row, employees: set[str], metrics: MetricsService) -> MetricsLine:
    no = required(row, "employee_no")
    if no not in employees:
        raise RowError("employee_no", "import.unknown_employee", value=no)
    day = required(row, "date")
    figures = DailyFigures(*(_figure(row, c) for c in FIGURES))
    line = MetricsLine(no, day, row["source"] or DEFAULT_SOURCE, figures)
    for problem in metrics.check([line], employees):
        raise RowError(problem.field, f"metrics.problem.{problem.reason}", value=problem.value)
    return line


def plan_metrics(rows: Sequence[Row], ctx: Context) -> Plan:
    metrics = ctx.metrics
    assert metrics is not None, "the importer is wired with the metrics service"
    plan = MetricsPlan()
    employees = metrics.known_employees()
    for row in ctx.each(rows):
        try:
            plan.lines.append(_line(row, employees, metrics))
        except RowError as err:
            plan.error(row.line, err.column, err.key, **err.params)
    return plan


def apply_metrics(plan: Plan, ctx: Context) -> None:
    """Record the checked lines; counts what was new and what corrected."""
    assert isinstance(plan, MetricsPlan) and ctx.metrics is not None
    done = 0
    total = len(plan.lines)

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if ctx.progress is not None:
            ctx.progress(done, total)

    outcome = ctx.metrics.record(
        plan.lines, ctx.actor, employees=ctx.metrics.known_employees(), progress=advance
    )
    plan.created, plan.updated = outcome.recorded, outcome.corrected
    ctx.metrics.catch_up()  # the import is done when reports show the figures


METRICS = ImportKind(
    "metrics",
    (
        Column("employee_no", required=True),
        Column("date", required=True),
        Column("output_units"),
        Column("defects"),
        Column("hours"),
        Column("source"),
    ),
    plan_metrics,
    example={
        "employee_no": "E00012",
        "date": "2026-12-01",
        "output_units": "812",
        "defects": "9",
        "hours": "8",
        "source": "mes",
    },
    apply=apply_metrics,
)
