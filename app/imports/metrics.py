"""`metrics`: daily production figures per employee (output units, defects, hours).

The figures live in their own event log (app.services.metrics), so this kind records them
itself instead of handing aggregates to the training store: every row is checked first and
nothing is recorded while any row is in error; then the lines go in groups of 20,000.
Re-importing a file changes nothing; a changed figure is a correction. A month of a large
plant is hundreds of thousands of rows, so the file is read and checked a column at a time
(`reader.read_table`, `services.metrics_checks`). A year is imported a month per file
(the reader takes up to 32 MB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.domain.metrics import FIELDS
from app.imports.base import Column, Context, Finding, ImportKind, Plan, Row
from app.imports.reader import Table
from app.services.metrics_checks import Floats, MetricsColumns

#: the source of lines whose file leaves the column empty
DEFAULT_SOURCE = "import"


@dataclass
class MetricsPlan(Plan):
    """The checked lines, recorded by `apply_metrics`."""

    lines: MetricsColumns = field(default_factory=lambda: MetricsColumns([], [], [], {}))


def _numbers(texts: list[str]) -> tuple[Floats, list[int]]:
    """The cells as numbers (NaN where empty) and the positions of cells that are not
    numbers. The whole column is parsed at once; only a column with a bad cell is looked
    at cell by cell."""
    try:
        values = np.array([t or "nan" for t in texts], dtype=np.float64)
    except ValueError:
        values = np.array([_number(t) for t in texts], dtype=np.float64)
    empty = np.array([not t for t in texts], dtype=bool)
    bad = ~np.isfinite(values) & ~empty
    values[empty] = np.nan
    return values, np.flatnonzero(bad).tolist()


def _number(text: str) -> float:
    if not text:
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return float("inf")  # marked as not a number by the caller


def plan_metrics_table(table: Table, ctx: Context) -> Plan:
    metrics = ctx.metrics
    assert metrics is not None, "the importer is wired with the metrics service"
    plan = MetricsPlan()
    cols, lines = table.columns, table.lines
    first: dict[int, Finding] = {}

    def refuse(i: int, column: str, key: str, **params: str) -> None:
        if i not in first:
            first[i] = Finding(lines[i], column, key, params)

    employees = metrics.known_employees()
    for i, no in enumerate(cols["employee_no"]):
        if not no:
            refuse(i, "employee_no", "import.required")
        elif no not in employees:
            refuse(i, "employee_no", "import.unknown_employee", value=no)
    for i, day in enumerate(cols["date"]):
        if not day:
            refuse(i, "date", "import.required")
    figures: dict[str, Floats] = {}
    for name in FIELDS:
        figures[name], bad = _numbers(cols[name])
        for i in bad:
            refuse(i, name, "metrics.problem.not_a_number", value=cols[name][i])
    sources = [s or DEFAULT_SOURCE for s in cols["source"]]
    plan.lines = MetricsColumns(cols["employee_no"], cols["date"], sources, figures)
    for p in metrics.check_columns(plan.lines, employees):
        refuse(p.index, p.field, f"metrics.problem.{p.reason}", value=p.value)
    if ctx.progress is not None:
        ctx.progress(len(lines), len(lines))
    plan.errors = [first[i] for i in sorted(first)]
    return plan


def plan_metrics(rows: Sequence[Row], ctx: Context) -> Plan:
    """The same plan from rows (callers that hold rows already)."""
    names = [c.name for c in METRICS.columns]
    table = Table([r.line for r in rows], {n: [r[n] for r in rows] for n in names})
    return plan_metrics_table(table, ctx)


def apply_metrics(plan: Plan, ctx: Context) -> None:
    """Record the checked lines, projecting them meanwhile; counts what was new and what
    corrected. Done when the read model shows every line (reports see the figures)."""
    assert isinstance(plan, MetricsPlan) and ctx.metrics is not None
    done = 0
    total = len(plan.lines)

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if ctx.progress is not None:
            ctx.progress(done, total)

    with ctx.metrics.projecting():
        outcome = ctx.metrics.record_columns(
            plan.lines, ctx.actor, employees=ctx.metrics.known_employees(), progress=advance
        )
    plan.created, plan.updated = outcome.recorded, outcome.corrected


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
    plan_table=plan_metrics_table,
)
