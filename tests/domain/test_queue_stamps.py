"""An offline queue's stamps against when the device was heard live (decision 0128)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.rules import WindowPolicy, online_after_stamp

NINE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)
POLICY = WindowPolicy()  # 2 min clock tolerance, 15 min to send a queue once back online


@pytest.mark.parametrize(
    ("stamped", "arrived", "heard_live", "disproved_by"),
    [
        # honest: offline the whole time, the queue sent much later
        (NINE + 5 * M, NINE + 3 * 60 * M, [], None),
        # honest: online, then offline; items stamped after the last live check-in
        (NINE + 12 * M, NINE + 3 * 60 * M, [NINE + 2 * M, NINE + 10 * M], None),
        # honest: offline, back online, the queue sent minutes after the first live check-in
        (NINE + 5 * M, NINE + 31 * M, [NINE + 20 * M], None),
        # honest: a live check-in within the clock tolerance of the stamp
        (NINE + 5 * M, NINE + 3 * 60 * M, [NINE + 6 * M], None),
        # forged: the device checked people in live after the stamp, the item came hours later
        (NINE + 5 * M, NINE + 3 * 60 * M, [NINE + 2 * M, NINE + 20 * M], NINE + 20 * M),
        # forged: the earliest live check-in that disproves it is the evidence
        (NINE + 5 * M, NINE + 60 * M, [NINE + 30 * M, NINE + 10 * M], NINE + 10 * M),
    ],
)
def test_a_queued_stamp_is_disproved_only_by_a_live_check_in_long_before_the_sync(
    stamped: datetime, arrived: datetime, heard_live: list[datetime], disproved_by: datetime | None
) -> None:
    assert online_after_stamp(stamped, arrived, heard_live, POLICY) == disproved_by


@given(
    st.integers(0, 600),
    st.integers(0, 10**5),
    st.lists(st.integers(0, 15 * 60), max_size=6),
)
def test_a_queue_sent_as_soon_as_the_device_was_back_online_is_believed(
    stamp: int, later: int, before_arrival: list[int]
) -> None:
    """However late the queue arrives, it is honest when every live check-in after the
    stamp happened within the grace before it: the device sent it as soon as it could."""
    arrived = NINE + stamp * M + timedelta(seconds=later)
    heard = [arrived - timedelta(seconds=s) for s in before_arrival]
    assert online_after_stamp(NINE + stamp * M, arrived, heard, POLICY) is None


@given(st.integers(0, 600), st.lists(st.integers(0, 600), max_size=6), st.integers(0, 10**5))
def test_items_stamped_after_every_live_contact_are_believed(
    stamp: int, contacts: list[int], later: int
) -> None:
    """Queued once the device went offline: nothing heard live after the stamp."""
    heard = [NINE + m * M for m in contacts if m <= stamp]
    arrived = NINE + stamp * M + timedelta(seconds=later)
    assert online_after_stamp(NINE + stamp * M, arrived, heard, POLICY) is None
