"""Runs projections: reads the notification log in order and applies each projection's
statements together with its new checkpoint, in one read-store transaction.

Written here rather than taken from `eventsourcing.projection`: that runner commits once
per event and needs recorder subscriptions, which the SQLite recorder does not offer;
batching many events per transaction is what makes rebuilds fast (docs/decisions/0002).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from eventsourcing.application import Application

from app.projections.base import Batch, Projection, ddl
from app.stores.base import ReadStore, iso

log = structlog.get_logger(__name__)

OnChange = Callable[[set[str], int], None]


class CheckpointMovedError(RuntimeError):
    """Another runner advanced the checkpoint first; this batch was rolled back."""


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class ProjectionRunner:
    """Keeps read models up to date, live (a thread woken on commit) or from zero (rebuild)."""

    def __init__(
        self,
        app: Application,
        store: ReadStore,
        projections: Sequence[Projection],
        *,
        on_change: OnChange | None = None,
        poll_s: float = 0.2,
        batch_size: int = 1000,
    ) -> None:
        self.app = app
        self.store = store
        self.projections = list(projections)
        self.on_change = on_change
        self.poll_s = poll_s
        self.batch_size = batch_size
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._caught_up = threading.Condition()
        self._thread: threading.Thread | None = None
        self.create_tables()

    # -- schema and checkpoints ------------------------------------------------------------

    def create_tables(self) -> None:
        with self.store.transaction() as tx:
            for projection in self.projections:
                for statement in ddl(projection.tables):
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO projection_tracking (name, position, updated_at) "
                    "VALUES (:name, 0, :at) ON CONFLICT (name) DO NOTHING",
                    {"name": projection.name, "at": iso(datetime.now(UTC))},
                )

    def position(self, name: str) -> int:
        row = self.store.fetch_one(
            "SELECT position FROM projection_tracking WHERE name = :name", {"name": name}
        )
        return int(row["position"]) if row else 0

    def head(self) -> int:
        return int(self.app.recorder.max_notification_id() or 0)

    def status(self) -> list[ProjectionStatus]:
        head = self.head()
        return [ProjectionStatus(p.name, self.position(p.name), head) for p in self.projections]

    # -- processing ------------------------------------------------------------------------

    def _process(self, projection: Projection, limit: int) -> tuple[int, set[str], int]:
        """Apply the next `limit` events to one projection. Returns (count, changes, position)."""
        start = self.position(projection.name)
        stop = min((self.position(dep) for dep in projection.depends_on), default=None)
        if stop is not None and stop <= start:
            return 0, set(), start
        notifications = self.app.recorder.select_notifications(
            start=start + 1, limit=limit, stop=stop
        )
        if not notifications:
            return 0, set(), start
        batch = Batch()
        mapper: Any = self.app.mapper
        for notification in notifications:
            projection.apply(mapper.to_domain_event(notification), batch)
        end = notifications[-1].id
        with self.store.transaction() as tx:
            moved = tx.fetch(
                "UPDATE projection_tracking SET position = :end, updated_at = :at "
                "WHERE name = :name AND position = :start RETURNING position",
                {"end": end, "at": iso(datetime.now(UTC)), "name": projection.name, "start": start},
            )
            if not moved:
                raise CheckpointMovedError(projection.name)
            tx.run(batch.statements)
        return len(notifications), batch.changes, end

    def run_once(self, limit: int | None = None) -> int:
        """Bring every projection up to the head of the log. Returns events applied."""
        total = 0
        for projection in self.projections:
            while True:
                try:
                    count, changes, position = self._process(projection, limit or self.batch_size)
                except CheckpointMovedError:
                    continue
                total += count
                if changes and self.on_change is not None:
                    self.on_change(changes, position)
                if count == 0:
                    break
        return total

    def wait_until_caught_up(self, timeout: float = 10.0) -> bool:
        """Block until every projection reached the head as it is now (tests, demo, CLI)."""
        target = self.head()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.position(p.name) >= target for p in self.projections):
                return True
            if self._thread is None:
                self.run_once()
            else:
                self.wake()
                time.sleep(0.01)
        return False

    # -- live thread -----------------------------------------------------------------------

    def wake(self) -> None:
        """Called after each commit in this process: project without waiting for the poll."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="projections", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                self.run_once()
            except Exception:  # keep projecting after a store hiccup; the log says why
                log.exception("projection run failed")
                time.sleep(self.poll_s)

    # -- rebuild ---------------------------------------------------------------------------

    def rebuild(
        self, names: Sequence[str] | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Clear the named projections (all by default) and replay the whole log into them."""
        chosen = [p for p in self.projections if names is None or p.name in names]
        head = self.head()
        total = 0
        for projection in chosen:
            with self.store.transaction() as tx:
                for table in projection.owned_tables:
                    tx.execute(f"DELETE FROM {table}")
                tx.execute(
                    "UPDATE projection_tracking SET position = 0 WHERE name = :name",
                    {"name": projection.name},
                )
            while True:
                count, _, position = self._process(projection, 5000)
                total += count
                if progress is not None:
                    progress(min(position, head), head)
                if count == 0:
                    break
        return total
