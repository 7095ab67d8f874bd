"""A session as a planner wants it, and the events that make the stored one so.

The import of `sessions` and the planner page both go through `planned`: a new session is
scheduled, a stored one is rescheduled, given other details or another roster — only what
changed becomes an event, so saving the same plan twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.conflicts import Sitting
from app.domain.training import SessionStatus, TrainingSession


@dataclass(frozen=True)
class PlannedSession:
    """What one session should be: course, place, time, trainer and roster (people, and
    the entries they were expanded from)."""

    code: str
    course: str
    title: str
    plant: str
    room: str
    trainer: str
    starts_at: datetime
    ends_at: datetime
    roster: list[str]
    roster_spec: list[str]
    capacity: int | None

    def sitting(self, session_id: str | None = None) -> Sitting:
        """The session as the conflict rules see it (`session_id`: the stored session's,
        by default the id its code gives)."""
        return Sitting(
            id=session_id or str(TrainingSession.create_id(self.code)),
            code=self.code,
            plant=self.plant,
            room=self.room,
            trainer=self.trainer,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            roster=frozenset(self.roster),
            capacity=self.capacity,
        )


class SessionInOtherPlantError(Exception):
    """The code names a session of another plant."""

    def __init__(self, plant: str) -> None:
        super().__init__(plant)
        self.plant = plant


class SessionOverError(Exception):
    """A closed or cancelled session cannot be changed."""


def planned(
    session: TrainingSession | None, wanted: PlannedSession, actor: str
) -> tuple[TrainingSession, bool]:
    """The session `wanted` describes and whether it is new; a stored one (`session`)
    carries pending events for what differs (none when nothing does)."""
    if session is None:
        return (
            TrainingSession(
                code=wanted.code,
                course=wanted.course,
                title=wanted.title,
                plant=wanted.plant,
                room=wanted.room,
                trainer=wanted.trainer,
                starts_at=wanted.starts_at,
                ends_at=wanted.ends_at,
                roster=wanted.roster,
                actor=actor,
                capacity=wanted.capacity,
                roster_spec=wanted.roster_spec,
            ),
            True,
        )
    if session.plant != wanted.plant:
        raise SessionInOtherPlantError(session.plant)
    when = (wanted.starts_at, wanted.ends_at, wanted.room)
    details = (wanted.course, wanted.title, wanted.trainer, wanted.capacity)
    roster = (wanted.roster, wanted.roster_spec)
    changes = (
        (session.starts_at, session.ends_at, session.room) != when,
        (session.course, session.title, session.trainer, session.capacity) != details,
        (session.roster, session.roster_spec) != roster,
    )
    if any(changes) and session.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
        raise SessionOverError(wanted.code)
    if changes[0]:
        session.reschedule(
            starts_at=wanted.starts_at, ends_at=wanted.ends_at, room=wanted.room, actor=actor
        )
    if changes[1]:
        session.change_details(
            course=wanted.course,
            title=wanted.title,
            trainer=wanted.trainer,
            capacity=wanted.capacity,
            actor=actor,
        )
    if changes[2]:
        session.change_roster(roster=wanted.roster, roster_spec=wanted.roster_spec, actor=actor)
    return session, False
