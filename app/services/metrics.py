"""Recording production metrics: the ERP/MES API and the metrics import both come here.

A line is idempotent per employee + day + source: sent again unchanged it changes
nothing; with a changed figure it is a correction (`MetricsCorrected`), and the first
figures stay in the history. Lines are checked one by one (a bad one never stops the
others) and saved in groups of a few thousand per transaction, which is where the speed is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import IntegrityError

from app.domain.metrics import DailyFigures, DailyMetrics, figures_problem, metrics_id
from app.projections.runner import ProjectionRunner
from app.stores.base import ReadStore

#: aggregates per event-store transaction
SAVE_GROUP = 2000
#: ids per `IN (…)` lookup (far below either store's bound-parameter limit)
LOOKUP_CHUNK = 900
#: a line may be dated at most this far ahead of the server's day (time zones)
FUTURE_DAYS = 1
EARLIEST = date(2000, 1, 1)


class Metrics(Application):
    """The metrics event store: its own log and table, apart from training events."""

    name = "Metrics"


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


@dataclass(frozen=True)
class LineProblem:
    """Why line `index` (0-based, in the order sent) was not recorded: a reason code
    (`unknown_employee`, `no_source`, `bad_date`, `future_date` or one of
    `figures_problem`'s) and the value at fault."""

    index: int
    field: str
    reason: str
    value: str = ""


@dataclass
class RecordOutcome:
    """What a batch did: counts per kind of line, and the lines refused."""

    recorded: int = 0
    corrected: int = 0
    unchanged: int = 0
    problems: list[LineProblem] = field(default_factory=list)

    def add(self, other: RecordOutcome) -> None:
        self.recorded += other.recorded
        self.corrected += other.corrected
        self.unchanged += other.unchanged
        self.problems.extend(other.problems)


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


class MetricsService:
    """Checks and records metric lines for the API and the import."""

    def __init__(self, app: Metrics, store: ReadStore, runner: ProjectionRunner) -> None:
        self.app = app
        self.store = store
        #: projects the metrics log into the `metrics` table
        self.runner = runner

    def on_commit(self) -> None:
        """Wake the projection here, and in other processes through the store."""
        self.runner.wake()
        self.store.notify_committed()

    def catch_up(self, timeout: float = 600.0) -> bool:
        """Wait until the read model shows every recorded line (imports, tests)."""
        return self.runner.wait_until_caught_up(timeout)

    def known_employees(self) -> set[str]:
        """Every employee number in the directory (a few thousand: one query)."""
        return {r["employee_no"] for r in self.store.fetch("SELECT employee_no FROM employees")}

    def check(
        self, lines: Sequence[MetricsLine], employees: set[str] | None = None
    ) -> list[LineProblem]:
        """The problems of each line that cannot be recorded (employee unknown, bad figures,
        a day in the future); an empty list when all can."""
        employees = self.known_employees() if employees is None else employees
        today = datetime.now(UTC).date()
        problems: list[LineProblem] = []
        for index, line in enumerate(lines):
            problem = _line_problem(line, employees, today)
            if problem is not None:
                field_name, reason = problem
                value = {"employee_no": line.employee_no, "date": line.day}.get(field_name, "")
                problems.append(LineProblem(index, field_name, reason, value))
        return problems

    def record(
        self,
        lines: Sequence[MetricsLine],
        actor: str,
        *,
        employees: set[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RecordOutcome:
        """Record every good line (the bad ones are reported, not recorded)."""
        problems = self.check(lines, employees)
        refused = {p.index for p in problems}
        good = [line for i, line in enumerate(lines) if i not in refused]
        outcome = RecordOutcome(problems=problems)
        for start in range(0, len(good), SAVE_GROUP):
            group = good[start : start + SAVE_GROUP]
            try:
                outcome.add(self._record_group(group, actor, self._current_in_read_model))
            except IntegrityError:
                # The read model had not yet seen a line recorded a moment ago (or another
                # writer raced us): decide again from the event store itself.
                outcome.add(self._record_group(group, actor, self._current_in_event_store))
            if progress is not None:
                progress(len(group))
        return outcome

    def _record_group(
        self,
        lines: Sequence[MetricsLine],
        actor: str,
        current: Callable[[list[UUID]], dict[UUID, DailyFigures]],
    ) -> RecordOutcome:
        outcome = RecordOutcome()
        stored = current(list(dict.fromkeys(line.id for line in lines)))
        now = datetime.now(UTC)
        first: dict[UUID, DomainEvent] = {}
        later: dict[UUID, DailyMetrics] = {}
        for line in lines:
            if line.id not in stored and line.id not in first:
                first[line.id] = DailyMetrics.first_report(
                    line.id, line.employee_no, line.day, line.source, line.figures, actor, now
                )
                outcome.recorded += 1
                continue
            agg = later.get(line.id)
            if agg is None:
                if (
                    line.id in stored
                    and line.figures.merged_into(stored[line.id]) == stored[line.id]
                ):
                    outcome.unchanged += 1
                    continue
                agg = later[line.id] = self._load(line.id, first)
            if agg.report(line.figures, actor=actor):
                outcome.corrected += 1
            else:
                outcome.unchanged += 1
        events = list(first.values())
        events += [e for agg in later.values() for e in agg.collect_events()]
        if events:
            # `events.put` is what `Application.save` does for us (no snapshots, no process
            # followers), without its per-object protocol checks.
            self.app.events.put(events)
            self.on_commit()
        return outcome

    def _load(self, record_id: UUID, first: dict[UUID, DomainEvent]) -> DailyMetrics:
        """The record as stored, or as first reported earlier in this same group (its first
        report is saved with the correction)."""
        if record_id in first:
            agg: DailyMetrics = first[record_id].mutate(None)  # type: ignore[attr-defined]
        else:
            agg = self.app.repository.get(record_id)
        return agg

    def _current_in_read_model(self, ids: list[UUID]) -> dict[UUID, DailyFigures]:
        found: dict[UUID, DailyFigures] = {}
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = {f"i{n}": str(i) for n, i in enumerate(ids[start : start + LOOKUP_CHUNK])}
            rows = self.store.fetch(
                "SELECT id, output_units, defects, hours FROM metrics "
                f"WHERE id IN ({', '.join(':' + k for k in chunk)})",
                chunk,
            )
            for r in rows:
                found[UUID(r["id"])] = DailyFigures(r["output_units"], r["defects"], r["hours"])
        return found

    def _current_in_event_store(self, ids: list[UUID]) -> dict[UUID, DailyFigures]:
        found: dict[UUID, DailyFigures] = {}
        for i in ids:
            try:
                found[i] = self.app.repository.get(i).figures
            except AggregateNotFoundError:
                continue
        return found

    def history(self, employee_no: str, day: str, source: str) -> list[dict[str, Any]]:
        """Every fact recorded for one line, oldest first (a correction keeps the first)."""
        events = self.app.events.get(metrics_id(employee_no, day, source))
        return [
            {
                "event": type(e).__name__,
                "at": e.timestamp.isoformat(),
                "actor": e.actor,
                "output_units": e.output_units,
                "defects": e.defects,
                "hours": e.hours,
            }
            for e in events
        ]


def _line_problem(line: MetricsLine, employees: set[str], today: date) -> tuple[str, str] | None:
    if not line.employee_no or line.employee_no not in employees:
        return "employee_no", "unknown_employee"
    if not line.source:
        return "source", "no_source"
    problem = day_problem(line.day, today)
    if problem is not None:
        return "date", problem
    return figures_problem(line.figures)
