"""Training sessions: a course given in a room by a trainer to a roster."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


class SessionStatus(StrEnum):
    """Scheduled → open → closed."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


#: what each change of a planned session carries, named as on the aggregate and its events:
#: `SessionRescheduled`, `SessionDetailsChanged`, `SessionRosterChanged`
TIME_AND_PLACE = ("starts_at", "ends_at", "room")
DETAILS = ("course", "title", "trainer", "capacity")
ROSTER = ("roster", "roster_spec")


def fields_of(source: object, names: tuple[str, ...]) -> dict[str, Any]:
    """`names` read from `source` (an aggregate, an event or a plan), as keyword arguments."""
    return {name: getattr(source, name) for name in names}


class SessionAlreadyClosedError(Exception):
    """A closed session cannot be opened or closed again."""


class TrainingSession(Aggregate):
    """One sitting of a course, with the people expected to attend it."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("session", code)

    @event("SessionScheduled")
    def __init__(
        self,
        code: str,
        course: str,
        title: str,
        plant: str,
        room: str,
        trainer: str,
        starts_at: datetime,
        ends_at: datetime,
        roster: list[str],
        actor: str,
        capacity: int | None = None,
        roster_spec: list[str] | None = None,
    ):
        if ends_at <= starts_at:
            raise ValueError("a session must end after it starts")
        self.code = code
        self.course = course
        self.title = title
        self.plant = plant
        self.room = room
        self.trainer = trainer
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.roster = list(dict.fromkeys(roster))
        self.status = SessionStatus.SCHEDULED
        self.capacity = capacity
        #: what the planner asked for (employee numbers, org codes, `position:CODE`);
        #: `roster` is it expanded to people
        self.roster_spec = list(roster_spec) if roster_spec is not None else list(self.roster)

    @event("SessionRescheduled")
    def reschedule(self, starts_at: datetime, ends_at: datetime, room: str, actor: str) -> None:
        """Move the session to another time or room."""
        if ends_at <= starts_at:
            raise ValueError("a session must end after it starts")
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.room = room

    @event("SessionRosterChanged")
    def change_roster(self, roster: list[str], roster_spec: list[str], actor: str) -> None:
        """A new roster (people expanded from `roster_spec`)."""
        self.roster = list(dict.fromkeys(roster))
        self.roster_spec = list(roster_spec)

    @event("SessionDetailsChanged")
    def change_details(
        self, course: str, title: str, trainer: str, capacity: int | None, actor: str
    ) -> None:
        """Another course, trainer or capacity for the same sitting."""
        self.course = course
        self.title = title
        self.trainer = trainer
        self.capacity = capacity

    @event("SessionConflictsAccepted")
    def accept_conflicts(self, conflicts: list[dict[str, str]], actor: str) -> None:
        """The planner saved this plan knowing of these conflicts (each its `kind`, and
        the `employee_no` and `with_session_id` it concerns, if any)."""
        self.accepted_conflicts = list(conflicts)

    def cancel(self, reason: str, actor: str) -> None:
        """Call the session off (a closed session stays as it was)."""
        if self.status is SessionStatus.CLOSED:
            raise SessionAlreadyClosedError(self.code)
        if self.status is not SessionStatus.CANCELLED:
            self._cancel(reason=reason, actor=actor)

    @event("SessionCancelled")
    def _cancel(self, reason: str, actor: str) -> None:
        self.status = SessionStatus.CANCELLED

    def start(self, actor: str) -> None:
        """The trainer opens the session (idempotent while open)."""
        if self.status is SessionStatus.CLOSED:
            raise SessionAlreadyClosedError(self.code)
        if self.status is SessionStatus.SCHEDULED:
            self._start(actor=actor)

    @event("SessionStarted")
    def _start(self, actor: str) -> None:
        self.status = SessionStatus.OPEN

    def end(self, actor: str) -> None:
        """The trainer closes the session; later check-ins are refused."""
        if self.status is SessionStatus.CLOSED:
            raise SessionAlreadyClosedError(self.code)
        self._end(actor=actor)

    @event("SessionEnded")
    def _end(self, actor: str) -> None:
        self.status = SessionStatus.CLOSED

    @event("AbsenteesMarked")
    def mark_absent(self, employee_nos: list[str], actor: str) -> None:
        """Record who on the roster never checked in, when the session closed."""
        self.absentees = list(employee_nos)
