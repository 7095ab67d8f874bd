"""One daemon thread that follows the event log: started, woken early and stopped the same
way for the projection runner, the subscribers and the alert followers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)


class LoopThread:
    """Runs `self._loop()` on a daemon thread named `thread_name` until `stop()`.

    `_loop` waits on `self._wake` between rounds and returns once `self._stop` is set.
    Subclasses call `_setup_loop` in their `__init__`; `_started`/`_stopped` add threads
    of their own (the runner's NOTIFY listener)."""

    #: seconds between rounds when nothing wakes the thread
    poll_s: float
    #: whether the event store's writer has a queue now (`GroupCommitter.busy`); None:
    #: rounds never wait for it
    busy: Callable[[], bool] | None = None
    #: the longest a round waits while `busy()` (0: it never waits)
    defer_s: float = 0.0

    def _setup_loop(self, thread_name: str) -> None:
        self.thread_name = thread_name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread follows the log now."""
        return self._thread is not None

    def wake(self) -> None:
        """New events or finished work: look again without waiting for the poll."""
        self._wake.set()

    def start(self) -> None:
        """Start following (again after `stop`); a second call while running does nothing."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()
            self._started()

    def stop(self) -> None:
        """Stop after the current round; waits up to 10 s for the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._stopped()

    def _started(self) -> None:
        """Hook: the thread has just started."""

    def _stopped(self) -> None:
        """Hook: the thread has just stopped."""

    def _loop(self) -> None:
        raise NotImplementedError

    def yield_to(self, busy: Callable[[], bool], up_to_s: float) -> None:
        """Wait up to `up_to_s` before a round while `busy()` (for a thread built before
        what it yields to: the projection runner, which the group committer wakes)."""
        self.busy = busy
        self.defer_s = up_to_s

    def _defer(self) -> None:
        """Let a burst of writes go first: wait while the writer is busy, at most `defer_s`.
        The replies wait on the writer, this round does not; the round after the burst
        reads everything the burst wrote at once (decision 0136)."""
        if self.busy is None or self.defer_s <= 0:
            return
        deadline = time.monotonic() + self.defer_s
        while self.busy() and not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(0.05, left))

    def _poll(self, run_once: Callable[[], object], failed: str, **context: str) -> None:
        """A `_loop`: wait for a wake-up or `poll_s`, run a round. A failed round (a store
        hiccup) is logged as `failed` with `context` and retried after `poll_s`."""
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            self._defer()
            try:
                run_once()
            except Exception:  # keep following; the log says why
                log.exception(failed, **context)
                self._stop.wait(self.poll_s)
