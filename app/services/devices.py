"""Device authentication: which registered device holds a bearer token, and which
sessions it may act on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from app.domain.errors import DeviceNotRecognised, SessionOfOtherPlant, UnknownSession
from app.domain.queue_stamps import Contact
from app.stores.base import ReadStore, Row, Statement, from_iso, iso
from app.stores.credentials import hash_token

DEVICE_SELECT = (
    "SELECT d.id, d.name, d.room, d.plant, d.kind, d.revoked FROM device_credentials c "
    "JOIN devices d ON d.id = c.device_id WHERE c.token_hash = :h"
)
SESSION_COLUMNS = "id, plant, room, starts_at, ends_at, status"


@dataclass(frozen=True)
class DeviceIdentity:
    """The authenticated device making a request."""

    id: UUID
    name: str
    room: str
    plant: str
    kind: str

    @property
    def actor(self) -> str:
        """How events name this device as their actor."""
        return f"device:{self.name}"


def device_query(token: str | None) -> Statement:
    """The statement that finds the device holding `token`; no token is refused at once."""
    if not token:
        raise DeviceNotRecognised()
    return Statement(DEVICE_SELECT, {"h": hash_token(token)})


def device_of(rows: list[Row]) -> DeviceIdentity:
    """The device the token query found; unknown or revoked tokens are refused."""
    if not rows or rows[0]["revoked"]:
        raise DeviceNotRecognised()
    row = rows[0]
    return DeviceIdentity(UUID(row["id"]), row["name"], row["room"], row["plant"], row["kind"])


def authenticate_device(store: ReadStore, token: str | None) -> DeviceIdentity:
    """The device holding `token`; a missing, unknown or revoked token is refused."""
    (rows,) = store.fetch_many([device_query(token)])
    return device_of(rows)


def canonical_uuid(value: str) -> str | None:
    """`value` as a canonical UUID string, or None when it is not one."""
    try:
        return str(UUID(value))
    except ValueError:
        return None


def sessions_query(session_ids: set[str]) -> Statement:
    """The sessions with these (canonical) ids."""
    params = {f"s{i}": v for i, v in enumerate(sorted(session_ids))}
    marks = ", ".join(f":{k}" for k in params)
    return Statement(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id IN ({marks})", params)


def live_contacts_query(device_id: UUID, session_ids: set[str]) -> Statement:
    """When the server heard this device check people in to these sessions live (not from
    its offline queue): the times an honest device was online."""
    params: dict[str, str] = {f"s{i}": v for i, v in enumerate(sorted(session_ids))}
    marks = ", ".join(f":{k}" for k in params)
    return Statement(
        f"SELECT session_id, checked_in_at FROM attendance WHERE session_id IN ({marks}) "
        "AND device_id = :device AND checked_in_at IS NOT NULL "
        "AND flags NOT LIKE '%offline_sync%'",
        {**params, "device": str(device_id)},
    )


def contacts_since_query(device_id: UUID, since: datetime) -> Statement:
    """Everything this device sent that the server received after `since`, in any session."""
    return Statement(
        "SELECT session_id, server_time, device_time, device_seq, queued FROM device_contacts "
        "WHERE device_id = :device AND server_time > :since",
        {"device": str(device_id), "since": iso(since)},
    )


def contacts(rows: Iterable[Row]) -> list[Contact]:
    """`contacts_since_query`'s rows."""
    return [
        Contact(
            from_iso(r["server_time"]),
            from_iso(r["device_time"]) if r["device_time"] else None,
            None if r["device_seq"] is None else int(r["device_seq"]),
            None if r["queued"] is None else bool(r["queued"]),
            r["session_id"],
        )
        for r in rows
    ]


def live_contacts(rows: Iterable[Row]) -> dict[str, list[datetime]]:
    """`live_contacts_query`'s rows by session."""
    found: dict[str, list[datetime]] = {}
    for row in rows:
        found.setdefault(row["session_id"], []).append(from_iso(row["checked_in_at"]))
    return found


def session_for_device(device: DeviceIdentity, session_id: str, session: Row | None) -> Row:
    """The session a device names: it must exist and belong to the device's plant."""
    if session is None:
        raise UnknownSession(session_id=session_id)
    if session["plant"] != device.plant:
        raise SessionOfOtherPlant(session_id=session_id)
    return session


def device_session(store: ReadStore, device: DeviceIdentity, session_id: str) -> dict[str, Any]:
    """Look up the session a device names (see `session_for_device`)."""
    canonical = canonical_uuid(session_id)
    found = None
    if canonical is not None:
        (rows,) = store.fetch_many([sessions_query({canonical})])
        found = rows[0] if rows else None
    return session_for_device(device, session_id, found)
