"""Saved reports: a custom report someone built (its dimensions and measures), when it
should be sent to whom, and each time it was sent."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id

DIMENSIONS = ("plant", "workshop", "team", "course", "month", "position")
MEASURES = ("expected", "attended", "participation", "attention")
SCHEDULES = ("none", "daily", "weekly", "monthly")
#: scheduled reports go out at this hour of the plant's day, before the morning meeting
DELIVERY_HOUR = 7


def _delivery_day(schedule: str, day: date) -> bool:
    if schedule == "daily":
        return True
    if schedule == "weekly":
        return day.isoweekday() == 1
    return schedule == "monthly" and day.day == 1


def next_delivery(
    schedule: str, after: datetime, tz: tzinfo, hour: int = DELIVERY_HOUR
) -> datetime | None:
    """The first delivery strictly after `after` (UTC): `hour` o'clock plant time every day
    (`daily`), every Monday (`weekly`) or on the 1st (`monthly`); None for `none`."""
    if schedule not in SCHEDULES or schedule == "none":
        return None
    day = after.astimezone(tz).date()
    for _ in range(33):  # a month and a day always hold the next one
        at = datetime.combine(day, time(hour), tz).astimezone(UTC)
        if at > after and _delivery_day(schedule, day):
            return at
        day += timedelta(days=1)
    return None


def period_of(schedule: str, due: datetime, tz: tzinfo) -> str:
    """The name of the period a delivery at `due` reports on, one delivery per period:
    the plant day (2026-12-07), ISO week (2026-W50) or month (2026-12)."""
    day = due.astimezone(tz).date()
    if schedule == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if schedule == "monthly":
        return day.isoformat()[:7]
    return day.isoformat()


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
        #: the period of the last delivery (one per period)
        self.last_period: str | None = None

    @event("ReportChanged")
    def change(self, org: str, dimensions: list[str], measures: list[str], actor: str) -> None:
        """New dimensions or measures for the same name."""
        self.org = org
        self.dimensions = list(dimensions)
        self.measures = list(measures)

    @event("ReportScheduled")
    def plan_delivery(self, schedule: str, recipients: list[str], actor: str) -> None:
        """Send the report daily, weekly or monthly to these recipients (logins, e-mail
        addresses, registered webhook URLs); `none` stops it."""
        self.schedule = schedule
        self.recipients = list(recipients)

    def send(
        self,
        period: str,
        delivered: list[str],
        inbox: list[str],
        failed: dict[str, str],
        actor: str,
    ) -> bool:
        """Record the delivery for `period`: the recipients who got it, the logins among
        them (their in-app inbox) and why the others did not. False, recording nothing,
        when that period's delivery is recorded already."""
        if period == self.last_period:
            return False
        self._sent(period, delivered, inbox, failed, actor)
        return True

    @event("ReportSent")
    def _sent(
        self,
        period: str,
        delivered: list[str],
        inbox: list[str],
        failed: dict[str, str],
        actor: str,
    ) -> None:
        self.last_period = period

    @event("ReportDeliveryRetried")
    def retried(
        self, period: str, delivered: list[str], failed: dict[str, str], attempt: int, actor: str
    ) -> None:
        """Another attempt at `period`'s delivery to the recipients it had not reached (that
        period's `ReportSent` stays its one record): who got it now, who still did not."""
