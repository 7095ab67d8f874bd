"""Recording production metrics: the ERP/MES API and the metrics import both come here.

A line is idempotent per employee + day + source: sent again unchanged it changes
nothing; with a changed figure it is a correction (`MetricsCorrected`), and the first
figures stay in the history. Lines are checked a column at a time (a bad one never stops
the others) and saved in groups of 20,000 per transaction, which is where the speed is: a
first report goes straight to its stored event, only a resent or corrected line loads its
record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, StoredEvent, Transcoder

from app.domain.metrics import FIELDS, DailyFigures, DailyMetrics, metrics_id, metrics_ids
from app.projections import metrics_running
from app.projections.metrics import MetricsTable, day_no
from app.projections.runner import ProjectionRunner
from app.services.metrics_checks import (
    LineProblem,
    MetricsColumns,
    MetricsLine,
    day_problem,
    problems,
)
from app.stores.base import ReadStore
from app.stores.metric_events import MsgspecJSONTranscoder, first_report_events

__all__ = [
    "LineProblem",
    "Metrics",
    "MetricsLine",
    "MetricsService",
    "RecordOutcome",
    "day_problem",
]

#: lines per event-store transaction
SAVE_GROUP = 20_000
#: ids per `IN (…)` lookup (far below either store's bound-parameter limit)
LOOKUP_CHUNK = 900


class Metrics(Application):
    """The metrics event store: its own log and table, apart from training events."""

    name = "Metrics"

    def construct_transcoder(self) -> Transcoder:
        """The JSON format of every other log, read back with msgspec."""
        transcoder = MsgspecJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder


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


class MetricsService:
    """Checks and records metric lines for the API and the import."""

    def __init__(self, app: Metrics, store: ReadStore, runner: ProjectionRunner) -> None:
        self.app = app
        self.store = store
        #: projects the metrics log into the `metrics` table
        self.runner = runner
        self._deferring = threading.Lock()

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
        return self.check_columns(MetricsColumns.of(lines), employees)

    def check_columns(
        self, columns: MetricsColumns, employees: set[str] | None = None
    ) -> list[LineProblem]:
        """`check` for lines held as columns."""
        employees = self.known_employees() if employees is None else employees
        return problems(columns, employees, datetime.now(UTC).date())

    def record(
        self,
        lines: Sequence[MetricsLine],
        actor: str,
        *,
        employees: set[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RecordOutcome:
        """Record every good line (the bad ones are reported, not recorded)."""
        return self.record_columns(
            MetricsColumns.of(lines), actor, employees=employees, progress=progress
        )

    def record_columns(
        self,
        columns: MetricsColumns,
        actor: str,
        *,
        employees: set[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RecordOutcome:
        """`record` for lines held as columns (the import's way: no object per line)."""
        found = self.check_columns(columns, employees)
        refused = {p.index for p in found}
        # person by person, their days in order (a stable sort: a line sent twice keeps its
        # order): a group then holds few people's runs of days, so the indexes keyed by
        # person get a page rewritten per person, not per line (decision 0134)
        employee_no, day = columns.employee_no, columns.day
        good = sorted(
            (i for i in range(len(columns)) if i not in refused),
            key=lambda i: (employee_no[i], day[i]),
        )
        outcome = RecordOutcome(problems=found)
        for start in range(0, len(good), SAVE_GROUP):
            index = good[start : start + SAVE_GROUP]
            group = columns.take(index)
            try:
                outcome.add(self._record_group(group, actor, self._current_in_read_model))
            except IntegrityError:
                # The read model had not yet seen a line recorded a moment ago (or another
                # writer raced us): decide again from the event store itself.
                outcome.add(self._record_group(group, actor, self._current_in_event_store))
            if progress is not None:
                progress(len(index))
        return outcome

    @contextmanager
    def projecting(self) -> Iterator[None]:
        """Project into the read model while a long import writes (the second core), when
        no runner thread does already (the command line). The running sums of the people
        imported are brought up to date once at the end (decision 0134), not per batch."""
        started = not self.runner.running
        table = self._table()
        with self._deferring:
            table.deferring += 1
        if started:
            self.runner.start()
        try:
            yield
        finally:
            with self._deferring:
                table.deferring -= 1
            self.catch_up()
            if started:
                self.runner.stop()
            metrics_running.refresh(self.store)

    def _table(self) -> MetricsTable:
        return next(p for p in self.runner.projections if isinstance(p, MetricsTable))

    def _record_group(
        self,
        group: MetricsColumns,
        actor: str,
        current: Callable[[MetricsColumns, list[UUID]], dict[UUID, DailyFigures]],
    ) -> RecordOutcome:
        outcome = RecordOutcome()
        ids = metrics_ids(group.employee_no, group.day, group.source)
        stored = current(group, list(dict.fromkeys(ids)))
        firsts: dict[UUID, int] = {}
        again: list[int] = []  # lines of records that exist, or came earlier in this group
        for i, record in enumerate(ids):
            if record in stored or record in firsts:
                again.append(i)
            else:
                firsts[record] = i
        now = datetime.now(UTC)
        new = group if not again else group.take(list(firsts.values()))
        events: list[StoredEvent] = first_report_events(
            list(firsts),
            new.employee_no,
            new.day,
            new.source,
            [new.optional(name) for name in FIELDS],
            actor,
            now,
        )
        outcome.recorded = len(firsts)
        later: dict[UUID, DailyMetrics] = {}
        for i in again:
            record, figures = ids[i], group.figures_at(i)
            agg = later.get(record)
            if agg is None:
                if record in stored and figures.merged_into(stored[record]) == stored[record]:
                    outcome.unchanged += 1
                    continue
                agg = later[record] = self._load(record, group, firsts.get(record), actor, now)
            if agg.report(figures, actor=actor):
                outcome.corrected += 1
            else:
                outcome.unchanged += 1
        mapper = self.app.mapper
        events += [mapper.to_stored_event(e) for a in later.values() for e in a.collect_events()]
        if events:
            self.app.recorder.insert_events(events)
            self.on_commit()
        return outcome

    def _load(
        self, record: UUID, group: MetricsColumns, first: int | None, actor: str, at: datetime
    ) -> DailyMetrics:
        """The record as stored, or as first reported earlier in this same group (its first
        report is saved with the correction)."""
        if first is None:
            agg: DailyMetrics = self.app.repository.get(record)
            return agg
        event = DailyMetrics.first_report(
            record,
            group.employee_no[first],
            group.day[first],
            group.source[first],
            group.figures_at(first),
            actor,
            at,
        )
        agg = event.mutate(None)  # type: ignore[attr-defined]
        return agg

    def _current_in_read_model(
        self, group: MetricsColumns, ids: list[UUID]
    ) -> dict[UUID, DailyFigures]:
        """The group's records the read model holds. Read by person and span of days
        through the covering index (a group is a few hundred people's runs of days): for a
        month not seen before that finds nothing in one probe per person, where a lookup by
        record id probed the id index once per line."""
        wanted = {str(i): i for i in ids}
        days = [day_no(d) for d in group.day]
        people = sorted(set(group.employee_no))
        found: dict[UUID, DailyFigures] = {}
        for start in range(0, len(people), LOOKUP_CHUNK):
            chunk: dict[str, object] = {
                f"e{n}": no for n, no in enumerate(people[start : start + LOOKUP_CHUNK])
            }
            names = ", ".join(":" + k for k in chunk)
            rows = self.store.fetch(
                "SELECT id, output_units, defects, hours FROM metrics "
                f"WHERE employee_no IN ({names}) AND day_no BETWEEN :first AND :last",
                {**chunk, "first": min(days), "last": max(days)},
            )
            for r in rows:
                record = wanted.get(r["id"])
                if record is not None:
                    found[record] = DailyFigures(r["output_units"], r["defects"], r["hours"])
        return found

    def _current_in_event_store(
        self, group: MetricsColumns, ids: list[UUID]
    ) -> dict[UUID, DailyFigures]:
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
