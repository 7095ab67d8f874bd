"""Planning reads: the sessions, rosters, shifts and teams of a stretch of time, loaded once,
then checked in memory (`app.domain.conflicts`). One session's check and a whole import of
sessions go through the same window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.domain.conflicts import (
    DEFAULT_TEAM_SHARE,
    Conflict,
    ShiftSpan,
    Sitting,
    Teams,
    busy_for,
    conflicts,
    free_slots,
)
from app.stores.base import ReadStore, from_iso, iso

#: the longest session or shift the window looks back for (one that started this long
#: before the window can still be running inside it)
LONGEST = timedelta(days=1)
#: how far either side free slots are looked for
SLOT_HORIZON = timedelta(days=7)


@dataclass
class PlanningWindow:
    """Everything planned between `start` and `end` (sessions not cancelled, shifts)."""

    sittings: dict[str, Sitting] = field(default_factory=dict)
    shifts: dict[str, list[ShiftSpan]] = field(default_factory=dict)
    teams: Teams = field(default_factory=lambda: Teams({}, {}))
    _by_day: dict[date, set[str]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def load(
        cls,
        store: ReadStore,
        start: datetime,
        end: datetime,
        people: Collection[str] | None = None,
    ) -> PlanningWindow:
        """Read the window from the read models (a handful of queries, whatever its size);
        with `people`, only their teams are read (enough to check one session of theirs)."""
        bounds = {"start": iso(start), "end": iso(end), "earliest": iso(start - LONGEST)}
        overlapping = (
            "s.starts_at < :end AND s.ends_at > :start AND s.starts_at > :earliest "
            "AND s.status <> 'cancelled'"
        )
        rows = store.fetch(
            "SELECT s.id, s.code, s.plant, s.room, s.trainer, s.starts_at, s.ends_at, "
            f"p.capacity FROM sessions s LEFT JOIN session_plans p ON p.id = s.id "
            f"WHERE {overlapping}",
            bounds,
        )
        rosters: dict[str, set[str]] = defaultdict(set)
        for r in store.fetch(  # sessions first, then each one's lines by the primary key
            "SELECT a.session_id, a.employee_no FROM attendance a WHERE a.on_roster = 1 "
            f"AND a.session_id IN (SELECT s.id FROM sessions s WHERE {overlapping})",
            bounds,
        ):
            rosters[r["session_id"]].add(r["employee_no"])
        window = cls(teams=_teams(store, people))
        for r in rows:
            window.add(_sitting(r, rosters.get(r["id"], set())))
        for r in store.fetch(
            "SELECT employee_no, starts_at, ends_at, line FROM shifts "
            "WHERE starts_at < :end AND ends_at > :start AND starts_at > :earliest",
            bounds,
        ):
            window.shifts.setdefault(r["employee_no"], []).append(
                ShiftSpan(
                    r["employee_no"], from_iso(r["starts_at"]), from_iso(r["ends_at"]), r["line"]
                )
            )
        return window

    def add(self, sitting: Sitting) -> None:
        """Put `sitting` in the window (replacing an earlier version of it)."""
        old = self.sittings.get(sitting.id)
        if old is not None:
            for day in _days(old.starts_at, old.ends_at):
                self._by_day[day].discard(old.id)
        self.sittings[sitting.id] = sitting
        for day in _days(sitting.starts_at, sitting.ends_at):
            self._by_day[day].add(sitting.id)

    def near(self, sitting: Sitting) -> list[Sitting]:
        """Sessions on the same days as `sitting` (the only ones it can overlap)."""
        ids: set[str] = set()
        for day in _days(sitting.starts_at, sitting.ends_at):
            ids |= self._by_day.get(day, set())
        ids.discard(sitting.id)
        return [self.sittings[i] for i in sorted(ids)]

    def shifts_of(self, people: Iterable[str]) -> list[ShiftSpan]:
        return [s for no in people for s in self.shifts.get(no, ())]

    def check(self, sitting: Sitting, share: float = DEFAULT_TEAM_SHARE) -> list[Conflict]:
        """Every conflict of `sitting` with what the window holds."""
        return conflicts(
            sitting, self.near(sitting), self.shifts_of(sitting.roster), self.teams, share
        )

    def free_slots(self, sitting: Sitting, count: int = 3) -> list[tuple[datetime, datetime]]:
        """The nearest times the session would fit (load the window ± `SLOT_HORIZON`)."""
        busy = busy_for(sitting, self.sittings.values(), self.shifts_of(sitting.roster))
        return free_slots(sitting, busy, count=count, horizon=SLOT_HORIZON)


def _days(start: datetime, end: datetime) -> list[date]:
    first = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _teams(store: ReadStore, people: Collection[str] | None) -> Teams:
    """Who is in which team (everyone, or the teams of `people`), leavers left out."""
    narrowed = ""
    params: dict[str, str] = {}
    if people is not None:
        # The people's teams first, then their members: two index lookups whatever the
        # planner's statistics say (one joined query took 150 ms on PostgreSQL right after
        # a bulk import, before ANALYZE).
        asked = {f"p{i}": no for i, no in enumerate(sorted(people))}
        if not asked:
            return Teams({}, {})
        teams = store.fetch(
            "SELECT DISTINCT org_unit FROM employees WHERE employee_no IN ("
            + ", ".join(f":{k}" for k in asked)
            + ")",
            asked,
        )
        params = {f"t{i}": r["org_unit"] for i, r in enumerate(teams) if r["org_unit"]}
        if not params:
            return Teams({}, {})
        narrowed = " AND e.org_unit IN (" + ", ".join(f":{k}" for k in params) + ")"
    team_of = {
        r["employee_no"]: r["org_unit"]
        for r in store.fetch(
            "SELECT e.employee_no, e.org_unit FROM employees e "
            "JOIN org_units o ON o.code = e.org_unit "
            "LEFT JOIN employee_details d ON d.employee_no = e.employee_no "
            "WHERE o.kind = 'team' AND d.left_on IS NULL" + narrowed,
            params,
        )
    }
    size: dict[str, int] = defaultdict(int)
    for team in team_of.values():
        size[team] += 1
    return Teams(team_of, dict(size))


def sitting_of(store: ReadStore, session_id: str) -> Sitting | None:
    """A stored session as a `Sitting` (None when unknown)."""
    row = store.fetch_one(
        "SELECT s.id, s.code, s.plant, s.room, s.trainer, s.starts_at, s.ends_at, p.capacity "
        "FROM sessions s LEFT JOIN session_plans p ON p.id = s.id "
        "WHERE s.id = :id",
        {"id": session_id},
    )
    if row is None:
        return None
    roster = store.fetch(
        "SELECT employee_no FROM attendance WHERE session_id = :id AND on_roster = 1",
        {"id": session_id},
    )
    return _sitting(row, {r["employee_no"] for r in roster})


def _sitting(row: dict[str, Any], roster: set[str]) -> Sitting:
    """A session row (id, code, plant, room, trainer, times, capacity) and its people."""
    return Sitting(
        id=row["id"],
        code=row["code"],
        plant=row["plant"],
        room=row["room"],
        trainer=row["trainer"],
        starts_at=from_iso(row["starts_at"]),
        ends_at=from_iso(row["ends_at"]),
        roster=frozenset(roster),
        capacity=row["capacity"],
    )
