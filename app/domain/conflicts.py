"""Planning conflicts: pure rules over sessions, rosters and shifts.

Each rule looks at one session being planned (`Sitting`) against what else is planned in
the same hours and returns `Conflict`s; words are the web layer's business (`kind` and
`facts` name the text and fill it). `free_slots` proposes the nearest times at which none
of the people, the trainer or the room is busy.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.rooms import same_room


class ConflictKind(StrEnum):
    """The kinds the contract names (`GET /api/v1/conflicts`)."""

    PERSON_DOUBLE_BOOKED = "person_double_booked"
    TRAINER_DOUBLE_BOOKED = "trainer_double_booked"
    ROOM_DOUBLE_BOOKED = "room_double_booked"
    SHIFT_CLASH = "shift_clash"
    OVER_CAPACITY = "over_capacity"
    TEAM_SHARE = "team_share"


#: conflicts no one can plan around: a room or a trainer cannot be in two sessions at once.
#: The planner refuses to save them; the other kinds (a person's other session or shift, a
#: full room, a team's share away) it saves once the planner has read them and confirmed.
HARD_KINDS = frozenset({ConflictKind.ROOM_DOUBLE_BOOKED, ConflictKind.TRAINER_DOUBLE_BOOKED})


def may_override(found: Iterable[Conflict]) -> bool:
    """Whether a planner may save despite `found` (none of them is a hard kind)."""
    return not any(c.kind in HARD_KINDS for c in found)


@dataclass(frozen=True)
class Sitting:
    """A session as planning sees it: where, when, who teaches, who attends."""

    id: str
    code: str
    plant: str
    room: str
    trainer: str
    starts_at: datetime
    ends_at: datetime
    roster: frozenset[str] = frozenset()
    capacity: int | None = None

    def overlaps(self, starts_at: datetime, ends_at: datetime) -> bool:
        """True when [starts_at, ends_at) shares any instant with this session."""
        return self.starts_at < ends_at and starts_at < self.ends_at


@dataclass(frozen=True)
class ShiftSpan:
    """A person's shift on the line."""

    employee_no: str
    starts_at: datetime
    ends_at: datetime
    line: str


@dataclass(frozen=True)
class Conflict:
    """One conflict of the session under check; `facts` fill its words."""

    kind: ConflictKind
    with_session_id: str | None = None
    employee_no: str | None = None
    facts: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Teams:
    """Team of each person and each team's headcount (for `team_share`)."""

    team_of: Mapping[str, str]
    size: Mapping[str, int]


#: at most this share of a team may be away in training at one time
DEFAULT_TEAM_SHARE = 0.5


def _others(sitting: Sitting, others: Iterable[Sitting]) -> list[Sitting]:
    return [
        o for o in others if o.id != sitting.id and o.overlaps(sitting.starts_at, sitting.ends_at)
    ]


def person_double_booked(sitting: Sitting, others: Iterable[Sitting]) -> list[Conflict]:
    """People on this roster also on the roster of a session at the same time."""
    found = []
    for other in _others(sitting, others):
        for no in sorted(sitting.roster & other.roster):
            found.append(
                Conflict(
                    ConflictKind.PERSON_DOUBLE_BOOKED,
                    with_session_id=other.id,
                    employee_no=no,
                    facts=_about(other),
                )
            )
    return found


def trainer_double_booked(sitting: Sitting, others: Iterable[Sitting]) -> list[Conflict]:
    """The trainer teaches another session at the same time (in any plant)."""
    if not sitting.trainer:
        return []
    return [
        Conflict(
            ConflictKind.TRAINER_DOUBLE_BOOKED,
            with_session_id=o.id,
            facts={**_about(o), "trainer": sitting.trainer},
        )
        for o in _others(sitting, others)
        if o.trainer == sitting.trainer
    ]


def room_double_booked(sitting: Sitting, others: Iterable[Sitting]) -> list[Conflict]:
    """Another session uses the same room of the same plant at the same time (rooms compared
    by `room_key`: "培训室 A" is "培训室A")."""
    return [
        Conflict(ConflictKind.ROOM_DOUBLE_BOOKED, with_session_id=o.id, facts=_about(o))
        for o in _others(sitting, others)
        if same_room(o.plant, o.room, sitting.plant, sitting.room)
    ]


def shift_clash(sitting: Sitting, shifts: Iterable[ShiftSpan]) -> list[Conflict]:
    """People on the roster who are on shift on the line during the session."""
    return [
        Conflict(
            ConflictKind.SHIFT_CLASH,
            employee_no=s.employee_no,
            facts={"line": s.line, "shift_start": s.starts_at, "shift_end": s.ends_at},
        )
        for s in sorted(shifts, key=lambda s: (s.employee_no, s.starts_at))
        if s.employee_no in sitting.roster and sitting.overlaps(s.starts_at, s.ends_at)
    ]


def over_capacity(sitting: Sitting) -> list[Conflict]:
    """More people on the roster than the session (its room) holds."""
    if sitting.capacity is None or len(sitting.roster) <= sitting.capacity:
        return []
    return [
        Conflict(
            ConflictKind.OVER_CAPACITY,
            facts={"rostered": len(sitting.roster), "capacity": sitting.capacity},
        )
    ]


def team_share(
    sitting: Sitting,
    others: Iterable[Sitting],
    teams: Teams,
    share: float = DEFAULT_TEAM_SHARE,
) -> list[Conflict]:
    """Teams of which more than `share` of the people would be away in training at once
    (this session and the ones overlapping it)."""
    mine = {teams.team_of[no] for no in sitting.roster if no in teams.team_of}
    if not mine:
        return []
    away: set[str] = set(sitting.roster)
    for other in _others(sitting, others):
        away |= other.roster
    # only the teams of this roster are counted (the others' people are mostly elsewhere)
    team_of = teams.team_of
    gone_from = Counter(t for t in map(team_of.get, away) if t in mine)
    found = []
    for team in sorted(mine):
        size, gone = teams.size.get(team, 0), gone_from[team]
        if size and gone / size > share:
            found.append(
                Conflict(
                    ConflictKind.TEAM_SHARE,
                    facts={"team": team, "away": gone, "size": size, "share": round(share * 100)},
                )
            )
    return found


def conflicts(
    sitting: Sitting,
    others: Sequence[Sitting],
    shifts: Sequence[ShiftSpan],
    teams: Teams,
    share: float = DEFAULT_TEAM_SHARE,
) -> list[Conflict]:
    """Every conflict of `sitting`, kind by kind."""
    others = _others(sitting, others)  # the sessions at the same time, found once
    return [
        *person_double_booked(sitting, others),
        *trainer_double_booked(sitting, others),
        *room_double_booked(sitting, others),
        *shift_clash(sitting, shifts),
        *over_capacity(sitting),
        *team_share(sitting, others, teams, share),
    ]


def _about(other: Sitting) -> dict[str, object]:
    return {"other_code": other.code, "other_start": other.starts_at, "other_room": other.room}


def busy_for(
    sitting: Sitting, others: Iterable[Sitting], shifts: Iterable[ShiftSpan]
) -> list[tuple[datetime, datetime]]:
    """When the room, the trainer or anyone on the roster is taken (by other sessions or
    shifts): the intervals a free slot must avoid."""
    busy = []
    for o in others:
        if o.id == sitting.id:
            continue
        room = same_room(o.plant, o.room, sitting.plant, sitting.room)
        same_trainer = bool(sitting.trainer) and o.trainer == sitting.trainer
        if room or same_trainer or sitting.roster & o.roster:
            busy.append((o.starts_at, o.ends_at))
    busy.extend((s.starts_at, s.ends_at) for s in shifts if s.employee_no in sitting.roster)
    return sorted(busy)


def free_slots(
    sitting: Sitting,
    busy: Sequence[tuple[datetime, datetime]],
    *,
    count: int = 3,
    step: timedelta = timedelta(minutes=30),
    horizon: timedelta = timedelta(days=7),
    day_starts: int = 8,
    day_ends: int = 18,
) -> list[tuple[datetime, datetime]]:
    """The `count` start times nearest to the planned one (either side, `step` apart,
    within `horizon`) at which the session fits between `day_starts` and `day_ends` o'clock
    (in the session's own offset) and overlaps nothing in `busy`."""
    length = sitting.ends_at - sitting.starts_at
    merged = _merged(busy)
    ends = [end for _, end in merged]
    found: list[tuple[datetime, datetime]] = []
    steps = int(horizon / step)
    for n in range(1, steps + 1):
        for start in (sitting.starts_at + n * step, sitting.starts_at - n * step):
            end = start + length
            if not _working_hours(start, end, day_starts, day_ends):
                continue
            first = bisect_right(ends, start)  # the first busy stretch ending after `start`
            if first < len(merged) and merged[first][0] < end:
                continue
            found.append((start, end))
            if len(found) == count:
                return found
    return found


def _merged(busy: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Busy intervals sorted and joined where they touch or overlap."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(busy):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _working_hours(start: datetime, end: datetime, first: int, last: int) -> bool:
    day_start = start.replace(hour=first, minute=0, second=0, microsecond=0)
    day_end = start.replace(hour=last, minute=0, second=0, microsecond=0)
    return day_start <= start and end <= day_end
