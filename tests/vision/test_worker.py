"""The vision runner: worker processes, bounded queue, timeouts, crashes, corrupt images."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest
from numpy.typing import NDArray

from tests.vision import jobs
from vision.decode import encode_jpeg
from vision.room.analysis import RoomAnalysis
from vision.runtime.runner import RunnerBusy, VisionRunner


@pytest.fixture
def runner() -> Iterator[VisionRunner]:
    """One light worker process (no models), two queue places, 5 s per job."""
    with VisionRunner(processes=1, queue_size=2, timeout=5.0, initializer=None) as r:
        assert r.wait_ready(30)
        yield r


@pytest.fixture(scope="module")
def vision_runner() -> Iterator[VisionRunner]:
    """One real worker process with the models loaded (the app's configuration, one process)."""
    with VisionRunner(processes=1, queue_size=4, timeout=30.0) as r:
        assert r.wait_ready(120)
        yield r


def _wait_until_running(runner: VisionRunner) -> None:
    end = time.monotonic() + 10
    while runner.pending and time.monotonic() < end:
        time.sleep(0.01)


def test_a_full_queue_refuses_new_jobs_until_there_is_room(runner: VisionRunner) -> None:
    running = runner.submit(jobs.sleep, 0.6)
    _wait_until_running(runner)
    waiting = [runner.submit(jobs.add, i, 1) for i in range(2)]
    with pytest.raises(RunnerBusy) as busy:
        runner.submit(jobs.add, 5, 5)
    assert busy.value.reason == "busy"
    assert running.result(10).value == 0.6
    assert [w.result(10).value for w in waiting] == [1, 2]
    assert runner.submit(jobs.add, 5, 5).result(10).value == 10


def test_a_job_past_its_deadline_fails_with_timeout_and_the_next_job_runs(
    runner: VisionRunner,
) -> None:
    started = time.monotonic()
    slow = runner.submit(jobs.sleep, 30, timeout=0.5).result(15)
    assert (slow.ok, slow.reason) == (False, "timeout")
    assert time.monotonic() - started < 5
    assert runner.submit(jobs.add, 2, 3).result(15).value == 5


def test_a_crashing_worker_is_replaced_and_the_next_job_succeeds(runner: VisionRunner) -> None:
    before = runner.submit(jobs.pid).result(10).value
    crashed = runner.submit(jobs.crash).result(15)
    assert (crashed.ok, crashed.reason) == (False, "worker_crashed")
    assert "139" in crashed.detail
    after = runner.submit(jobs.pid).result(15)
    assert after.ok and after.value != before
    assert runner.restarts == 1


def test_a_job_that_raises_fails_with_its_reason_and_the_worker_goes_on(
    runner: VisionRunner,
) -> None:
    failed = runner.submit(jobs.fail).result(10)
    assert (failed.ok, failed.reason) == (False, "job_failed")
    assert "bad input" in failed.detail
    assert runner.submit(jobs.add, 1, 1).result(10).value == 2
    assert runner.restarts == 0


async def test_a_corrupt_photo_fails_its_job_with_a_recorded_reason(
    vision_runner: VisionRunner, astronaut_jpeg: bytes
) -> None:
    broken = await vision_runner.analyse_room(astronaut_jpeg[: len(astronaut_jpeg) // 3])
    assert (broken.ok, broken.reason) == (False, "image_corrupt")
    empty = await vision_runner.analyse_room(b"")
    assert empty.reason == "image_empty"
    good = await vision_runner.analyse_room(astronaut_jpeg)
    assert good.ok and isinstance(good.value, RoomAnalysis)
    assert good.value.headcount == 1
    assert vision_runner.restarts == 0


async def test_models_load_once_per_worker_process(
    vision_runner: VisionRunner, astronaut: NDArray[np.uint8]
) -> None:
    for gain in (0.8, 0.9, 1.0):
        photo = encode_jpeg(np.asarray(np.clip(astronaut * gain, 0, 255), dtype=np.uint8))
        assert (await vision_runner.analyse_room(photo)).ok
        assert (await vision_runner.check_selfie(photo)).ok
    loads = await vision_runner.run(jobs.model_loads)
    assert loads.ok and loads.value is not None
    _pid, misses = loads.value
    assert misses == 1


def test_a_job_its_caller_gave_up_on_is_skipped_and_closing_with_one_queued_is_clean() -> None:
    """A queued job whose caller was cancelled (a request that went away, a demo stopped) is not
    run: here it would have crashed the worker. Closing the runner with such a job still queued
    fails the others plainly and does not raise."""
    with VisionRunner(processes=1, queue_size=3, timeout=5.0, initializer=None) as r:
        assert r.wait_ready(30)
        r.submit(jobs.sleep, 0.4)
        _wait_until_running(r)
        abandoned = r.submit(jobs.crash)
        abandoned.cancel()
        assert r.submit(jobs.add, 2, 2).result(10).value == 4
        assert r.restarts == 0
        r.submit(jobs.sleep, 0.4)
        _wait_until_running(r)
        r.submit(jobs.add, 1, 1).cancel()
        left = r.submit(jobs.add, 3, 3)
    outcome = left.result(1)
    assert (outcome.ok, outcome.reason) == (False, "job_failed")
