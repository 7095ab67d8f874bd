"""Sessions open and close by their schedule: a follower that starts each session at its
start time and ends it at its end time (`SessionStarted`, `SessionEnded`), marking who on
the roster never came (`AbsenteesMarked`). It sleeps until the next start or end it knows."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from app.alerts.follower import CommittingFollower, events_of
from app.domain.training import SessionStatus, TrainingSession
from app.stores.base import from_iso, iso

log = structlog.get_logger(__name__)
ACTOR = "schedule"


class SessionClock(CommittingFollower):
    """Opens and closes sessions as the clock passes their times."""

    name = "session_clock"
    reads_events = False
    #: a session scheduled or moved may bring its next start or end nearer
    topics = events_of(TrainingSession)
    depends_on = ("live_attendance",)

    def run_once(self) -> datetime | None:
        start, end, _ = self.read()
        now = self.clock()
        params = {"now": iso(now)}
        changed: list[Any] = []
        for row in self.store.fetch(
            "SELECT id FROM sessions WHERE status = 'scheduled' AND starts_at <= :now "
            "AND ends_at > :now",
            params,
        ):
            session: TrainingSession = self.app.repository.get(UUID(row["id"]))
            session.start(actor=ACTOR)  # nothing if it is open already
            changed.append(session)
        for row in self.store.fetch(
            "SELECT id FROM sessions WHERE status IN ('scheduled', 'open') AND ends_at <= :now",
            params,
        ):
            session = self.app.repository.get(UUID(row["id"]))
            if session.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
                continue  # the read model has not caught up yet
            session.end(actor=ACTOR)
            absent = self.store.fetch(
                "SELECT employee_no FROM attendance WHERE session_id = :id AND on_roster = 1 "
                "AND status = 'expected' ORDER BY employee_no",
                {"id": row["id"]},
            )
            session.mark_absent(employee_nos=[r["employee_no"] for r in absent], actor=ACTOR)
            changed.append(session)
        pending = [s for s in changed if s.pending_events]
        if pending:
            outcomes = self.committer.submit_each(pending).result()
            if any(outcomes):
                log.info("session clock: some changes lost a race", failed=sum(map(bool, outcomes)))
        with self.store.transaction() as tx:
            self.move(tx, start, end)
        return self._next(now)

    def _next(self, now: datetime) -> datetime | None:
        """The next start or end still to come."""
        row = self.store.fetch_one(
            "SELECT MIN(t) AS t FROM (SELECT starts_at AS t FROM sessions "
            "WHERE status = 'scheduled' AND starts_at > :now UNION ALL SELECT ends_at AS t "
            "FROM sessions WHERE status IN ('scheduled', 'open') AND ends_at > :now) upcoming",
            {"now": iso(now)},
        )
        return from_iso(row["t"]) if row and row["t"] else None
