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
