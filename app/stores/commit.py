"""Group commit: many concurrent check-ins share one event-store transaction.

One append per transaction is bound by fsync (~2,700/s SQLite, ~1,000/s PostgreSQL);
a hundred per transaction reach 13,000–19,000/s. A single writer thread gathers what
arrives within a few milliseconds, saves it in one call, and answers each caller only
after the commit. A duplicate id fails the whole transaction, so that group is retried
item by item and only the duplicate's caller sees the error.

Everything is bounded, so a storm is answered instead of queued until it times out:
the queue holds at most `max_queued` parts (more is `Overloaded`, 429), a transaction at
most `max_parts`, and a watchdog answers a group that is not committed within
`timeout_s` (plus the time its size needs at `min_events_per_s`: an import of a whole
plant is one large transaction, not a stuck one) with `WriteFailed` (503) instead of
letting its callers wait, asks the store to cancel the stuck write (`on_stall`), and
turns new writes away until it returns.
Both carry `retry_after_s`; a resent check-in is idempotent, so a 503 whose group did
commit in the end is answered `replayed` the second time.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, InvalidStateError
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

log = structlog.get_logger(__name__)


class WriteUnavailable(Exception):
    """The store cannot take this write now; resending after `retry_after_s` is safe."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class Overloaded(WriteUnavailable):
    """More is waiting to be stored than the store can take soon: nothing was queued."""


class WriteFailed(WriteUnavailable):
    """The write failed or did not finish in time: not acknowledged."""


@dataclass
class _Item:
    """One caller's appends: independent parts (each all or nothing), answered together with
    one outcome per part (None: committed; an exception: that part was not)."""

    parts: list[list[Any]]
    future: Future[list[BaseException | None]] = field(default_factory=Future)


def _settle(future: Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    """Answer a caller unless the watchdog already did."""
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass


class GroupCommitter:
    """Serialises appends through one thread, batching them into shared transactions."""

    def __init__(
        self,
        app: Application,
        *,
        window_s: float = 0.002,
        max_batch: int = 500,
        max_parts: int = 2000,
        max_queued: int = 4_000,
        timeout_s: float = 5.0,
        min_events_per_s: float = 2_000.0,
        on_commit: Callable[[], None] | None = None,
        on_stall: Callable[[], None] | None = None,
        busy_above: int = 32,
    ) -> None:
        self.app = app
        self.busy_above = busy_above
        self.window_s = window_s
        self.max_batch = max_batch
        self.max_parts = max_parts
        self.max_queued = max_queued
        self.timeout_s = timeout_s
        self.min_events_per_s = min_events_per_s
        self.on_commit = on_commit
        self.on_stall = on_stall
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued = 0  # parts waiting, not yet taken by the writer
        self._admitted = 0  # parts of callers admitted and not yet answered
        # the group being written, with the moment it is overdue
        self._current: tuple[float, list[_Item]] | None = None
        self._stalled = False
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()
        self._watchdog = threading.Thread(target=self._watch, name="commit-watchdog", daemon=True)
        self._watchdog.start()
        self.transactions = 0
        self.appended = 0
        self.turned_away = 0
        self.timed_out = 0

    # -- callers ---------------------------------------------------------------------------

    @contextmanager
    def admitted(self, parts: int) -> Iterator[None]:
        """Hold room for `parts` from before the caller's lookups until it is answered:
        raise `Overloaded` (or `WriteFailed` while the store is stuck) at once when more
        than `max_queued` would be in hand, so a storm is turned away before any work."""
        with self._lock:
            if self._stalled:
                raise WriteFailed("the store is not answering", self._retry_after())
            if self._admitted and self._admitted + parts > self.max_queued:
                self.turned_away += parts
                raise Overloaded("too much is waiting to be stored", self._retry_after())
            self._admitted += parts
        try:
            yield
        finally:
            with self._lock:
                self._admitted -= parts

    def busy(self) -> bool:
        """Whether more than `busy_above` writes are in hand (callers admitted and not yet
        answered, parts queued): a burst is being answered, and the followers that may
        wait let it go first (decision 0136)."""
        return max(self._admitted, self._queued) > self.busy_above

    def submit(self, *aggregates: Any) -> Future[None]:
        """Queue the pending events of `aggregates` (all or nothing); resolves after commit."""
        events = [e for agg in aggregates for e in agg.collect_events()]
        done: Future[None] = Future()

        def settle(outcomes: Future[list[BaseException | None]]) -> None:
            error = outcomes.exception()
            if error is None:
                (error,) = outcomes.result()
            if error is None:
                done.set_result(None)
            else:
                done.set_exception(error)

        self._enqueue([events]).add_done_callback(settle)
        return done

    def submit_each(self, aggregates: Sequence[Any]) -> Future[list[BaseException | None]]:
        """Queue independent aggregates (or lists of aggregates saved all or nothing);
        resolves after commit with one outcome each (None: committed; an exception: not),
        so one duplicate fails only its own. A batch of check-ins waits on one future, not
        on hundreds."""
        return self._enqueue(
            [
                [
                    e
                    for agg in (one if isinstance(one, list) else [one])
                    for e in agg.collect_events()
                ]
                for one in aggregates
            ]
        )

    def save(self, *aggregates: Any) -> None:
        """Submit and wait (for callers already on a worker thread)."""
        self.submit(*aggregates).result()

    def close(self) -> None:
        self._closed.set()
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _refuse_if_full(self, parts: int) -> None:
        if self._stalled:
            raise WriteFailed("the store is not answering", self._retry_after())
        if self._queued and self._queued + parts > self.max_queued:
            self.turned_away += parts
            raise Overloaded("too much is waiting to be stored", self._retry_after())

    def _retry_after(self) -> int:
        # about how long the queue takes to drain at a few thousand parts a second
        waiting = max(self._queued, self._admitted) // 5000
        return int(min(30, 1 + waiting + (2 * self.timeout_s if self._stalled else 0)))

    def _enqueue(self, parts: list[list[Any]]) -> Future[list[BaseException | None]]:
        item = _Item(parts)
        if not parts:
            item.future.set_result([])
            return item.future
        with self._lock:
            try:
                self._refuse_if_full(len(parts))
            except WriteUnavailable as refused:
                item.future.set_exception(refused)
                return item.future
            self._queued += len(parts)
        self._queue.put(item)
        return item.future

    # -- the writer ------------------------------------------------------------------------

    def _gather(self, first: _Item) -> tuple[list[_Item], bool]:
        batch = [first]
        parts = len(first.parts)
        deadline = time.monotonic() + self.window_s
        stop = False
        while len(batch) < self.max_batch and parts < self.max_parts:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            batch.append(item)
            parts += len(item.parts)
        with self._lock:
            self._queued -= parts
        return batch, stop

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            events = sum(len(part) for item in batch for part in item.parts)
            allowed = self.timeout_s + events / self.min_events_per_s
            with self._lock:
                self._current = (time.monotonic() + allowed, batch)
            try:
                self._commit(batch)
            finally:
                with self._lock:
                    self._current = None
                    self._stalled = False
            if stop:
                return

    def _commit(self, batch: Sequence[_Item]) -> None:
        try:
            self.app.save(*[e for item in batch for part in item.parts for e in part])
        except IntegrityError:
            # Someone in the group was a duplicate: commit each part alone, so only its
            # caller hears about it.
            for item in batch:
                _settle(item.future, result=[self._commit_part(part) for part in item.parts])
            self._committed()
            return
        except Exception as exc:
            self._failed(batch, exc)
            return
        self.transactions += 1
        self.appended += sum(len(item.parts) for item in batch)
        for item in batch:
            _settle(item.future, result=[None] * len(item.parts))
        self._committed()

    def _failed(self, batch: Sequence[_Item], exc: Exception) -> None:
        """Nothing of the group was stored. One caller's write can fail a shared
        transaction, so when others shared it and the store still answers quickly, each
        caller is tried once on its own; otherwise every caller hears 503."""
        log.error("group commit failed", error=str(exc), items=len(batch))
        pending = [item for item in batch if not item.future.done()]
        if len(pending) > 1 and not self._stalled and not self._closed.is_set():
            for item in pending:
                try:
                    self.app.save(*[e for part in item.parts for e in part])
                except IntegrityError:
                    _settle(item.future, result=[self._commit_part(p) for p in item.parts])
                except Exception as alone:
                    _settle(item.future, error=WriteFailed(str(alone)[:200], self._retry_after()))
                else:
                    self.transactions += 1
                    self.appended += len(item.parts)
                    _settle(item.future, result=[None] * len(item.parts))
            self._committed()
            return
        failure = WriteFailed(str(exc)[:200], self._retry_after())
        for item in pending:
            _settle(item.future, error=failure)

    def _commit_part(self, part: list[Any]) -> BaseException | None:
        try:
            self.app.save(*part)
        except IntegrityError:
            return IntegrityError("duplicate aggregate")
        except Exception as exc:
            log.error("commit failed", error=str(exc))
            return WriteFailed(str(exc)[:200], self._retry_after())
        self.transactions += 1
        self.appended += 1
        return None

    def _committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()

    # -- the watchdog ----------------------------------------------------------------------

    def _watch(self) -> None:
        """Answer a group that takes too long with 503 rather than let its callers wait,
        and ask the store to cancel the stuck write."""
        while not self._closed.wait(min(0.25, self.timeout_s / 4)):
            with self._lock:
                current = self._current
                if current is None or self._stalled:
                    continue
                overdue_at, batch = current
                if time.monotonic() < overdue_at:
                    continue
                self._stalled = True
            self.timed_out += sum(len(item.parts) for item in batch)
            log.error("group commit stalled", items=len(batch), after_s=self.timeout_s)
            failure = WriteFailed("the store did not answer in time", self._retry_after())
            for item in batch:
                _settle(item.future, error=failure)
            if self.on_stall is not None:
                try:
                    self.on_stall()
                except Exception as exc:
                    log.warning("could not cancel the stuck write", error=str(exc))
