"""A session's day, against which output and defects are compared, is its day in the plant."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from app.analysis.effect import training_day


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("Asia/Shanghai", date(2026, 3, 2)),  # 07:30 the next morning
        ("Europe/Berlin", date(2026, 3, 2)),  # 00:30
        ("America/Chicago", date(2026, 3, 1)),  # 17:30 the same evening
    ],
)
def test_a_late_evening_session_in_utc_falls_on_the_plants_own_day(zone: str, day: date) -> None:
    assert training_day("2026-03-01T23:30:00+00:00", ZoneInfo(zone)) == day.toordinal()
