"""Browsing the audit trail: who did what, when, about which person, session or device,
newest first, a page at a time, inside the reader's org subtree, never with a secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.audit.log import event_record, in_subtree, read_positions
from app.domain.ids import natural_id
from app.stores.base import ReadStore, iso

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class HistoryFilter:
    """What narrows the history; every field is optional. `person` is an employee number,
    `session` a session id or its code, `device` a device id or its name; `before` and `after`
    are log positions (the cursor of the next older or newer page)."""

    person: str | None = None
    session: str | None = None
    device: str | None = None
    event: str | None = None
    actor: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    before: int | None = None
    after: int | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class HistoryPage:
    """One page of history, newest first. `older`/`newer`: the cursors of the pages beside
    it (None at either end)."""

    entries: list[dict[str, Any]]
    older: int | None
    newer: int | None


_SELECT = (
    "SELECT a.position, a.at, a.event, a.originator_id, a.actor, a.role, a.via, a.session_id, "
    "a.employee_no, a.device_id, s.code AS session_code, s.title AS session_title, "
    "e.name AS employee_name, d.name AS device_name FROM audit_log a "
    "LEFT JOIN sessions s ON s.id = a.session_id "
    "LEFT JOIN employees e ON e.employee_no = a.employee_no "
    "LEFT JOIN devices d ON d.id = a.device_id"
)


def _conditions(
    store: ReadStore, path: str | None, wanted: HistoryFilter
) -> tuple[str, dict[str, Any]]:
    condition, params = in_subtree(path)
    where = [condition.replace("org_path", "a.org_path")]
    if wanted.person:
        # an employee's own events (hired, details changed) name them by their aggregate id
        where.append("(a.employee_no = :person OR a.originator_id = :person_id)")
        params["person"] = wanted.person
        params["person_id"] = str(natural_id("employee", wanted.person))
    if wanted.session:
        row = store.fetch_one(
            "SELECT id FROM sessions WHERE id = :s OR code = :s ORDER BY id LIMIT 1",
            {"s": wanted.session},
        )
        where.append("a.session_id = :session")
        params["session"] = row["id"] if row else wanted.session
    if wanted.device:
        row = store.fetch_one(
            "SELECT id FROM devices WHERE id = :d OR name = :d ORDER BY id LIMIT 1",
            {"d": wanted.device},
        )
        where.append("(a.device_id = :device OR a.originator_id = :device)")
        params["device"] = row["id"] if row else wanted.device
    if wanted.event:
        where.append("a.event = :event")
        params["event"] = wanted.event
    if wanted.actor:
        where.append("a.actor = :actor")
        params["actor"] = wanted.actor
    if wanted.start is not None:
        where.append("a.at >= :start")
        params["start"] = iso(wanted.start)
    if wanted.end is not None:
        where.append("a.at < :end")
        params["end"] = iso(wanted.end)
    return " AND ".join(where), params


def history(
    store: ReadStore, recorder: Any, mapper: Any, path: str | None, wanted: HistoryFilter
) -> HistoryPage:
    """A page of the trail inside the subtree at `path` (None: everything), newest first,
    each entry with its event as the events API shows it (no secret). Blocking: call it from
    a worker thread."""
    where, params = _conditions(store, path, wanted)
    limit = max(1, min(wanted.limit, MAX_PAGE_SIZE))
    if wanted.after is not None:  # the newer page: read upwards, show newest first
        rows = store.fetch(
            f"{_SELECT} WHERE {where} AND a.position > :cursor ORDER BY a.position LIMIT :n",
            {**params, "cursor": wanted.after, "n": limit + 1},
        )
        more_newer = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        more_older = bool(rows) and _exists(store, where, params, "<", rows[-1]["position"])
    else:
        cursor = "" if wanted.before is None else " AND a.position < :cursor"
        rows = store.fetch(
            f"{_SELECT} WHERE {where}{cursor} ORDER BY a.position DESC LIMIT :n",
            {**params, "cursor": wanted.before, "n": limit + 1},
        )
        more_older = len(rows) > limit
        rows = rows[:limit]
        more_newer = bool(rows) and _exists(store, where, params, ">", rows[0]["position"])
    records = {
        n.id: event_record(mapper, n)
        for n in read_positions(recorder, sorted(int(r["position"]) for r in rows))
    }
    entries = [{**r, "record": records.get(int(r["position"]))} for r in rows]
    return HistoryPage(
        entries=entries,
        older=int(rows[-1]["position"]) if rows and more_older else None,
        newer=int(rows[0]["position"]) if rows and more_newer else None,
    )


def _exists(store: ReadStore, where: str, params: dict[str, Any], op: str, position: int) -> bool:
    row = store.fetch_one(
        f"SELECT a.position FROM audit_log a WHERE {where} AND a.position {op} :p LIMIT 1",
        {**params, "p": position},
    )
    return row is not None
