"""A worker that follows the event log with its own checkpoint, like a projection: the alert
engine and the alert delivery are two.

Its checkpoint is a row of `projection_tracking`, moved with a compare-and-set, so two
processes never both act on one stretch of the log for long, and a restart resumes where it
stopped. It never runs ahead of the projections it reads (`depends_on`). Besides events it
keeps deadlines of its own (a late mark, a retry): the thread sleeps until the nearest one
or until it is woken after a commit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import structlog

from app.projections.tracking import CheckpointedLoop, move_checkpoint
from app.stores.base import ReadStore, Tx
from app.stores.commit import GroupCommitter

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def events_of(*aggregates: type) -> tuple[type, ...]:
    """Every event class declared on these aggregates (their `@event` methods' classes)."""
    return tuple(
        kind
        for aggregate in aggregates
        for kind in vars(aggregate).values()
        if isinstance(kind, type) and issubclass(kind, aggregate.Event)  # type: ignore[attr-defined]
    )


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a moment (a plant configures its own: `plant_day_of`)."""
    return moment.date()


class Follower(CheckpointedLoop, ABC):
    """Subclasses set `name`, `depends_on`, `tables` and implement `run_once`."""

    tables: tuple[str, ...] = ()
    #: event classes it reads (the store passes others over) and is woken by; empty: all
    topics: tuple[type, ...] = ()
    #: False: it never reads an event, only how far the log has moved (`topics` then only
    #: say what wakes it)
    reads_events: bool = True
    #: events read per round (unless the constructor is given another number)
    batch_size: int = 500
    #: False: it never looks at a person's name or identifiers, so events are read with
    #: those fields still sealed (`AuditedMapper.to_sealed_event`)
    reads_personal: bool = True

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        *,
        clock: Clock = system_clock,
        poll_s: float = 1.0,
        batch_size: int | None = None,
        busy: Callable[[], bool] | None = None,
    ) -> None:
        self.clock = clock
        self.busy = busy
        batch = batch_size or self.batch_size
        self._follow(app, store, poll_s=poll_s, batch_size=batch, tables=self.tables)

    # -- the log -------------------------------------------------------------------------

    def wake_topics(self) -> Sequence[type]:
        return self.topics

    def read(self) -> tuple[int, int, list[tuple[int, Any]]]:
        """(checkpoint, new end, the decoded events between them with their positions)."""
        start = self.position()
        limit = self._reachable()
        if limit <= start:
            return start, start, []
        if not self.reads_events:
            return start, limit, []
        notifications, end = self._notifications(start, limit, self.topics)
        mapper: Any = self.app.mapper
        decode = mapper.to_domain_event
        if not self.reads_personal:
            decode = getattr(mapper, "to_sealed_event", decode)
        return start, end, [(n.id, decode(n)) for n in notifications]

    def move(self, tx: Tx, start: int, end: int) -> bool:
        """Move the checkpoint from `start` to `end` in `tx`; False if another process did."""
        if end <= start:
            return True
        return move_checkpoint(tx, self.name, start, end)

    @abstractmethod
    def run_once(self) -> datetime | None:
        """Handle what is new and what is due; returns the next deadline it knows of."""

    def run_until_idle(self, rounds: int = 50) -> None:
        """Run until the log is read to the end of what it may read (tests, CLI)."""
        for _ in range(rounds):
            self.run_once()
            if self.position() >= self._reachable():
                return

    # -- the thread ------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            due: datetime | None = None
            self._defer()
            try:
                due = self.run_once()
                if self.position() < self._reachable():
                    continue  # more to read
            except Exception:  # keep following after a store hiccup; the log says why
                log.exception("follower round failed", follower=self.name)
                self._stop.wait(self.poll_s)  # a stop (SIGTERM) ends the wait at once
            wait = self.poll_s
            if due is not None:
                wait = min(wait, max((due - self.clock()).total_seconds(), 0.0))
            self._wake.wait(wait)
            self._wake.clear()


class CommittingFollower(Follower, ABC):
    """A follower that changes the training log (opens sessions, sends reminders, keeps
    rosters): it saves through the group committer and counts days in the plant's calendar
    (`day_of`: the plant day of a moment)."""

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        committer: GroupCommitter,
        *,
        clock: Clock = system_clock,
        day_of: Callable[[datetime], date] = utc_day,
        poll_s: float = 1.0,
    ) -> None:
        super().__init__(app, store, clock=clock, poll_s=poll_s, busy=committer.busy)
        self.committer = committer
        self.day_of = day_of
