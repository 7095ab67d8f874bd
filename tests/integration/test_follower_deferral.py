"""While a burst of writes is in hand, the followers that may wait (the alert engine, the
anomaly rules, the roster keeper) do not start a round: the check-ins are answered first.
They wait a bounded time, and read everything once the writer has caught up
(decision 0136)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from app.alerts.follower import Follower
from app.bootstrap import Muster
from app.projections.loop import LoopThread
from tests.conftest import Plant
from tests.support.checkins import badge, check_in

FOLLOWERS: dict[str, Callable[[Muster], LoopThread]] = {
    "alert engine": lambda m: m.alert_engine,
    "anomaly rules": lambda m: m.subscribers[0],
    "roster keeper": lambda m: m.rosters,
}


def position(follower: LoopThread) -> int:
    return int(follower.position())  # type: ignore[attr-defined]


def reached(follower: LoopThread, target: int, within_s: float) -> float | None:
    """Seconds until the follower's checkpoint reached `target` (None: not within_s)."""
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        if position(follower) >= target:
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def follow_to_the_head(muster: Muster, follower: LoopThread) -> None:
    """Project what the plant's set-up wrote and let the follower read it, running."""
    muster.runner.run_once()
    follower.start()
    assert reached(follower, muster.runner.head(), within_s=10) is not None


@pytest.mark.parametrize("name", FOLLOWERS)
def test_a_follower_waits_while_check_ins_are_being_written_and_catches_up_after(
    muster: Muster, plant: Plant, name: str
) -> None:
    follower = FOLLOWERS[name](muster)
    follow_to_the_head(muster, follower)
    before = position(follower)
    with muster.committer.admitted(100):  # a burst's callers, not yet answered
        assert muster.committer.busy()
        time.sleep(0.2)  # a round begun before the burst ends
        answers = check_in(muster, plant.p1_token, [badge(plant, "E01"), badge(plant, "E02")])
        assert [a.status_code for a in answers] == [201, 201]
        muster.runner.run_once()
        head = muster.runner.head()
        follower.wake()
        time.sleep(0.3)
        assert position(follower) == before  # the burst goes first
    assert not muster.committer.busy()
    assert reached(follower, head, within_s=10) is not None


def test_the_alert_engine_waits_at_most_its_deferral_under_a_writer_that_stays_busy(
    muster: Muster, plant: Plant
) -> None:
    engine = muster.alert_engine
    follow_to_the_head(muster, engine)
    with muster.committer.admitted(100):
        busy_since = time.monotonic()
        time.sleep(0.2)  # a round begun before the burst ends
        answers = check_in(muster, plant.p1_token, [badge(plant, "E03")])
        assert [a.status_code for a in answers] == [201]
        muster.runner.run_once()
        engine.wake()
        assert reached(engine, muster.runner.head(), within_s=engine.defer_s + 5) is not None
        took = time.monotonic() - busy_since  # still busy, read all the same
    assert took >= engine.defer_s  # not before it had waited its time


def test_the_projections_go_on_under_a_writer_that_stays_busy(muster: Muster, plant: Plant) -> None:
    """The runner only gathers a burst's commits into fewer rounds: the wallboards still
    move while the burst lasts."""
    runner = muster.runner
    runner.run_once()
    runner.start()
    with muster.committer.admitted(100):
        answers = check_in(muster, plant.p1_token, [badge(plant, "E04")])
        assert [a.status_code for a in answers] == [201]
        runner.wake()
        started = time.monotonic()
        while time.monotonic() - started < 5:
            row = muster.store.fetch_one(
                "SELECT status FROM attendance WHERE session_id = :sid AND employee_no = 'E04'",
                {"sid": plant.session_id},
            )
            if row is not None and row["status"] != "expected":
                break
            time.sleep(0.02)
        else:
            raise AssertionError("the check-in was not projected while the writer was busy")


class StoreDown(Follower):
    """A follower whose every round fails, as when its store is unreachable."""

    name = "store_down"

    def __init__(self, muster: Muster) -> None:
        self.failed = threading.Event()
        super().__init__(muster.app, muster.store, poll_s=60.0)  # the retention sweep's poll

    def run_once(self) -> datetime | None:
        self.failed.set()
        raise ConnectionError("the store is unreachable")


def test_a_follower_whose_rounds_fail_stops_at_once(muster: Muster) -> None:
    """A server told to stop (SIGTERM) while a follower retries a failing round does not
    wait out the retry's pause."""
    follower = StoreDown(muster)
    follower.start()
    assert follower.failed.wait(10)
    started = time.monotonic()
    follower.stop()
    assert time.monotonic() - started < 2.0
    assert not follower.running
