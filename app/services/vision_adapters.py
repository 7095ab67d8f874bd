"""How the app reaches the vision ports: in vision processes (the real models, loaded once
per process) or in the calling thread (the fakes of ``vision.fake`` in tests). Chosen once,
in ``app.bootstrap.build``; every call blocks, so callers run them off the event loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

from vision.errors import VisionError
from vision.ports import RoomAnalyzer
from vision.room.analysis import RoomAnalysis
from vision.runtime import JobOutcome, RunnerBusy, VisionRunner

#: how long a job may wait for a free place in the vision queue before it is given up
BUSY_WAIT_S = 120.0


class RoomAnalyser(Protocol):
    """Analyses a room photo with photos of its room from other sessions (room memory)."""

    def analyse(self, data: bytes, earlier: Sequence[bytes]) -> JobOutcome[RoomAnalysis]:
        """The analysis, or why there is none (a reason code), never an exception."""
        ...

    def close(self) -> None:
        """Stop what it started."""
        ...


class VisionPool:
    """The vision processes, started on the first job (the models load once per process)."""

    def __init__(self, processes: int, timeout_s: float = 30.0) -> None:
        self.processes = processes
        self.timeout_s = timeout_s
        self._runner: VisionRunner | None = None
        self._lock = threading.Lock()

    def runner(self) -> VisionRunner:
        with self._lock:
            if self._runner is None:
                self._runner = VisionRunner(
                    processes=self.processes, queue_size=32, timeout=self.timeout_s
                )
                self._runner.start()
            return self._runner

    def run(self, fn: object, *args: object) -> JobOutcome[object]:
        """Run a vision job in a process; a full queue means waiting, not failing."""
        deadline = time.monotonic() + BUSY_WAIT_S
        while True:
            try:
                return self.runner().submit(fn, *args).result()  # type: ignore[arg-type]
            except RunnerBusy as busy:
                if time.monotonic() > deadline:
                    return JobOutcome(False, None, busy.reason, busy.detail)
                time.sleep(0.2)

    def close(self) -> None:
        with self._lock:
            if self._runner is not None:
                self._runner.close()
                self._runner = None


class PooledRoomAnalyser:
    """The real room analyser (``vision.room.DlibRoomAnalyzer``) in the vision processes."""

    def __init__(self, pool: VisionPool) -> None:
        self.pool = pool

    def analyse(self, data: bytes, earlier: Sequence[bytes]) -> JobOutcome[RoomAnalysis]:
        from vision.runtime.runner import analyse_room_job

        return self.pool.run(analyse_room_job, data, None, tuple(earlier))  # type: ignore[return-value]

    def close(self) -> None:
        self.pool.close()


class InlineRoomAnalyser:
    """Any ``vision.ports.RoomAnalyzer`` run in the calling thread (the fakes)."""

    def __init__(self, analyzer: RoomAnalyzer) -> None:
        self.analyzer = analyzer

    def analyse(self, data: bytes, earlier: Sequence[bytes]) -> JobOutcome[RoomAnalysis]:
        started = time.monotonic()
        try:
            value = self.analyzer.analyse(data, None, earlier)
        except VisionError as exc:
            return JobOutcome(False, None, exc.reason, str(exc))
        return JobOutcome(True, value, elapsed_ms=(time.monotonic() - started) * 1000)

    def close(self) -> None:
        return None
