"""Shifts on the line: when a person is working and cannot be in a training room."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


def shift_key(employee_no: str, starts_at: datetime) -> str:
    """The natural key of a shift: one person cannot start two shifts at the same instant."""
    return f"{employee_no}/{starts_at.astimezone(UTC).isoformat()}"


class Shift(Aggregate):
    """One planned shift of one employee (imported from the plant's shift plan)."""

    @staticmethod
    def create_id(employee_no: str, starts_at: datetime, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("shift", shift_key(employee_no, starts_at))

    @event("ShiftPlanned")
    def __init__(
        self, employee_no: str, starts_at: datetime, ends_at: datetime, line: str, actor: str
    ):
        if ends_at <= starts_at:
            raise ValueError("a shift must end after it starts")
        self.employee_no = employee_no
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.line = line

    @event("ShiftChanged")
    def change(self, ends_at: datetime, line: str, actor: str) -> None:
        """The shift ends at another time or is on another line."""
        if ends_at <= self.starts_at:
            raise ValueError("a shift must end after it starts")
        self.ends_at = ends_at
        self.line = line
