"""When a saved report is sent: 07:00 plant time daily, on Mondays, on the 1st; one period
name per delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.reports import SCHEDULES, next_delivery, period_of

SH = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("schedule", "after", "expected", "period"),
    [
        ("daily", local(2026, 12, 6, 20, 0), local(2026, 12, 7, 7, 0), "2026-12-07"),
        ("daily", local(2026, 12, 7, 6, 59), local(2026, 12, 7, 7, 0), "2026-12-07"),
        ("daily", local(2026, 12, 7, 7, 0), local(2026, 12, 8, 7, 0), "2026-12-08"),
        ("weekly", local(2026, 12, 7, 7, 0), local(2026, 12, 14, 7, 0), "2026-W51"),
        ("weekly", local(2026, 12, 9, 12, 0), local(2026, 12, 14, 7, 0), "2026-W51"),
        ("weekly", local(2026, 12, 27, 12, 0), local(2026, 12, 28, 7, 0), "2026-W53"),
        ("monthly", local(2026, 12, 7, 7, 0), local(2027, 1, 1, 7, 0), "2027-01"),
        ("monthly", local(2027, 1, 31, 23, 0), local(2027, 2, 1, 7, 0), "2027-02"),
    ],
)
def test_deliveries_fall_at_seven_on_the_schedules_days(
    schedule: str, after: datetime, expected: datetime, period: str
) -> None:
    due = next_delivery(schedule, after.astimezone(UTC), SH)
    assert due == expected
    assert due is not None and due.tzinfo is not None
    assert period_of(schedule, due, SH) == period


def test_no_schedule_means_no_delivery() -> None:
    assert next_delivery("none", datetime.now(UTC), SH) is None
    assert next_delivery("hourly", datetime.now(UTC), SH) is None


@given(
    schedule=st.sampled_from([s for s in SCHEDULES if s != "none"]),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 800),
)
def test_each_delivery_is_later_and_names_a_new_period(schedule: str, minutes: int) -> None:
    after = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    first = next_delivery(schedule, after, SH)
    assert first is not None and first > after
    second = next_delivery(schedule, first, SH)
    assert second is not None and second > first
    assert second - first <= timedelta(days=31)
    assert period_of(schedule, first, SH) != period_of(schedule, second, SH)
