"""Compliance: whether a person's pass of a required course is still valid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class CourseState(StrEnum):
    """A cell of the compliance matrix (the contract's words)."""

    DONE = "done"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    NEVER = "never"


@dataclass(frozen=True)
class Standing:
    """Where one person stands with one required course."""

    state: CourseState
    due_on: date | None
    last_done: date | None


#: a pass expiring within this many days is due soon
DEFAULT_DUE_SOON_DAYS = 30


def standing(
    last_done: date | None,
    validity_days: int | None,
    today: date,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Standing:
    """The state of a course last passed on `last_done` (None: never) that stays valid
    `validity_days` (None: for good), as of `today`. Due on the day the pass runs out."""
    if last_done is None:
        return Standing(CourseState.NEVER, None, None)
    if validity_days is None:
        return Standing(CourseState.DONE, None, last_done)
    due_on = last_done + timedelta(days=validity_days)
    if due_on <= today:
        state = CourseState.OVERDUE
    elif due_on <= today + timedelta(days=due_soon_days):
        state = CourseState.DUE_SOON
    else:
        state = CourseState.DONE
    return Standing(state, due_on, last_done)
