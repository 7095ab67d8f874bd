"""Daily production figures as they stand now, one row per employee, day and source.

Projected from the metrics event log by its own runner; effect analysis and reports
query this table. `day_no` (days since 0001-01-01) lets windows be plain integer ranges
on both stores.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from app.domain.metrics import DailyMetrics
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso


def day_no(day: str) -> int:
    """The day number of an ISO date (what windows compare)."""
    return date.fromisoformat(day).toordinal()


class MetricsTable(Projection):
    name = "metrics"
    owned_tables = ("metrics",)
    tables = (
        "CREATE TABLE IF NOT EXISTS metrics (id TEXT PRIMARY KEY, employee_no TEXT NOT NULL, "
        "day TEXT NOT NULL, day_no INTEGER NOT NULL, source TEXT NOT NULL, "
        "output_units REAL, defects REAL, hours REAL, version INTEGER NOT NULL, "
        "updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS metrics_employee_day ON metrics (employee_no, day_no)",
        "CREATE INDEX IF NOT EXISTS metrics_day ON metrics (day_no)",
    )

    @handles(DailyMetrics.MetricsRecorded)
    def recorded(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO metrics (id, employee_no, day, day_no, source, output_units, defects, "
            "hours, version, updated_at) VALUES (:id, :no, :day, :day_no, :source, :output, "
            ":defects, :hours, :version, :at) ON CONFLICT (id) DO NOTHING",
            id=str(e.originator_id),
            no=e.employee_no,
            day=e.day,
            day_no=day_no(e.day),
            source=e.source,
            output=e.output_units,
            defects=e.defects,
            hours=e.hours,
            version=e.originator_version,
            at=iso(e.timestamp),
        )

    @handles(DailyMetrics.MetricsCorrected)
    def corrected(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE metrics SET output_units = :output, defects = :defects, hours = :hours, "
            "version = :version, updated_at = :at WHERE id = :id",
            id=str(e.originator_id),
            output=e.output_units,
            defects=e.defects,
            hours=e.hours,
            version=e.originator_version,
            at=iso(e.timestamp),
        )
