"""Daily production figures as they stand now, one row per employee, day and source.

Projected from the metrics event log by its own runner; effect analysis and reports
query this table. `day_no` (days since 0001-01-01) lets windows be plain integer ranges
on both stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import msgspec

from app.domain.metrics import DailyMetrics
from app.projections import metrics_running
from app.projections.base import Batch, Projection, handles
from app.stores.base import Statement, iso
from app.stores.metric_events import RECORDED_TOPIC


# gc=False: a batch holds thousands of them, and none refers back (no cycles to find)
class _Stamp(msgspec.Struct, gc=False):
    data: str = msgspec.field(name="_data_")


class _Figures(msgspec.Struct, gc=False):
    """What the table keeps of a stored `MetricsRecorded`, read straight from its JSON."""

    employee_no: str
    day: str
    source: str
    output_units: float | None
    defects: float | None
    hours: float | None
    timestamp: _Stamp


class Recorded(msgspec.Struct, gc=False):
    """A first report as the table's rows need it (no event object, no transcoder)."""

    id: str
    version: int
    figures: _Figures


_FIGURES = msgspec.json.Decoder(_Figures)


@lru_cache(maxsize=4096)
def day_no(day: str) -> int:
    """The day number of an ISO date (what windows compare)."""
    return date.fromisoformat(day).toordinal()


@lru_cache(maxsize=64)
def _stamp(at: datetime | str) -> str:
    # the events of one import share their time: stored once per group, not per line
    return iso(datetime.fromisoformat(at) if isinstance(at, str) else at)


_INSERT = (
    "INSERT INTO metrics (id, employee_no, day, day_no, source, output_units, defects, "
    "hours, version, updated_at) VALUES (:id, :no, :day, :day_no, :source, :output, "
    ":defects, :hours, :version, :at) ON CONFLICT (id) DO NOTHING"
)


class MetricsTable(Projection):
    name = "metrics"
    owned_tables = ("metrics", "metrics_running", "metrics_running_stale")
    tables = (
        "CREATE TABLE IF NOT EXISTS metrics (id TEXT PRIMARY KEY, employee_no TEXT NOT NULL, "
        "day TEXT NOT NULL, day_no INTEGER NOT NULL, source TEXT NOT NULL, "
        "output_units REAL, defects REAL, hours REAL, version INTEGER NOT NULL, "
        "updated_at TEXT NOT NULL)",
        # covering: a report's windows read the index alone, a person's days side by side
        "CREATE INDEX IF NOT EXISTS metrics_window ON metrics "
        "(employee_no, day_no, output_units, defects, hours)",
        *metrics_running.TABLES,
    )

    def __init__(self) -> None:
        #: imports under way in this process (`MetricsService.projecting`): while there are
        #: any, batches note stale running sums instead of recomputing them
        self.deferring = 0

    def _running(self, touched: tuple[dict[str, int], list[str]]) -> Iterable[Statement]:
        if self.deferring:
            return metrics_running.mark_stale(*touched)
        return metrics_running.recompute(*touched)

    def _touched(self, b: Batch) -> tuple[dict[str, int], list[str]]:
        """The batch's changed days for the running sums: (employee → earliest new day,
        ids of corrected rows)."""
        return b.summary("metrics_running", lambda: ({}, []), self._running)

    def _day(self, b: Batch, employee_no: str, day: int) -> None:
        touched = self._touched(b)[0]
        if day < touched.get(employee_no, day + 1):
            touched[employee_no] = day

    def decoded(self, notification: Any) -> Recorded | None:
        """First reports (nearly all of the log) are read without the mapper."""
        if notification.topic != RECORDED_TOPIC:
            return None
        try:
            figures = _FIGURES.decode(notification.state)
        except msgspec.DecodeError:  # not the plain JSON written here: the mapper reads it
            return None
        return Recorded(str(notification.originator_id), notification.originator_version, figures)

    @handles(Recorded)
    def recorded_line(self, e: Recorded, b: Batch) -> None:
        f = e.figures
        self._day(b, f.employee_no, day_no(f.day))
        b.sql(
            _INSERT,
            id=e.id,
            no=f.employee_no,
            day=f.day,
            day_no=day_no(f.day),
            source=f.source,
            output=f.output_units,
            defects=f.defects,
            hours=f.hours,
            version=e.version,
            at=_stamp(f.timestamp.data),
        )

    @handles(DailyMetrics.MetricsRecorded)
    def recorded(self, e: Any, b: Batch) -> None:
        self._day(b, e.employee_no, day_no(e.day))
        b.sql(
            _INSERT,
            id=str(e.originator_id),
            no=e.employee_no,
            day=e.day,
            day_no=day_no(e.day),
            source=e.source,
            output=e.output_units,
            defects=e.defects,
            hours=e.hours,
            version=e.originator_version,
            at=_stamp(e.timestamp),
        )

    @handles(DailyMetrics.MetricsCorrected)
    def corrected(self, e: Any, b: Batch) -> None:
        self._touched(b)[1].append(str(e.originator_id))
        b.sql(
            "UPDATE metrics SET output_units = :output, defects = :defects, hours = :hours, "
            "version = :version, updated_at = :at WHERE id = :id",
            id=str(e.originator_id),
            output=e.output_units,
            defects=e.defects,
            hours=e.hours,
            version=e.originator_version,
            at=_stamp(e.timestamp),
        )
