"""Work that follows events (photo analysis, anomaly rules): a subscriber reads the event
log in order from its own checkpoint, kept in the projections' tracking table, and its
results are new events.

A subscriber's work may finish later than its event is read (an analysis takes seconds in
a vision process): `handle` returns the futures of the work it started, and the checkpoint
only moves past an event once all work started for it and for every event before it is
done. A restart resumes from there, so work in flight when a process stopped is started
again; subscribers make that harmless by looking at the aggregate before acting (a photo
already analysed is not analysed again, an anomaly already flagged is not flagged twice).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application

from app.projections.tracking import CheckpointedLoop
from app.stores.base import ReadStore, iso


class Subscriber(ABC):
    """Reacts to events. Subclasses set `name` (its checkpoint) and `depends_on` (the
    projections whose rows it reads: it never handles an event before they have applied it)."""

    name: str = ""
    depends_on: tuple[str, ...] = ()
    #: event classes it handles (others are skipped without decoding work)
    topics: tuple[type, ...] = ()

    @abstractmethod
    def handle(self, event: Any) -> Sequence[Future[Any]]:
        """React to one event; the futures of work that finishes later (none if done)."""

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Store what `handle` gathered; the runner calls it after each read of the log and
        before its checkpoint passes those events."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the subscriber holds (process pools)."""


class SubscriberRunner(CheckpointedLoop):
    """Feeds one subscriber the log from its checkpoint, live (a thread woken after each
    projection round and each commit) or step by step (`run_once`, tests and CLI)."""

    def __init__(
        self,
        app: Application,
        store: ReadStore,
        subscriber: Subscriber,
        *,
        poll_s: float = 0.2,
        batch_size: int = 200,
        max_pending: int = 64,
        busy: Callable[[], bool] | None = None,
        defer_s: float = 0.0,
    ) -> None:
        self.subscriber = subscriber
        self.busy = busy
        self.defer_s = defer_s
        self.name = subscriber.name
        self.depends_on = subscriber.depends_on
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._pending: dict[int, list[Future[Any]]] = {}
        self._follow(app, store, poll_s=poll_s, batch_size=batch_size)
        self._saved = self.position()
        self._cursor = self._saved

    def _undone(self) -> int:
        with self._lock:
            for position in [p for p, fs in self._pending.items() if all(f.done() for f in fs)]:
                del self._pending[position]
            return sum(len(fs) for fs in self._pending.values())

    def wake_topics(self) -> Sequence[type]:
        return self.subscriber.topics

    def run_once(self) -> int:
        """Hand the subscriber the events it may see now (up to `batch_size` per read) and
        move the checkpoint as far as finished work allows. Returns events handled."""
        handled = 0
        mapper: Any = self.app.mapper
        topics = self.subscriber.topics
        while self._undone() < self.max_pending:
            stop = self._reachable()
            if stop <= self._cursor:
                break
            notifications, end = self._notifications(self._cursor, stop, topics)
            for notification in notifications:
                event = mapper.to_domain_event(notification)
                futures = list(self.subscriber.handle(event))
                if futures:
                    with self._lock:
                        self._pending[notification.id] = futures
                    for future in futures:
                        future.add_done_callback(lambda _: self._wake.set())
                self._cursor = notification.id
                handled += 1
                if self._undone() >= self.max_pending:
                    break
            else:
                self._cursor = end  # what lies between is not the subscriber's
            self.subscriber.flush()
        self._save()
        return handled

    def _save(self) -> None:
        """Move the checkpoint to just before the first event whose work is not done."""
        self._undone()
        with self._lock:
            first_open = min(self._pending, default=None)
        reached = self._cursor if first_open is None else first_open - 1
        if reached <= self._saved:
            return
        with self.store.transaction() as tx:
            tx.execute(
                "UPDATE projection_tracking SET position = :p, updated_at = :at "
                "WHERE name = :name AND position < :p",
                {"p": reached, "at": iso(datetime.now(UTC)), "name": self.name},
            )
        self._saved = reached

    def idle(self) -> bool:
        """Nothing in flight and the checkpoint at the head of what it may read."""
        return self._undone() == 0 and self.position() >= self._reachable()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Block until every event it may read is handled and its work done (tests, CLI)."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                if self._thread is None:
                    self.run_once()
                else:
                    self.wake()
                if self.idle():
                    return True
                deadline.wait(0.02)
            return False
        finally:
            timer.cancel()

    # -- live thread -----------------------------------------------------------------------

    def close(self) -> None:
        self.stop()
        self.subscriber.close()

    def _loop(self) -> None:
        self._poll(self.run_once, "subscriber round failed", subscriber=self.name)
