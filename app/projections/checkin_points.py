"""Reads for the places people check in: a room's kiosk and the phone page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.domain.rooms import room_key
from app.domain.rules import WindowPolicy
from app.stores.base import ReadStore, Row, iso

SESSION_FIELDS = "id, code, title, plant, room, trainer, starts_at, ends_at, status, expected, "
SESSION_FIELDS += "checked_in, late, walk_ins"


async def open_sessions(
    store: ReadStore, now: datetime, policy: WindowPolicy, plant: str | None = None
) -> list[Row]:
    """Sessions whose check-in window is open now (of one plant, or of all), earliest first."""
    where = "AND plant = :plant " if plant else ""
    return await store.afetch(
        f"SELECT {SESSION_FIELDS} FROM sessions WHERE status <> 'closed' {where}"
        "AND starts_at <= :opens_by AND ends_at > :now ORDER BY starts_at, code",
        {"plant": plant, "opens_by": iso(now + policy.opens_before), "now": iso(now)},
    )


async def room_session(
    store: ReadStore, plant: str, room: str, now: datetime, policy: WindowPolicy
) -> Row | None:
    """The session a room's kiosk checks people in to now: the earliest open one there."""
    here = room_key(room)
    rows = [
        r for r in await open_sessions(store, now, policy, plant) if room_key(r["room"]) == here
    ]
    return rows[0] if rows else None


async def coming_up(
    store: ReadStore, plant: str, room: str, now: datetime, limit: int = 5
) -> list[Row]:
    """The room's next sessions not yet started (scheduled, not cancelled), earliest first."""
    return await store.afetch(
        f"SELECT {SESSION_FIELDS} FROM sessions WHERE plant = :plant AND room = :room "
        "AND status = 'scheduled' AND starts_at > :now ORDER BY starts_at, code LIMIT :limit",
        {"plant": plant, "room": room, "now": iso(now), "limit": limit},
    )


async def roster(store: ReadStore, session_id: str) -> list[dict[str, Any]]:
    """Everyone on the session's roster or checked in to it, by name, with their status."""
    return await store.afetch(
        "SELECT employee_no, name, status, on_roster, checked_in_at FROM attendance "
        "WHERE session_id = :sid ORDER BY checked_in_at IS NOT NULL, name",
        {"sid": session_id},
    )
