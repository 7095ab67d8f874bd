"""A worker that follows the event log with its own checkpoint, like a projection: the alert
engine and the alert delivery are two.

Its checkpoint is a row of `projection_tracking`, moved with a compare-and-set, so two
processes never both act on one stretch of the log for long, and a restart resumes where it
stopped. It never runs ahead of the projections it reads (`depends_on`). Besides events it
keeps deadlines of its own (a late mark, a retry): the thread sleeps until the nearest one
or until it is woken after a commit.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from app.projections.base import ddl
from app.projections.loop import LoopThread
from app.stores.base import ReadStore, Tx, iso

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Follower(LoopThread, ABC):
    """Subclasses set `name`, `depends_on`, `tables` and implement `run_once`."""

    name: str = ""
    depends_on: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        *,
        clock: Clock = system_clock,
        poll_s: float = 1.0,
        batch_size: int = 500,
    ) -> None:
        self.app = app
        self.store = store
        self.clock = clock
        self.poll_s = poll_s
        self.batch_size = batch_size
        self._setup_loop(self.name)
        with store.transaction() as tx:
            for statement in ddl(self.tables):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO projection_tracking (name, position, updated_at) "
                "VALUES (:name, 0, :at) ON CONFLICT (name) DO NOTHING",
                {"name": self.name, "at": iso(datetime.now(UTC))},
            )

    # -- the log -------------------------------------------------------------------------

    def position(self) -> int:
        row = self.store.fetch_one(
            "SELECT position FROM projection_tracking WHERE name = :n", {"n": self.name}
        )
        return int(row["position"]) if row else 0

    def _limit(self) -> int:
        """How far it may read: as far as the slowest projection it depends on."""
        if not self.depends_on:
            return int(self.app.recorder.max_notification_id() or 0)
        params = {f"d{i}": d for i, d in enumerate(self.depends_on)}
        rows = self.store.fetch(
            "SELECT name, position FROM projection_tracking WHERE name IN "
            f"({', '.join(':' + k for k in params)})",
            params,
        )
        found = {r["name"]: int(r["position"]) for r in rows}
        return min(found.get(d, 0) for d in self.depends_on)

    def read(self) -> tuple[int, int, list[tuple[int, Any]]]:
        """(checkpoint, new end, the decoded events between them with their positions)."""
        start = self.position()
        limit = self._limit()
        if limit <= start:
            return start, start, []
        notifications = self.app.recorder.select_notifications(
            start=start + 1, limit=self.batch_size, stop=limit
        )
        mapper: Any = self.app.mapper
        events = [(n.id, mapper.to_domain_event(n)) for n in notifications]
        end = notifications[-1].id if notifications else start
        return start, end, events

    def move(self, tx: Tx, start: int, end: int) -> bool:
        """Move the checkpoint from `start` to `end` in `tx`; False if another process did."""
        if end <= start:
            return True
        moved = tx.fetch(
            "UPDATE projection_tracking SET position = :end, updated_at = :at "
            "WHERE name = :name AND position = :start RETURNING position",
            {"end": end, "at": iso(datetime.now(UTC)), "name": self.name, "start": start},
        )
        return bool(moved)

    @abstractmethod
    def run_once(self) -> datetime | None:
        """Handle what is new and what is due; returns the next deadline it knows of."""

    def run_until_idle(self, rounds: int = 50) -> None:
        """Run until the log is read to the end of what it may read (tests, CLI)."""
        for _ in range(rounds):
            self.run_once()
            if self.position() >= self._limit():
                return

    # -- the thread ------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            due: datetime | None = None
            try:
                due = self.run_once()
                if self.position() < self._limit():
                    continue  # more to read
            except Exception:  # keep following after a store hiccup; the log says why
                log.exception("follower round failed", follower=self.name)
                time.sleep(self.poll_s)
            wait = self.poll_s
            if due is not None:
                wait = min(wait, max((due - self.clock()).total_seconds(), 0.0))
            self._wake.wait(wait)
            self._wake.clear()
