"""Runs projections: reads the notification log in order and applies each projection's
statements together with its new checkpoint, in one read-store transaction.

Written here rather than taken from `eventsourcing.projection`: that runner commits once
per event and needs recorder subscriptions, which the SQLite recorder does not offer;
batching many events per transaction is what makes rebuilds fast (docs/decisions/0002).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from eventsourcing.application import Application

from app.projections import schemas
from app.projections.base import Batch, Projection, ddl
from app.projections.loop import LoopThread
from app.projections.tracking import (
    CheckpointedLoop,
    checkpoint,
    checkpoints,
    log_head,
    move_checkpoint,
    track,
)
from app.stores.base import ReadStore, iso

log = structlog.get_logger(__name__)

#: the name a `CREATE TABLE/INDEX IF NOT EXISTS` statement creates
CREATED = re.compile(r"CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.I)


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


class ProjectionRunner(LoopThread):
    """Keeps read models up to date, live (a thread woken on commit) or from zero (rebuild)."""

    def __init__(
        self,
        app: Application,
        store: ReadStore,
        projections: Sequence[Projection],
        *,
        on_change: OnChange | None = None,
        poll_s: float = 0.2,
        batch_size: int = 250,
    ) -> None:
        self.app = app
        self.store = store
        self.projections = list(projections)
        self.on_change = on_change
        self.poll_s = poll_s
        #: events per projection per live round: small rounds keep each read-store
        #: transaction short, so on SQLite (one writer for events and read models) appends
        #: are not held up behind a long projection commit during a flood
        self.batch_size = batch_size
        #: woken after each round that applied events of theirs: workers that follow the
        #: projections
        self.followers: list[CheckpointedLoop] = []
        self._setup_loop("projections")
        self._caught_up = threading.Condition()
        self._listener: threading.Thread | None = None
        #: live pages' projections and what they depend on: a thread of their own keeps
        #: them current while the others work through a long round (empty: no such thread)
        self.live = _live_first(self.projections)
        self._live_wake = threading.Event()
        self._live_thread: threading.Thread | None = None
        self.create_tables()

    # -- schema and checkpoints ------------------------------------------------------------

    def create_tables(self) -> None:
        """Create what is missing. Existence is read from the catalogue first: `CREATE …
        IF NOT EXISTS` of an existing table or index still waits for locks live traffic
        holds, and a starting process must never queue behind a busy store."""
        stale, unrecorded = schemas.outdated(self.store, self.projections)
        statements = [(p, st) for p in self.projections for st in ddl(p.tables)]
        names = {st: m.group(1) for _, st in statements if (m := CREATED.search(st))}
        present = self.store.existing(list(names.values()))
        missing = [(p, st) for p, st in statements if names.get(st) not in present]
        if "projection_tracking" in present and not stale and not unrecorded:
            tracked = {r["name"] for r in self.store.fetch("SELECT name FROM projection_tracking")}
            if not missing and tracked >= {p.name for p in self.projections}:
                return
        with self.store.transaction() as tx:
            for _, statement in missing:
                tx.execute(statement)
            for projection in self.projections:
                track(tx, projection.name)
            for projection in stale:  # first: a start cut short after it remakes it again
                schemas.replay_from_start(tx, projection)
        for projection in stale:
            log.warning("read model made by another version: rebuilding it", name=projection.name)
            self.store.change_schema(schemas.remake(projection))
        with self.store.transaction() as tx:
            schemas.record(tx, self.projections)

    def position(self, name: str) -> int:
        return checkpoint(self.store, name)

    def head(self) -> int:
        return log_head(self.app)

    def status(self) -> list[ProjectionStatus]:
        head, positions = self.head(), self.positions()
        return [ProjectionStatus(p.name, positions.get(p.name, 0), head) for p in self.projections]

    # -- processing ------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        """Every projection's checkpoint, in one query."""
        return checkpoints(self.store)

    def _round(
        self, projections: Sequence[Projection], limit: int, decoded: dict[int, Any]
    ) -> tuple[int, list[tuple[set[str], int]], int, set[str]]:
        """Apply up to `limit` events to each projection, all in one read-store transaction
        (one commit for the round, not one per projection), each checkpoint moved with a
        compare-and-set. Returns (events applied, changes per projection, slowest position,
        the stored topics of the events applied).

        Projections go in dependency order: a projection never passes the position its
        dependencies reach in this round, and reads their rows in the same transaction.
        Each stretch of the log is read and decoded once for all projections (`decoded`);
        a projection far behind (new, or rebuilt) advances without holding up the others.
        Raises `CheckpointMovedError`, rolling everything back, if another runner moved a
        checkpoint meanwhile."""
        stored = self.positions()
        reached = dict(stored)
        mapper: Any = self.app.mapper
        read: dict[int, Sequence[Any]] = {}
        work: list[tuple[Projection, int, int, Batch]] = []
        applied = 0
        topics: set[str] = set()
        for projection in projections:
            start = stored.get(projection.name, 0)
            stop = min((reached.get(dep, 0) for dep in projection.depends_on), default=None)
            if stop is not None and stop <= start:
                continue
            if start not in read:
                read[start] = self.app.recorder.select_notifications(start=start + 1, limit=limit)
                _decode_together(mapper, projections, read[start], decoded)
            batch = Batch()
            end = start
            handled = projection.topics
            for notification in read[start]:
                if stop is not None and notification.id > stop:
                    break
                if handled is not None and notification.topic not in handled:
                    end = notification.id  # nothing of its own: passed over, not decoded
                    applied += 1
                    topics.add(notification.topic)
                    continue
                event = projection.decoded(notification) or decoded.get(notification.id)
                if event is None:
                    event = decoded[notification.id] = mapper.to_domain_event(notification)
                batch.position = notification.id
                projection.apply(event, batch)
                end = notification.id
                applied += 1
                topics.add(notification.topic)
            if end > start:
                reached[projection.name] = end
                work.append((projection, start, end, batch))
        if work:
            at = iso(datetime.now(UTC))
            # Read models are rebuilt from the log: their commit need not wait for the disk.
            with self.store.transaction(durable=False) as tx:
                for projection, start, end, batch in work:
                    if not move_checkpoint(tx, projection.name, start, end, at):
                        raise CheckpointMovedError(projection.name)
                    tx.run(batch.finish())
        changes = [(batch.changes, end) for _, _, end, batch in work if batch.changes]
        slowest = min((reached.get(p.name, 0) for p in projections), default=0)
        return applied, changes, slowest, topics

    def run_once(self, limit: int | None = None) -> int:
        """Bring every projection up to the head of the log. Returns events applied."""
        return self._rounds(self.projections, limit or self.batch_size, notify=True)

    def _rounds(
        self,
        projections: Sequence[Projection],
        limit: int,
        *,
        notify: bool,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Rounds until nothing moves; view changes are announced after each round commits."""
        total = 0
        decoded: dict[int, Any] = {}
        head = self.head() if progress is not None else 0
        while True:
            try:
                applied, changes, slowest, topics = self._round(projections, limit, decoded)
            except CheckpointMovedError:
                continue  # another runner got there first: read the checkpoints again
            total += applied
            if notify and self.on_change is not None:
                for sessions, position in changes:
                    self.on_change(sessions, position)
            if notify and applied:
                for follower in self.followers:
                    follower.wake_for(topics)
            for seen in [k for k in decoded if k <= slowest]:
                del decoded[seen]
            if progress is not None:
                progress(min(slowest, head), head)
            if applied == 0:
                return total

    def wait_until_caught_up(self, timeout: float = 10.0) -> bool:
        """Block until every projection reached the head as it is now (tests, demo, CLI)."""
        target = self.head()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            positions = self.positions()
            if all(positions.get(p.name, 0) >= target for p in self.projections):
                return True
            if self._thread is None:
                self.run_once()
            else:
                self.wake()
                time.sleep(0.01)
        return False

    # -- live thread -----------------------------------------------------------------------

    def wake(self) -> None:
        super().wake()
        self._live_wake.set()

    def _started(self) -> None:
        # commits in other processes (scale-out web processes) wake this runner too
        self._listener = threading.Thread(
            target=self.store.listen_committed,
            args=(self.wake, self._stop),
            name="projections-listen",
            daemon=True,
        )
        self._listener.start()
        if self.live:
            self._live_thread = threading.Thread(
                target=self._follow_live, name="projections-live", daemon=True
            )
            self._live_thread.start()

    def _stopped(self) -> None:
        self._live_wake.set()
        for thread in (self._listener, self._live_thread):
            if thread is not None:
                thread.join(timeout=10)
        self._listener = self._live_thread = None

    def _loop(self) -> None:
        others = [p for p in self.projections if p not in self.live]
        self._poll(
            lambda: self._rounds(others, self.batch_size, notify=True), "projection run failed"
        )

    def _follow_live(self) -> None:
        """The live projections' own thread: a check-in reaches the wallboards after a round
        of these few, not behind the others' rounds (docs/decisions/0135)."""
        while not self._stop.is_set():
            self._live_wake.wait(self.poll_s)
            self._live_wake.clear()
            try:
                self._rounds(self.live, self.batch_size, notify=True)
            except Exception:  # keep following; the log says why
                log.exception("live projection run failed")
                self._stop.wait(self.poll_s)

    # -- rebuild ---------------------------------------------------------------------------

    def rebuild(
        self, names: Sequence[str] | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Clear the named projections (all by default) and replay the whole log into them."""
        chosen = [p for p in self.projections if names is None or p.name in names]
        for projection in chosen:
            with self.store.transaction() as tx:
                for table in projection.owned_tables:
                    # the table names are the projection's own constants
                    tx.execute(f"DELETE FROM {table}")  # nosec B608
                tx.execute(
                    "UPDATE projection_tracking SET position = 0 WHERE name = :name",
                    {"name": projection.name},
                )
        return self._rounds(chosen, 5000, notify=False, progress=progress)


def _live_first(projections: Sequence[Projection]) -> list[Projection]:
    """The projections marked `live` and those they depend on, in the runner's order; empty
    when none is marked or all of them are (then one thread does it all)."""
    names: set[str] = set()
    for projection in reversed(projections):  # dependencies come before their dependants
        if projection.live or projection.name in names:
            names.add(projection.name)
            names.update(projection.depends_on)
    chosen = [p for p in projections if p.name in names]
    return chosen if len(chosen) < len(projections) else []


def _decode_together(
    mapper: Any, projections: Sequence[Projection], read: Sequence[Any], decoded: dict[int, Any]
) -> None:
    """Decode the events of `read` the projections will ask for in one go, where the mapper
    can (`AuditedMapper.to_domain_events`: the people's keys in one query, not one each).
    Projections that decode for themselves (`decoded`) are left to it."""
    decode_many = getattr(mapper, "to_domain_events", None)
    mapped = [p for p in projections if type(p).decoded is Projection.decoded]
    if decode_many is None or not mapped:
        return
    wanted: set[str] | None = set()
    for projection in mapped:
        if projection.topics is None:
            wanted = None
            break
        wanted |= projection.topics
    todo = [n for n in read if n.id not in decoded and (wanted is None or n.topic in wanted)]
    if todo:
        decoded.update(zip((n.id for n in todo), decode_many(todo), strict=True))
