"""Running vision jobs off the event loop: a small pool of worker processes.

* Models load once per process (the initializer), not per job.
* The queue is bounded: ``submit`` raises ``RunnerBusy`` when it is full (back-pressure).
* Every job has a deadline; a job past it has its process killed and fails with ``timeout``.
* A job that crashes its process (segfault, ``os._exit``) fails with ``worker_crashed``; a job
  that raises fails with the error's reason code. The process is replaced, other jobs go on.
* Results are ``JobOutcome``s (never exceptions), awaitable from asyncio.

Each worker has its own pipe, so the runner always knows which job a dead process was running:
``ProcessPoolExecutor`` cannot say that, and fails every pending job when one process dies.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import itertools
import multiprocessing
import multiprocessing.connection
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from vision.errors import VisionError

T = TypeVar("T")
MAX_STARTUP_FAILURES = 5


class RunnerBusy(VisionError):
    """The queue is full: try again later (HTTP 503 + Retry-After)."""

    reason = "busy"


@dataclass(frozen=True)
class JobOutcome(Generic[T]):
    """A finished job: ``value`` when ``ok``, else a ``reason`` code and a ``detail`` for logs."""

    ok: bool
    value: T | None = None
    reason: str | None = None
    detail: str = ""
    elapsed_ms: float = 0.0


def warm_models() -> None:
    """Default initializer: load every model once in the new worker process."""
    _room_analyzer()
    _face_engine()


@functools.cache
def _room_analyzer() -> Any:
    from vision.room.analysis import DlibRoomAnalyzer

    return DlibRoomAnalyzer()


@functools.cache
def _face_engine() -> Any:
    from vision.identity.engine import DlibFaceEngine

    return DlibFaceEngine()


def analyse_room_job(data: bytes, kit: Any = None, earlier: Sequence[bytes] = ()) -> Any:
    """Worker job: ``DlibRoomAnalyzer.analyse`` with this process's loaded models."""
    return _room_analyzer().analyse(data, kit, earlier)


def check_selfie_job(data: bytes) -> Any:
    """Worker job: ``DlibFaceEngine.check_selfie``."""
    return _face_engine().check_selfie(data)


def verify_job(data: bytes, templates: Any) -> Any:
    """Worker job: ``DlibFaceEngine.verify``."""
    return _face_engine().verify(data, templates)


def identify_job(data: bytes, roster: Any, plant: Any = None) -> Any:
    """Worker job: ``DlibFaceEngine.identify``."""
    return _face_engine().identify(data, roster, plant)


def photo_facts_job(data: bytes) -> Any:
    """Worker job: ``forensics.photo_facts`` (hashes and EXIF)."""
    from vision.forensics.facts import photo_facts

    return photo_facts(data)


def _worker_main(conn: Connection, initializer: Callable[[], None] | None) -> None:
    if initializer is not None:
        initializer()
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, fn, args = message
        try:
            reply = (job_id, True, fn(*args), "")
        except VisionError as e:
            reply = (job_id, False, e.reason, str(e))
        except Exception as e:
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            reply = (job_id, False, "job_failed", detail)
        try:
            conn.send(reply)
        except Exception as e:  # the result would not pickle
            conn.send((job_id, False, "job_failed", f"unsendable result: {e!r}"))


@dataclass
class _Job:
    job_id: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    timeout: float
    future: Future[JobOutcome[Any]]
    started: float = 0.0


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    ready: bool = False
    job: _Job | None = None
    deadline: float = field(default=float("inf"))


class VisionRunner:
    """A pool of vision worker processes with a bounded queue and per-job timeouts.

    Use as a context manager, or call ``start``/``close``. Thread-safe; the async methods may
    be awaited from any event loop.
    """

    def __init__(
        self,
        processes: int = 2,
        queue_size: int = 8,
        timeout: float = 10.0,
        initializer: Callable[[], None] | None = warm_models,
        start_method: str = "forkserver",
    ) -> None:
        self.processes = processes
        self.queue_size = queue_size
        self.timeout = timeout
        self._initializer = initializer
        self._ctx = multiprocessing.get_context(start_method)
        self._lock = threading.Lock()
        self._queue: collections.deque[_Job] = collections.deque()
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._closed = False
        self._thread: threading.Thread | None = None
        self.restarts = 0
        self._startup_failures = 0

    def __enter__(self) -> VisionRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker processes and the dispatcher thread."""
        with self._lock:
            self._workers = [self._spawn() for _ in range(self.processes)]
        self._thread = threading.Thread(target=self._dispatch, name="vision-runner", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Block until every worker has loaded its models (``False`` on timeout)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if all(w.ready for w in self._workers):
                    return True
            time.sleep(0.02)
        return False

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=_worker_main, args=(child, self._initializer), name="vision-worker", daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    @property
    def pending(self) -> int:
        """Jobs waiting for a free process (running ones not included)."""
        with self._lock:
            return len(self._queue)

    def submit(
        self, fn: Callable[..., T], *args: Any, timeout: float | None = None
    ) -> Future[JobOutcome[T]]:
        """Queue ``fn(*args)`` (a module-level function, run in a worker process).

        Raises ``RunnerBusy`` at once when ``queue_size`` jobs are already waiting.
        """
        future: Future[JobOutcome[Any]] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("runner is closed")
            if not self._workers:
                raise RunnerBusy("worker_unavailable", "no worker process could start")
            if len(self._queue) >= self.queue_size:
                raise RunnerBusy(detail=f"{len(self._queue)} jobs waiting")
            job = _Job(next(self._ids), fn, args, timeout or self.timeout, future)
            self._queue.append(job)
        self._wake_w.send_bytes(b"!")
        return future

    async def run(
        self, fn: Callable[..., T], *args: Any, timeout: float | None = None
    ) -> JobOutcome[T]:
        """``submit`` and await the outcome without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, timeout=timeout))

    async def analyse_room(
        self, data: bytes, kit: Any = None, earlier: Sequence[bytes] = ()
    ) -> JobOutcome[Any]:
        """Analyse a room photo in a worker (``earlier``: photos of the room for room memory,
        ``vision.headcount.pictures``); the value is a ``RoomAnalysis``."""
        return await self.run(analyse_room_job, data, kit, tuple(earlier))

    async def check_selfie(self, data: bytes) -> JobOutcome[Any]:
        """Check and embed a selfie in a worker; the value is a ``Selfie``."""
        return await self.run(check_selfie_job, data)

    async def verify(self, data: bytes, templates: Any) -> JobOutcome[Any]:
        """1:1 verification in a worker; the value is a ``FaceCheck``."""
        return await self.run(verify_job, data, templates)

    async def identify(self, data: bytes, roster: Any, plant: Any = None) -> JobOutcome[Any]:
        """1:N identification in a worker; the value is a ``FaceCheck``."""
        return await self.run(identify_job, data, roster, plant)

    async def photo_facts(self, data: bytes) -> JobOutcome[Any]:
        """Hashes and EXIF in a worker; the value is a ``PhotoFacts``."""
        return await self.run(photo_facts_job, data)

    # --- dispatcher thread -------------------------------------------------------------

    def _finish(
        self, worker: _Worker, ok: bool, value: Any, reason: str | None, detail: str
    ) -> None:
        job, worker.job, worker.deadline = worker.job, None, float("inf")
        if job is None:
            return
        elapsed = (time.monotonic() - job.started) * 1000
        outcome = JobOutcome(ok, value if ok else None, None if ok else reason, detail, elapsed)
        if not job.future.done():
            job.future.set_result(outcome)

    def _replace(self, worker: _Worker, reason: str, detail: str) -> None:
        self._finish(worker, False, None, reason, detail)
        # A process that dies before it is ready (a model file missing) would die again.
        self._startup_failures = 0 if worker.ready else self._startup_failures + 1
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        self.restarts += 1
        if self._startup_failures >= MAX_STARTUP_FAILURES:
            self._workers.remove(worker)
            if not self._workers:
                self._fail_waiting("worker_unavailable", detail)
        elif not self._closed:
            self._workers[self._workers.index(worker)] = self._spawn()

    def _fail_waiting(self, reason: str, detail: str) -> None:
        waiting, self._queue = list(self._queue), collections.deque()
        for job in waiting:
            if not job.future.done():  # its caller may have given up on it (cancelled)
                job.future.set_result(JobOutcome(False, None, reason, detail))

    def _assign(self) -> None:
        for worker in self._workers:
            # A job whose caller gave up (cancelled) is dropped, not run.
            while self._queue and self._queue[0].future.cancelled():
                self._queue.popleft()
            if not self._queue:
                return
            if worker.ready and worker.job is None:
                job = self._queue.popleft()
                job.started = time.monotonic()
                worker.job, worker.deadline = job, job.started + job.timeout
                try:
                    worker.conn.send((job.job_id, job.fn, job.args))
                except Exception as e:  # the job's arguments would not pickle
                    self._finish(worker, False, None, "job_failed", f"unsendable job: {e!r}")

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                self._assign()
                workers = list(self._workers)
            deadline = min((w.deadline for w in workers), default=float("inf"))
            wait = max(0.0, min(0.5, deadline - time.monotonic()))
            handles: list[Any] = [self._wake_r]
            for w in workers:
                handles += [w.conn, w.process.sentinel]
            ready = multiprocessing.connection.wait(handles, timeout=wait)
            with self._lock:
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                for w in workers:
                    self._service(w, ready)

    def _service(self, worker: _Worker, ready: list[Any]) -> None:
        if worker.conn in ready:
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                # The pipe closes a moment before the process is reaped: wait for its exit code.
                worker.process.join(timeout=1.0)
                code = worker.process.exitcode
                self._replace(worker, "worker_crashed", f"worker process exited with code {code}")
                return
            if message == ("ready",):
                worker.ready = True
            else:
                job_id, ok, payload, detail = message
                if worker.job is not None and worker.job.job_id == job_id:
                    self._finish(worker, ok, payload, None if ok else payload, detail)
            return
        if worker.process.sentinel in ready:
            code = worker.process.exitcode
            self._replace(worker, "worker_crashed", f"worker process exited with code {code}")
        elif time.monotonic() >= worker.deadline:
            self._replace(
                worker, "timeout", f"job ran past {worker.job.timeout if worker.job else 0} s"
            )

    def close(self) -> None:
        """Stop the workers; jobs still waiting fail with ``job_failed``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._fail_waiting("job_failed", "runner closed")
        self._wake_w.send_bytes(b"!")
        if self._thread is not None:
            self._thread.join(timeout=5)
        for w in self._workers:
            self._finish(w, False, None, "job_failed", "runner closed")
            with contextlib.suppress(OSError):
                w.conn.send(None)
        for w in self._workers:
            w.process.join(timeout=2)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(timeout=2)
            w.conn.close()
