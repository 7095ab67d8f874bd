"""Where a person stands with a required course, as of a day."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.compliance import CourseState, standing

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("last_done", "validity", "state", "due_on"),
    [
        (None, 365, CourseState.NEVER, None),
        (None, None, CourseState.NEVER, None),
        (date(2026, 6, 1), 365, CourseState.DONE, date(2027, 6, 1)),
        (date(2026, 1, 1), 365, CourseState.DUE_SOON, date(2027, 1, 1)),
        (date(2025, 12, 7), 365, CourseState.OVERDUE, date(2026, 12, 7)),  # due today: overdue
        (date(2024, 1, 1), 365, CourseState.OVERDUE, date(2024, 12, 31)),
        (date(2010, 1, 1), None, CourseState.DONE, None),  # valid for good
    ],
)
def test_standing_by_last_pass_and_validity(
    last_done: date | None, validity: int | None, state: CourseState, due_on: date | None
) -> None:
    found = standing(last_done, validity, TODAY, due_soon_days=30)
    assert (found.state, found.due_on, found.last_done) == (state, due_on, last_done)
