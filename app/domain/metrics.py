"""Production metrics: what one employee produced on one day, as one source reported it.

Kept in their own event store (the `Metrics` application), apart from attendance, so a
year of nightly ERP exports never sits in the log that check-ins are projected from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEvent, event
from eventsourcing.utils import get_topic

from app.domain.ids import natural_id, natural_ids

#: the measured quantities, in the order files and the API list them
FIELDS = ("output_units", "defects", "hours")


def metrics_id(employee_no: str, day: str, source: str) -> UUID:
    """One record per employee, day (ISO date) and source: a resent line names the same
    record."""
    return natural_id("metrics", f"{employee_no}/{day}/{source}")


def metrics_ids(employee_nos: list[str], days: list[str], sources: list[str]) -> list[UUID]:
    """`metrics_id` of many lines at once."""
    keys = map("{}/{}/{}".format, employee_nos, days, sources)
    return natural_ids("metrics", keys)


@dataclass(frozen=True)
class DailyFigures:
    """The figures one line reports; None where the line left a field out."""

    output_units: float | None = None
    defects: float | None = None
    hours: float | None = None

    def merged_into(self, old: DailyFigures) -> DailyFigures:
        """A later line replaces the fields it carries and keeps the ones it leaves out."""
        return DailyFigures(
            output_units=old.output_units if self.output_units is None else self.output_units,
            defects=old.defects if self.defects is None else self.defects,
            hours=old.hours if self.hours is None else self.hours,
        )

    def as_dict(self) -> dict[str, float | None]:
        """The figures by field name (what events carry)."""
        return {"output_units": self.output_units, "defects": self.defects, "hours": self.hours}


def figures_problem(figures: DailyFigures) -> tuple[str, str] | None:
    """Why these figures cannot be recorded, as (field, reason code); None when they can.
    Codes: `no_figures`, `negative`, `over_24_hours`, `defects_over_output`."""
    values = figures.as_dict()
    if all(v is None for v in values.values()):
        return "output_units", "no_figures"
    for name, value in values.items():
        if value is not None and value < 0:
            return name, "negative"
    if figures.hours is not None and figures.hours > 24:
        return "hours", "over_24_hours"
    if (
        figures.defects is not None
        and figures.output_units is not None
        and figures.defects > figures.output_units
    ):
        return "defects", "defects_over_output"
    return None


class DailyMetrics(Aggregate):
    """One employee's figures for one day from one source (ERP, MES, a file …).

    A correction is a new fact: `MetricsCorrected` supersedes the figures and both stay in
    the history."""

    @staticmethod
    def create_id(employee_no: str, day: str, source: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return metrics_id(employee_no, day, source)

    @event("MetricsRecorded")
    def __init__(
        self,
        employee_no: str,
        day: str,
        source: str,
        output_units: float | None,
        defects: float | None,
        hours: float | None,
        actor: str,
    ):
        self.employee_no = employee_no
        self.day = day
        self.source = source
        self.output_units = output_units
        self.defects = defects
        self.hours = hours

    @classmethod
    def first_report(
        cls,
        record_id: UUID,
        employee_no: str,
        day: str,
        source: str,
        figures: DailyFigures,
        actor: str,
        at: datetime,
    ) -> DomainEvent:
        """The `MetricsRecorded` event of a record that does not exist yet, made without
        building the aggregate: a first report has nothing to decide, and a year of a
        plant's figures is millions of them (building each aggregate costs four times as
        much). Loading the record later replays this event like any other."""
        return cls.MetricsRecorded(  # type: ignore[attr-defined,no-any-return]
            originator_id=record_id,
            originator_version=1,
            timestamp=at,
            originator_topic=_TOPIC,
            employee_no=employee_no,
            day=day,
            source=source,
            actor=actor,
            **figures.as_dict(),
        )

    @property
    def figures(self) -> DailyFigures:
        """The figures as they stand now."""
        return DailyFigures(self.output_units, self.defects, self.hours)

    def report(self, figures: DailyFigures, actor: str) -> bool:
        """The same line sent again: a correction when it changes a figure, else nothing.
        Returns True when it corrected."""
        new = figures.merged_into(self.figures)
        if new == self.figures:
            return False
        self._correct(
            output_units=new.output_units, defects=new.defects, hours=new.hours, actor=actor
        )
        return True

    @event("MetricsCorrected")
    def _correct(
        self,
        output_units: float | None,
        defects: float | None,
        hours: float | None,
        actor: str,
    ) -> None:
        self.output_units = output_units
        self.defects = defects
        self.hours = hours


_TOPIC = get_topic(DailyMetrics)
