"""`muster serve`'s warm-up before its first request (decision 0127, amendment): the pools
are full and the check-in lookups prepared on every read connection, and nothing is
written or changed by it."""

from __future__ import annotations

import asyncio

from app.bootstrap import Muster
from app.services.warm_up import PREPARE_AFTER, warm_up
from tests.conftest import Plant
from tests.support.checkins import badge, check_in


def log_head(muster: Muster) -> int:
    return len(muster.app.recorder.select_notifications(start=1, limit=100_000))


def test_warm_up_writes_nothing_and_check_ins_work_after(muster: Muster, plant: Plant) -> None:
    before = log_head(muster)
    attendance = muster.store.fetch("SELECT COUNT(*) AS n FROM attendance")
    took = asyncio.run(warm_up(muster.store, muster.checkins))
    assert took < 10
    assert log_head(muster) == before
    assert muster.store.fetch("SELECT COUNT(*) AS n FROM attendance") == attendance
    (answer,) = check_in(muster, plant.p1_token, [badge(plant, "E01")])
    assert answer.status_code == 201


def test_pools_full_and_lookups_prepared_on_postgres(muster: Muster, plant: Plant) -> None:
    if muster.store.kind != "postgres":
        assert muster.store.read_connections == 1  # nothing pooled to fill
        return
    asyncio.run(warm_up(muster.store, muster.checkins))
    read_pool, write_pool = muster.store._read_pool, muster.store._pool  # type: ignore[attr-defined]
    assert read_pool.get_stats()["pool_size"] == read_pool.max_size == 8
    assert write_pool.get_stats()["pool_size"] == write_pool.max_size
    held = [read_pool.getconn() for _ in range(read_pool.max_size)]
    try:
        for conn in held:
            prepared = b" ".join(sql for sql, _ in conn._prepared._names)
            assert b"token_hash" in prepared and b"badge_uid IN" in prepared
    finally:
        for conn in held:
            read_pool.putconn(conn)
    assert PREPARE_AFTER == 5
