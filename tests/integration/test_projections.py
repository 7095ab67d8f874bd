"""Projections: live updates equal a rebuild from zero; each event applies exactly once."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest

from app.bootstrap import Muster, build
from app.domain.attendance import Attendance
from app.projections import all_projections
from app.projections.base import Batch, Projection, handles
from app.projections.runner import CheckpointMovedError, ProjectionRunner
from app.settings import Settings
from tests.conftest import Plant
from tests.support.checkins import badge, check_in

TABLES = {
    "sessions": "id",
    "attendance": "session_id, employee_no",
    "dept_live": "session_id, dept",
    "rejections": "id",
    "employees": "employee_no",
    "org_units": "code",
    "devices": "id",
    "users": "login",
}


def snapshot(muster: Muster) -> dict[str, list[dict[str, Any]]]:
    return {t: muster.store.fetch(f"SELECT * FROM {t} ORDER BY {key}") for t, key in TABLES.items()}


def random_traffic(muster: Muster, plant: Plant, seed: int) -> None:
    rng = random.Random(seed)
    items = []
    for _ in range(40):
        no = f"E{rng.randint(1, 20):02d}"
        badge = plant.badges[no] if rng.random() > 0.1 else "UNKNOWN"
        items.append(
            {
                "client_event_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "session_id": plant.session_id,
                "method": "badge",
                "badge_uid": badge,
            }
        )
    items += items[:10]  # replays
    for i in range(0, len(items), 7):
        check_in(muster, plant.p1_token, items[i : i + 7], lang="en", offline=True)
        muster.runner.run_once()


def test_live_projection_equals_a_rebuild_from_zero(muster: Muster, plant: Plant) -> None:
    random_traffic(muster, plant, seed=3)
    muster.app.end_session(uuid.UUID(plant.session_id), "test")
    muster.runner.run_once()
    live = snapshot(muster)
    (now,) = [s for s in live["sessions"] if s["id"] == plant.session_id]
    assert now["checked_in"] + now["walk_ins"] > 0 and now["rejected"] > 0
    assert now["status"] == "closed"
    replayed = muster.runner.rebuild()
    events = len(muster.app.recorder.select_notifications(start=1, limit=1_000_000))
    assert replayed == len(muster.runner.projections) * events  # every event, once each
    assert snapshot(muster) == live


def test_rebuilding_one_projection_leaves_the_other_alone(muster: Muster, plant: Plant) -> None:
    random_traffic(muster, plant, seed=5)
    before = snapshot(muster)
    muster.runner.rebuild(["live_attendance"])
    assert snapshot(muster) == before
    assert all(s.lag == 0 for s in muster.runner.status())


def test_running_again_applies_nothing_twice(muster: Muster, plant: Plant) -> None:
    random_traffic(muster, plant, seed=9)
    before = snapshot(muster)
    assert muster.runner.run_once() == 0
    assert snapshot(muster) == before


def test_a_stale_runner_cannot_apply_a_batch_twice(muster: Muster, plant: Plant) -> None:
    """Two runners (say a worker and a web process) racing: the loser's batch rolls back."""
    random_traffic(muster, plant, seed=1)
    projection = muster.runner.projections[0]
    position = muster.runner.position(projection.name)
    with muster.store.transaction() as tx:
        tx.execute(
            "UPDATE projection_tracking SET position = :p WHERE name = :n",
            {"p": position - 5, "n": projection.name},
        )
    stale_start = muster.runner.position(projection.name)
    with muster.store.transaction() as tx:  # another runner moves on meanwhile
        tx.execute(
            "UPDATE projection_tracking SET position = :p WHERE name = :n",
            {"p": position, "n": projection.name},
        )
    muster.app.end_session(uuid.UUID(plant.session_id), "test")  # work for the live projection
    before, checkpoints = snapshot(muster), muster.runner.positions()
    original = muster.runner.positions
    muster.runner.positions = lambda: {**original(), projection.name: stale_start}  # type: ignore[method-assign]
    try:
        with pytest.raises(CheckpointMovedError):
            muster.runner._round(muster.runner.projections, 100, {})
    finally:
        muster.runner.positions = original  # type: ignore[method-assign]
    # the whole round rolled back: the live projection's work too
    assert muster.runner.positions() == checkpoints
    assert snapshot(muster) == before
    assert muster.runner.run_once() > 0  # with fresh checkpoints the next round goes through
    assert {s.lag for s in muster.runner.status()} == {0}


def test_status_reports_lag_until_projected(muster: Muster, plant: Plant) -> None:
    check_in(muster, plant.p1_token, [badge(plant, "E01", cei="lag-1")], lang="en")
    lags = {s.name: s.lag for s in muster.runner.status()}
    # a check-in is two events: the attendance and its device command's receipt
    assert set(lags.values()) == {2}
    assert {"directory", "live_attendance", "plans", "device_commands"} <= lags.keys()
    muster.runner.run_once()
    assert {s.lag for s in muster.runner.status()} == {0}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_commit_in_another_process_wakes_the_runner_without_polling(
    settings: Settings, muster: Muster, plant: Plant
) -> None:
    """Scale-out: web processes commit, `muster worker` projects. A NOTIFY after each commit
    wakes the worker's runner; its poll here is a minute, so only the wake-up explains speed."""
    worker = build(settings.model_copy(update={"projection_poll_ms": 60_000}))
    try:
        worker.runner.start()
        deadline = time.monotonic() + 10
        while not worker.store.fetch(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND query LIKE :c",
            {"c": f"%{worker.store.channel}%"},  # type: ignore[attr-defined]
        ):
            assert time.monotonic() < deadline, "the runner never listened"
            time.sleep(0.05)
        started = time.monotonic()
        (reply,) = check_in(muster, plant.p1_token, [badge(plant, "E03", cei="wake-1")])
        assert reply.status_code == 201
        while True:
            row = worker.store.fetch_one(
                "SELECT status FROM attendance WHERE session_id = :s AND employee_no = 'E03'",
                {"s": plant.session_id},
            )
            if row and row["status"] != "expected":
                break
            assert time.monotonic() - started < 10, "not projected: nobody woke the runner"
            time.sleep(0.02)
        assert time.monotonic() - started < 5  # far below the minute-long poll
    finally:
        worker.close()


class SlowBoard(Projection):
    """A projection that takes seconds over each check-in (a heavy read model)."""

    name = "slow_board"
    tables = ("CREATE TABLE IF NOT EXISTS slow_board (checkin_id TEXT PRIMARY KEY)",)
    owned_tables = ("slow_board",)

    @handles(Attendance.EmployeeCheckedIn)
    def checked_in(self, e: Any, b: Batch) -> None:
        time.sleep(3.0)
        b.insert("slow_board", "checkin_id", checkin_id=str(e.originator_id))


def test_a_check_in_reaches_the_live_pages_while_a_slow_projection_works_on_it(
    muster: Muster, plant: Plant
) -> None:
    """The wallboard's projection has a thread of its own: a slow read model elsewhere in the
    runner does not hold up the check-in's way to the wallboards."""
    muster.runner.run_once()
    changed: list[set[str]] = []
    runner = ProjectionRunner(
        muster.app,
        muster.store,
        [*all_projections(), SlowBoard()],
        on_change=lambda sessions, _position: changed.append(sessions),
        poll_s=0.05,
    )
    runner.start()
    try:
        started = time.monotonic()
        (reply,) = check_in(muster, plant.p1_token, [badge(plant, "E03", cei="live-1")])
        assert reply.status_code == 201
        runner.wake()  # as the commit does for the process's own runner
        while not any(plant.session_id in sessions for sessions in changed):
            assert time.monotonic() - started < 2.5, "the wallboards were not told in time"
            time.sleep(0.02)
        row = muster.store.fetch_one(
            "SELECT status FROM attendance WHERE session_id = :s AND employee_no = 'E03'",
            {"s": plant.session_id},
        )
        assert row is not None and row["status"] != "expected"
        assert muster.store.fetch("SELECT * FROM slow_board") == []  # still at work on it
        assert runner.wait_until_caught_up(timeout=15)
        assert len(muster.store.fetch("SELECT * FROM slow_board")) == 1
    finally:
        runner.stop()
