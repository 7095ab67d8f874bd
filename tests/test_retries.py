"""The one policy by which alert notices, session notices and scheduled reports are tried
again when a destination does not take them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.retries import Retries

FAILED_AT = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("retries", "attempt", "wait_s"),
    [
        (Retries(5, 2.0), 1, 2),
        (Retries(5, 2.0), 2, 4),
        (Retries(5, 2.0), 4, 16),
        (Retries(8, 60.0, 3600.0), 6, 1920),
        (Retries(8, 60.0, 3600.0), 7, 3600),  # 3840 s, held to the longest wait
    ],
)
def test_the_wait_doubles_after_each_failed_attempt_up_to_the_longest(
    retries: Retries, attempt: int, wait_s: int
) -> None:
    assert retries.wait(attempt) == timedelta(seconds=wait_s)
    assert retries.retry_at(attempt, FAILED_AT) == FAILED_AT + timedelta(seconds=wait_s)


def test_after_the_last_attempt_the_notice_is_not_tried_again() -> None:
    retries = Retries(3, 2.0)
    assert retries.retry_at(2, FAILED_AT) is not None
    assert retries.retry_at(3, FAILED_AT) is None
    assert retries.retry_at(4, FAILED_AT) is None


def test_a_try_that_would_come_at_or_after_the_deadline_is_not_made() -> None:
    retries = Retries(8, 60.0)
    assert retries.retry_at(1, FAILED_AT, until=FAILED_AT + timedelta(seconds=61)) is not None
    assert retries.retry_at(1, FAILED_AT, until=FAILED_AT + timedelta(seconds=60)) is None
