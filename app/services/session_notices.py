"""Changes and cancellations reach the people affected: a follower with its own checkpoint
that, for each change to a session not yet ended (`SessionRescheduled`, `SessionCancelled`,
`SessionRosterChanged`, `SessionDetailsChanged`), records a notice for every employee it
concerns in the per-employee inbox `session_notices`, beside its checkpoint and in the same
transaction. The phone page shows the inbox (`GET /api/v1/me/notices`).

Who is affected: for a new time or room, a cancellation or new details, everyone on the
roster (before the change); for a roster change, only the people added or removed. The
session as it stood before the event comes from the log itself, so a replay gives the same
notices; each is keyed by the event's position and the employee, so none is recorded twice.
Mail and webhooks come later through the alerts' notification port.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.alerts.follower import Follower
from app.domain.training import SessionStatus, TrainingSession
from app.stores.base import Row, Tx, iso

KINDS = {
    "SessionRescheduled": "rescheduled",
    "SessionCancelled": "cancelled",
    "SessionRosterChanged": "roster",
    "SessionDetailsChanged": "details",
}


def affected(kind: str, before: list[str], after: list[str]) -> dict[str, str]:
    """Who a change concerns and how (`added`/`removed` for a roster change)."""
    if kind != "roster":
        return {no: kind for no in before}
    old, new = set(before), set(after)
    return {
        **{no: "removed" for no in before if no not in new},
        **{no: "added" for no in after if no not in old},
    }


def notice_facts(kind: str, before: TrainingSession, event: Any) -> dict[str, Any]:
    """What the phone shows of a change: the session's title and what is new."""
    facts: dict[str, Any] = {
        "title": before.title,
        "starts_at": iso(before.starts_at),
        "ends_at": iso(before.ends_at),
        "room": before.room,
    }
    if kind == "rescheduled":
        facts.update(
            was_starts_at=facts["starts_at"],
            was_room=before.room,
            starts_at=iso(event.starts_at),
            ends_at=iso(event.ends_at),
            room=event.room,
        )
    elif kind == "cancelled":
        facts["reason"] = event.reason
    elif kind == "details":
        facts.update(was_title=before.title, title=event.title, trainer=event.trainer)
    return facts


class SessionNotices(Follower):
    name = "session_notices"
    tables = (
        "CREATE TABLE IF NOT EXISTS session_notices (position BIGINT NOT NULL, "
        "employee_no TEXT NOT NULL, session_id TEXT NOT NULL, kind TEXT NOT NULL, "
        "facts TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (position, employee_no))",
        "CREATE INDEX IF NOT EXISTS session_notices_employee "
        "ON session_notices (employee_no, position)",
    )
    topics = tuple(getattr(TrainingSession, name) for name in KINDS)

    def run_once(self) -> datetime | None:
        start, end, events = self.read()
        if end == start:  # nothing new: no transaction just to leave the checkpoint alone
            return None
        rows = [row for position, event in events for row in self._notices(position, event)]
        with self.store.transaction() as tx:
            if self.move(tx, start, end):
                self._record(tx, rows)
        return None

    def _notices(self, position: int, event: Any) -> list[dict[str, Any]]:
        kind = KINDS.get(type(event).__qualname__.rsplit(".", 1)[-1])
        if kind is None or event.originator_version < 2:
            return []
        before = self.app.repository.get(event.originator_id, version=event.originator_version - 1)
        if not isinstance(before, TrainingSession):
            return []
        if before.status is SessionStatus.CLOSED or before.ends_at <= event.timestamp:
            return []  # the session was over: nobody needs telling
        if before.status is SessionStatus.CANCELLED:
            return []  # called off already: its later changes concern nobody
        after = list(event.roster) if kind == "roster" else before.roster
        facts = notice_facts(kind, before, event)
        return [
            {
                "position": position,
                "no": no,
                "session_id": str(event.originator_id),
                "kind": how,
                "facts": json.dumps(facts, ensure_ascii=False),
                "at": iso(event.timestamp),
            }
            for no, how in affected(kind, before.roster, after).items()
        ]

    @staticmethod
    def _record(tx: Tx, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            tx.execute(
                "INSERT INTO session_notices "
                "(position, employee_no, session_id, kind, facts, at) "
                "VALUES (:position, :no, :session_id, :kind, :facts, :at) "
                "ON CONFLICT (position, employee_no) DO NOTHING",
                row,
            )


async def notices_of(store: Any, employee_no: str, limit: int = 50) -> list[Row]:
    """An employee's notices, the newest first."""
    rows: list[Row] = await store.afetch(
        "SELECT position, session_id, kind, facts, at FROM session_notices "
        "WHERE employee_no = :no ORDER BY position DESC LIMIT :limit",
        {"no": employee_no, "limit": limit},
    )
    return [{**r, "facts": json.loads(r["facts"])} for r in rows]
