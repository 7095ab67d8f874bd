"""The group committer's watchdog tells a stuck write from a large one: a small group that
does not commit in time is answered 503, while one big transaction (a whole plant's import)
gets the time its size needs and is committed, not cancelled."""

from __future__ import annotations

import time
from typing import Any

import pytest

from app.stores.commit import GroupCommitter, WriteFailed


class SlowStore:
    """An application stand-in whose save takes a fixed time plus a time per event."""

    def __init__(self, fixed_s: float, per_event_s: float) -> None:
        self.fixed_s = fixed_s
        self.per_event_s = per_event_s
        self.saved: list[int] = []

    def save(self, *events: Any) -> None:
        time.sleep(self.fixed_s + self.per_event_s * len(events))
        self.saved.append(len(events))


class Pending:
    """An aggregate with `count` events waiting to be saved."""

    def __init__(self, count: int) -> None:
        self.events = list(range(count))

    def collect_events(self) -> list[int]:
        events, self.events = self.events, []
        return events


def committer(store: SlowStore) -> GroupCommitter:
    return GroupCommitter(store, timeout_s=0.5, min_events_per_s=2_000)  # type: ignore[arg-type]


def test_a_large_import_that_takes_longer_than_the_timeout_is_committed() -> None:
    store = SlowStore(fixed_s=0.2, per_event_s=0.0002)  # 4,000 events: 1.0 s, over 0.5 s
    writer = committer(store)
    try:
        writer.submit(Pending(4_000)).result(timeout=10)
        assert store.saved == [4_000]
        assert writer.timed_out == 0
    finally:
        writer.close()


def test_a_small_write_that_hangs_is_answered_503_and_the_next_one_goes_through() -> None:
    store = SlowStore(fixed_s=1.5, per_event_s=0.0)
    writer = committer(store)
    try:
        started = time.monotonic()
        with pytest.raises(WriteFailed):
            writer.submit(Pending(1)).result(timeout=10)
        assert time.monotonic() - started < 1.2
        assert writer.timed_out == 1
        store.fixed_s = 0.0
        time.sleep(1.0)  # the hung write returns; the writer takes new work again
        writer.submit(Pending(1)).result(timeout=5)
        assert store.saved[-1] == 1
    finally:
        writer.close()
