"""A session as a planner wants it, and the events that make the stored one so.

The import of `sessions` and the planner page both go through `planned`: a new session is
scheduled, a stored one is rescheduled, given other details or another roster — only what
changed becomes an event, so saving the same plan twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from app.domain.conflicts import Sitting
from app.domain.training import (
    DETAILS,
    ROSTER,
    TIME_AND_PLACE,
    SessionStatus,
    TrainingSession,
    fields_of,
)

#: what a plan and the conflict rules' view of it share (the roster becomes a set)
_SITTING = tuple(f.name for f in fields(Sitting) if f.name not in ("id", "roster"))


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
            roster=frozenset(self.roster),
            **fields_of(self, _SITTING),
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
        plan = tuple(f.name for f in fields(PlannedSession))
        return TrainingSession(actor=actor, **fields_of(wanted, plan)), True
    if session.plant != wanted.plant:
        raise SessionInOtherPlantError(session.plant)
    changed = [
        part
        for part in (TIME_AND_PLACE, DETAILS, ROSTER)
        if fields_of(session, part) != fields_of(wanted, part)
    ]
    if changed and session.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
        raise SessionOverError(wanted.code)
    if TIME_AND_PLACE in changed:
        session.reschedule(actor=actor, **fields_of(wanted, TIME_AND_PLACE))
    if DETAILS in changed:
        session.change_details(actor=actor, **fields_of(wanted, DETAILS))
    if ROSTER in changed:
        session.change_roster(actor=actor, **fields_of(wanted, ROSTER))
    return session, False
