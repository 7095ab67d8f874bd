"""Rosters kept current: a follower of the event log that, when people are hired, move or
leave, expands again the roster of every session not yet started whose roster names them,
their org unit (or one above it) or their position, and records the new roster
(`SessionRosterChanged`). Sessions that started keep the roster they started with.

A planner's save expands its roster from the directory as projected at that instant, which
may not yet show a hire recorded just before the save; the keeper may have passed that
hire before the session was projected. So the keeper also checks each session as it is
saved (scheduled, moved or given another roster by someone else): by then the directory has
every earlier hire (decision 0133).

It keeps its own checkpoint like a projection; a change that loses a race with a planner's
save is tried again from the same place on the next round."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.utils import get_topic

from app.alerts.follower import CommittingFollower
from app.domain.org import Employee
from app.domain.training import SessionStatus, TrainingSession
from app.imports.rosters import RosterExpander, position_entry
from app.stores.base import from_iso, in_list, iso

log = structlog.get_logger(__name__)
ACTOR = "rosters"

#: the events that change who a roster entry names
PEOPLE_EVENTS = (
    Employee.EmployeeHired,
    Employee.EmployeeMoved,
    Employee.EmployeeTransferred,
    Employee.EmployeeLeft,
    Employee.EmployeeRejoined,
)


PEOPLE_TOPICS = frozenset(get_topic(kind) for kind in PEOPLE_EVENTS)

#: the events that save a session's plan: its roster is checked again once they are projected
SAVED_EVENTS = (
    TrainingSession.SessionScheduled,
    TrainingSession.SessionRescheduled,
    TrainingSession.SessionRosterChanged,
)


class RosterKeeper(CommittingFollower):
    """Keeps the rosters of sessions not yet started equal to what their entries name."""

    name = "roster_keeper"
    depends_on = ("directory", "plans", "live_attendance")
    topics = PEOPLE_EVENTS + SAVED_EVENTS
    batch_size = 2000
    #: rosters of sessions not yet started can wait for a burst of check-ins to be answered
    defer_s = 5.0

    def run_once(self) -> datetime | None:
        start, end = self.position(), self._reachable()
        if end <= start:
            return None
        notifications, end = self._notifications(start, end, self.topics)
        people = self._people([n for n in notifications if n.topic in PEOPLE_TOPICS])
        saved = _saved([n for n in notifications if n.topic not in PEOPLE_TOPICS], self.app)
        if (people or saved) and not self._refresh(people, saved):
            return None  # a save lost a race: the same events again next round
        with self.store.transaction() as tx:
            self.move(tx, start, end)
        return None

    def _people(self, notifications: list[Any]) -> set[str]:
        """Employee numbers of the people these events hired, moved or let go, from the
        directory (which has projected them): the events themselves are not decoded, so a
        bulk hire of thousands costs a few queries, not thousands of decodings."""
        ids = sorted({str(n.originator_id) for n in notifications})
        numbers: set[str] = set()
        for chunk in range(0, len(ids), 500):
            names, params = in_list("i", ids[chunk : chunk + 500])
            numbers |= {
                r["employee_no"]
                for r in self.store.fetch(
                    f"SELECT employee_no FROM employees WHERE id IN ({names})", params
                )
            }
        return numbers

    def _refresh(self, people: set[str], saved: set[str]) -> bool:
        """Re-expand the rosters that may name `people`, and those of the `saved`
        sessions; False if a save failed."""
        now = self.clock()
        upcoming = self.store.fetch(
            "SELECT s.id, s.starts_at, p.roster_spec FROM sessions s "
            "JOIN session_plans p ON p.id = s.id "
            "WHERE s.status = 'scheduled' AND s.starts_at > :now",
            {"now": iso(now)},
        )
        if not upcoming:
            return True
        names = self._entries_naming(people) if people else set()
        on_roster = self._sessions_listing(people, now) | saved if people else saved
        candidates = [
            r
            for r in upcoming
            if r["id"] in on_roster or names & set(json.loads(r["roster_spec"] or "[]"))
        ]
        if not candidates:
            return True
        expander = RosterExpander(self.store, self.day_of(now))
        listed = self._listed([r["id"] for r in candidates])
        changed = []
        for r in candidates:
            day = self.day_of(from_iso(r["starts_at"]))
            spec = json.loads(r["roster_spec"] or "[]")
            if set(expander.expand(spec, "roster", day, strict=False)) == listed[r["id"]]:
                continue  # the projected roster is what its entries name today
            session: TrainingSession = self.app.repository.get(UUID(r["id"]))
            if session.status is not SessionStatus.SCHEDULED:
                continue
            roster = expander.expand(session.roster_spec, "roster", day, strict=False)
            if roster != session.roster:
                session.change_roster(roster=roster, roster_spec=session.roster_spec, actor=ACTOR)
                changed.append(session)
        if not changed:
            return True
        outcomes = self.committer.submit_each(changed).result()
        failed = [o for o in outcomes if o is not None]
        if failed:
            log.info("rosters: some changes lost a race", failed=len(failed))
        else:
            log.info("rosters kept current", sessions=len(changed), people=len(people))
        return not failed

    def _listed(self, session_ids: list[str]) -> dict[str, set[str]]:
        """The people on each session's projected roster."""
        listed: dict[str, set[str]] = {sid: set() for sid in session_ids}
        for start in range(0, len(session_ids), 500):
            params = {f"s{n}": sid for n, sid in enumerate(session_ids[start : start + 500])}
            for r in self.store.fetch(
                "SELECT session_id, employee_no FROM attendance WHERE on_roster = 1 "
                f"AND session_id IN ({', '.join(':' + k for k in params)})",
                params,
            ):
                listed[r["session_id"]].add(r["employee_no"])
        return listed

    def _entries_naming(self, people: set[str]) -> set[str]:
        """Roster entries that name any of `people`: their numbers, every org unit on the
        way up from theirs, their positions (anywhere, and within each of those units)."""
        entries = set(people)
        params = {f"e{n}": no for n, no in enumerate(sorted(people))}
        for r in self.store.fetch(
            "SELECT e.position, o.path FROM employees e JOIN org_units o ON o.code = e.org_unit "
            f"WHERE e.employee_no IN ({', '.join(':' + k for k in params)})",
            params,
        ):
            units = {code for code in r["path"].split("/") if code}
            entries |= units
            if r["position"]:
                entries.add(position_entry(r["position"]))
                entries |= {position_entry(r["position"], unit) for unit in units}
        return entries

    def _sessions_listing(self, people: set[str], now: datetime) -> set[str]:
        """Sessions not yet started with any of `people` on the roster (they may have left
        the unit or the position that put them there)."""
        params: dict[str, Any] = {f"e{n}": no for n, no in enumerate(sorted(people))}
        params["now"] = iso(now)
        return {
            r["session_id"]
            for r in self.store.fetch(
                "SELECT DISTINCT a.session_id FROM attendance a "
                "JOIN sessions s ON s.id = a.session_id "
                f"WHERE a.employee_no IN ({', '.join(':' + k for k in params if k != 'now')}) "
                "AND a.on_roster = 1 AND s.status = 'scheduled' AND s.starts_at > :now",
                params,
            )
        }


def _saved(notifications: list[Any], app: Any) -> set[str]:
    """Sessions whose plan these events saved (not the keeper's own roster changes)."""
    mapper: Any = app.mapper
    decode = getattr(mapper, "to_sealed_event", mapper.to_domain_event)
    return {str(n.originator_id) for n in notifications if getattr(decode(n), "actor", "") != ACTOR}
