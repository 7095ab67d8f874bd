"""Checkpoints in `projection_tracking`, one row per reader of the event log: the projections,
the subscribers and the alert followers. `CheckpointedLoop` is the thread the subscribers and
the followers share: it reads the log from its own checkpoint and never runs ahead of the
projections whose rows it reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.utils import get_topic

from app.projections.base import ddl
from app.projections.loop import LoopThread
from app.stores.base import ReadStore, Tx, iso


def track(tx: Tx, name: str) -> None:
    """Give `name` a checkpoint at the start of the log, unless it has one."""
    tx.execute(
        "INSERT INTO projection_tracking (name, position, updated_at) "
        "VALUES (:name, 0, :at) ON CONFLICT (name) DO NOTHING",
        {"name": name, "at": iso(datetime.now(UTC))},
    )


def checkpoint(store: ReadStore, name: str) -> int:
    """Where `name` has read the log to (0: nothing yet)."""
    row = store.fetch_one(
        "SELECT position FROM projection_tracking WHERE name = :name", {"name": name}
    )
    return int(row["position"]) if row else 0


def checkpoints(store: ReadStore) -> dict[str, int]:
    """Every reader's checkpoint, in one query."""
    rows = store.fetch("SELECT name, position FROM projection_tracking")
    return {row["name"]: int(row["position"]) for row in rows}


def move_checkpoint(tx: Tx, name: str, start: int, end: int, at: str | None = None) -> bool:
    """Move `name` from `start` to `end` in `tx` (compare-and-set); False if another process
    moved it first."""
    moved = tx.fetch(
        "UPDATE projection_tracking SET position = :end, updated_at = :at "
        "WHERE name = :name AND position = :start RETURNING position",
        {"end": end, "at": at or iso(datetime.now(UTC)), "name": name, "start": start},
    )
    return bool(moved)


def log_head(app: Any) -> int:
    """The position of the newest event in `app`'s log."""
    return int(app.recorder.max_notification_id() or 0)


class CheckpointedLoop(LoopThread):
    """A thread that follows `app`'s log from the checkpoint `name`; `depends_on` names the
    projections it must not pass. Subclasses call `_follow` in their `__init__`."""

    name: str = ""
    depends_on: tuple[str, ...] = ()

    def _follow(
        self,
        app: Any,
        store: ReadStore,
        *,
        poll_s: float,
        batch_size: int,
        tables: Iterable[str] = (),
    ) -> None:
        """Keep the log and the store, create `tables` and the checkpoint where missing."""
        self.app = app
        self.store = store
        self.poll_s = poll_s
        self.batch_size = batch_size
        self._setup_loop(self.name)
        with store.transaction() as tx:
            for statement in ddl(tables):
                tx.execute(statement)
            track(tx, self.name)

    def wake_topics(self) -> Sequence[type]:
        """The event classes whose projection wakes this loop at once (empty: every event);
        after others it looks on its next poll, so a burst of check-ins does not run a
        round of a follower that has nothing to do with them."""
        return ()

    def wake_for(self, topics: Collection[str]) -> None:
        """Wake now if events of these stored topics were just projected and concern it."""
        wanted = self.wake_topics()
        if not wanted or any(get_topic(t) in topics for t in wanted):
            self.wake()

    def position(self) -> int:
        """The checkpoint: every event up to here has been handled."""
        return checkpoint(self.store, self.name)

    def _reachable(self) -> int:
        """How far the log may be read: the head, or where the slowest dependency is."""
        if not self.depends_on:
            return log_head(self.app)
        positions = checkpoints(self.store)
        return min(positions.get(d, 0) for d in self.depends_on)

    def _notifications(
        self, after: int, stop: int, topics: Sequence[type] = ()
    ) -> tuple[Sequence[Any], int]:
        """Up to `batch_size` notifications after position `after`, none past `stop`, only
        of the event classes `topics` (all when empty), and the position read up to: `stop`,
        unless the batch filled up first. The store filters, so a follower of a few kinds of
        event neither fetches nor decodes the many check-ins of a busy log."""
        found = self.app.recorder.select_notifications(
            start=after + 1, limit=self.batch_size, stop=stop, topics=[get_topic(t) for t in topics]
        )
        return found, found[-1].id if len(found) >= self.batch_size else stop
