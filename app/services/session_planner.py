"""The planner's commands: check a planned session (and its repeats) for conflicts, save it,
cancel it. The planner page calls these; the words are the web layer's business.

A plan is checked against everything planned around it (`PlanningWindow`, the same check
the import and `GET /api/v1/conflicts` make). Saving refuses a plan with conflicts until
the planner confirms them, and refuses the hard kinds (`HARD_KINDS`) outright; a confirmed
plan records what was accepted (`SessionConflictsAccepted`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.application import Training
from app.domain.conflicts import DEFAULT_TEAM_SHARE, Conflict, may_override
from app.domain.ids import natural_id
from app.domain.session_plan import (
    PlannedSession,
    SessionInOtherPlantError,
    SessionOverError,
    planned,
)
from app.domain.training import SessionAlreadyClosedError, SessionStatus, TrainingSession
from app.imports.base import RowError
from app.imports.rosters import RosterExpander
from app.projections.runner import ProjectionRunner
from app.services.planning import SLOT_HORIZON, PlanningWindow
from app.stores.base import ReadStore
from app.stores.commit import GroupCommitter

#: repeats a planner may ask for at once (a year of weekly sessions)
MAX_REPEATS = 52
REPEAT_STEPS = {"none": timedelta(0), "daily": timedelta(days=1), "weekly": timedelta(days=7)}


@dataclass(frozen=True)
class Draft:
    """What the planner's form asks for (times in the plant's clock, with its offset)."""

    plant: str
    course: str
    room: str
    trainer: str
    starts_at: datetime
    ends_at: datetime
    roster_spec: list[str]
    capacity: int | None = None
    code: str = ""
    #: `none`, `daily` or `weekly`, `times` sessions in all (new sessions only)
    repeat: str = "none"
    times: int = 1
    #: the session being edited (None: a new one)
    session_id: str | None = None


@dataclass(frozen=True)
class Occurrence:
    """One session of the plan with what clashes with it and, if anything does, the
    nearest times it would not."""

    wanted: PlannedSession
    session_id: str
    conflicts: list[Conflict]
    free_slots: list[tuple[datetime, datetime]]


@dataclass
class Checked:
    """A plan checked: its sessions, or the fields in error (column, text key, facts)."""

    occurrences: list[Occurrence] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def conflicts(self) -> list[Conflict]:
        return [c for o in self.occurrences for c in o.conflicts]

    @property
    def may_override(self) -> bool:
        return may_override(self.conflicts)


class Outcome(StrEnum):
    SAVED = "saved"
    #: nothing changed (the plan equals what is stored)
    UNCHANGED = "unchanged"
    INVALID = "invalid"
    #: conflicts the planner has not confirmed (or may not: a hard kind)
    CONFLICTS = "conflicts"
    #: someone saved the same session meanwhile: nothing of this plan was saved
    CHANGED_MEANWHILE = "changed_meanwhile"


@dataclass
class Saved:
    outcome: Outcome
    checked: Checked
    session_ids: list[str] = field(default_factory=list)


class SessionNotFoundError(LookupError):
    """No session has this id."""


class SessionPlanner:
    """Checks, saves and cancels sessions planned on the planner page."""

    def __init__(
        self,
        app: Training,
        store: ReadStore,
        committer: GroupCommitter,
        runner: ProjectionRunner,
        *,
        team_share: float = DEFAULT_TEAM_SHARE,
    ) -> None:
        self.app = app
        self.store = store
        self.committer = committer
        self.runner = runner
        self.team_share = team_share

    def session(self, session_id: str) -> TrainingSession:
        """The stored session (raises SessionNotFoundError)."""
        try:
            found = self.app.get_or_none(UUID(session_id))
        except ValueError:
            found = None
        if not isinstance(found, TrainingSession):
            raise SessionNotFoundError(session_id)
        return found

    def check(self, draft: Draft, today: date, people_under: str | None = None) -> Checked:
        """The plan's sessions and their conflicts, or what is wrong with the form.
        `people_under`: an org path the roster must stay within (a department head's)."""
        checked = Checked()
        wanted = self._wanted(draft, today, people_under, checked)
        if checked.errors or not wanted:
            return checked
        ids = [draft.session_id or str(TrainingSession.create_id(w.code)) for w in wanted]
        people = {no for w in wanted for no in w.roster}
        window = PlanningWindow.load(
            self.store,
            wanted[0].starts_at - SLOT_HORIZON,
            wanted[-1].ends_at + SLOT_HORIZON,
            people,
        )
        for sid, w in zip(ids, wanted, strict=True):
            sitting = w.sitting(sid)
            found = window.check(sitting, self.team_share)
            slots = window.free_slots(sitting) if found else []
            checked.occurrences.append(Occurrence(w, sid, found, slots))
            window.add(sitting)
        return checked

    def save(
        self,
        draft: Draft,
        actor: str,
        today: date,
        *,
        confirmed: bool = False,
        people_under: str | None = None,
    ) -> Saved:
        """Save the plan when it has no conflicts, or when the planner confirmed conflicts
        that may be overridden."""
        checked = self.check(draft, today, people_under)
        if checked.errors:
            return Saved(Outcome.INVALID, checked)
        if checked.conflicts and not (confirmed and checked.may_override):
            return Saved(Outcome.CONFLICTS, checked)
        changed: list[TrainingSession] = []
        for o in checked.occurrences:
            stored = self.session(draft.session_id) if draft.session_id else None
            try:
                session, _ = planned(stored, o.wanted, actor)
            except (SessionOverError, SessionInOtherPlantError):
                checked.errors.append(RowError("code", "plan.session_over"))
                return Saved(Outcome.INVALID, checked)
            if o.conflicts and session.pending_events:
                session.accept_conflicts(conflicts=[_accepted(c) for c in o.conflicts], actor=actor)
            if session.pending_events:
                changed.append(session)
        if not changed:
            return Saved(Outcome.UNCHANGED, checked, [o.session_id for o in checked.occurrences])
        try:
            self.committer.submit(*changed).result()
        except IntegrityError:
            return Saved(Outcome.CHANGED_MEANWHILE, checked)
        self.runner.wait_until_caught_up(10)
        return Saved(Outcome.SAVED, checked, [str(s.id) for s in changed])

    def cancel(self, session_id: str, reason: str, actor: str) -> bool:
        """Call a session off; False when it is over already (closed)."""
        session = self.session(session_id)
        try:
            session.cancel(reason=reason, actor=actor)
        except SessionAlreadyClosedError:
            return False
        if session.pending_events:
            self.committer.submit(session).result()
            self.runner.wait_until_caught_up(10)
        return True

    # -- the form, checked ---------------------------------------------------------------

    def _wanted(
        self, draft: Draft, today: date, people_under: str | None, checked: Checked
    ) -> list[PlannedSession]:
        errors = checked.errors
        course = self.store.fetch_one(
            "SELECT code, name FROM courses WHERE code = :c", {"c": draft.course}
        )
        if course is None:
            errors.append(RowError("course", "import.unknown_course", value=draft.course))
        plant = self.store.fetch_one(
            "SELECT kind FROM org_units WHERE code = :c", {"c": draft.plant}
        )
        if plant is None or plant["kind"] != "plant":
            errors.append(RowError("plant", "import.not_a_plant", value=draft.plant))
        if not draft.room.strip():
            errors.append(RowError("room", "import.required"))
        if draft.ends_at <= draft.starts_at:
            errors.append(RowError("ends_at", "import.end_before_start"))
        if draft.capacity is not None and draft.capacity < 1:
            errors.append(RowError("capacity", "import.bad_number", value=draft.capacity))
        step = REPEAT_STEPS.get(draft.repeat)
        times = draft.times if draft.repeat != "none" else 1
        if step is None or not 1 <= times <= MAX_REPEATS or (draft.session_id and times > 1):
            errors.append(RowError("times", "plan.bad_repeat", most=MAX_REPEATS))
        code = draft.code.strip()
        stored: TrainingSession | None = None
        if draft.session_id:
            stored = self.session(draft.session_id)
            code = stored.code
            if stored.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
                errors.append(RowError("code", "plan.session_over"))
        expander = RosterExpander(self.store, today)
        rosters: list[list[str]] = []
        starts = [draft.starts_at + n * (step or timedelta(0)) for n in range(max(times, 1))]
        for start in starts:
            try:
                rosters.append(expander.expand(draft.roster_spec, "roster", start.date()))
            except RowError as err:
                errors.append(err)
                break
        if people_under is not None and rosters:
            outside = self._outside(rosters[0], people_under)
            if outside:
                errors.append(RowError("roster", "plan.roster_outside", count=len(outside)))
        if errors or course is None:
            return []
        codes = _codes(code, draft, starts)
        if stored is None:
            taken = self._taken(codes)
            if taken:
                errors.append(RowError("code", "plan.code_taken", value=", ".join(taken)))
                return []
        length = draft.ends_at - draft.starts_at
        return [
            PlannedSession(
                code=c,
                course=draft.course,
                title=str(course["name"]),
                plant=draft.plant,
                room=draft.room.strip(),
                trainer=draft.trainer.strip(),
                starts_at=start,
                ends_at=start + length,
                roster=roster,
                roster_spec=list(draft.roster_spec),
                capacity=draft.capacity,
            )
            for c, start, roster in zip(codes, starts, rosters, strict=True)
        ]

    def _outside(self, people: list[str], path: str) -> list[str]:
        if not people:
            return []
        params: dict[str, Any] = {f"p{i}": no for i, no in enumerate(people)}
        inside = {
            r["employee_no"]
            for r in self.store.fetch(
                "SELECT e.employee_no FROM employees e JOIN org_units o ON o.code = e.org_unit "
                f"WHERE e.employee_no IN ({', '.join(':' + k for k in params)}) "
                "AND o.path LIKE :prefix",
                {**params, "prefix": path + "%"},
            )
        }
        return [no for no in people if no not in inside]

    def _taken(self, codes: list[str]) -> list[str]:
        return [c for c in codes if self.app.get_or_none(natural_id("session", c)) is not None]


def _codes(code: str, draft: Draft, starts: list[datetime]) -> list[str]:
    """The codes of the plan's sessions: the one given (with the date after it when the
    session repeats), or the plant, course, day and time."""
    if code and len(starts) == 1:
        return [code]
    if code:
        return [f"{code}-{s:%Y%m%d}" for s in starts]
    return [f"{draft.plant}-{draft.course}-{s:%Y%m%d-%H%M}" for s in starts]


def _accepted(conflict: Conflict) -> dict[str, str]:
    """A confirmed conflict as the event keeps it."""
    return {
        "kind": conflict.kind.value,
        "employee_no": conflict.employee_no or "",
        "with_session_id": conflict.with_session_id or "",
    }
