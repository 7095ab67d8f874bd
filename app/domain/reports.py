"""Saved reports: a custom report someone built (its dimensions and measures), and when it
should be sent to whom."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id

DIMENSIONS = ("plant", "workshop", "team", "course", "month", "position")
MEASURES = ("expected", "attended", "participation", "attention")
SCHEDULES = ("none", "weekly", "monthly")


def report_problem(dimensions: list[str], measures: list[str], schedule: str) -> str | None:
    """Why a report cannot be saved as given (the field at fault); None when it can."""
    if not dimensions or len(dimensions) > 2 or any(d not in DIMENSIONS for d in dimensions):
        return "dimensions"
    if not measures or any(m not in MEASURES for m in measures):
        return "measures"
    if schedule not in SCHEDULES:
        return "schedule"
    return None


class SavedReport(Aggregate):
    """One login's named report; saving it again under the same name replaces it."""

    @staticmethod
    def create_id(owner: str, name: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("report", f"{owner}/{name}")

    @event("ReportSaved")
    def __init__(
        self,
        owner: str,
        name: str,
        org: str,
        dimensions: list[str],
        measures: list[str],
        actor: str,
    ):
        self.owner = owner
        self.name = name
        self.org = org
        self.dimensions = list(dimensions)
        self.measures = list(measures)
        self.schedule = "none"
        self.recipients: list[str] = []

    @event("ReportChanged")
    def change(self, org: str, dimensions: list[str], measures: list[str], actor: str) -> None:
        """New dimensions or measures for the same name."""
        self.org = org
        self.dimensions = list(dimensions)
        self.measures = list(measures)

    @event("ReportScheduled")
    def plan_delivery(self, schedule: str, recipients: list[str], actor: str) -> None:
        """Send the report weekly or monthly to these logins (`none` stops it)."""
        self.schedule = schedule
        self.recipients = list(recipients)
