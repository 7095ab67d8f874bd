"""What the read models know about a batch of check-ins, in one round trip.

The device (by its token), the sessions, the people named by badge or number, the device's
earlier commands among the batch's `client_event_id`s and those people's attendance do not
depend on one another's answers once each is asked by what the request itself carries (the
token's hash, the badge, the number): they go to the store together, one pipeline on
PostgreSQL. Only a person a face names is known afterwards; their attendance takes a second
trip. Nothing is cached between requests, so a new employee or a revoked token counts at
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.errors import Refusal
from app.services import devices
from app.services.commands import CheckInCommand
from app.services.devices import DeviceIdentity
from app.services.idempotency import (
    PersonKey,
    attendance_by_badge_query,
    attendance_query,
    commands_of_token_query,
    commands_query,
)
from app.services.identity import Identity, IdentityResolver
from app.services.phones import PhoneIdentity
from app.stores.base import ReadStore, Row, Statement
from app.stores.credentials import hash_token


@dataclass(frozen=True)
class BatchLookup:
    """What the read models know about a batch: its sessions, people and their attendance."""

    sessions: dict[str, Row | None]
    identities: list[Identity | Refusal]
    attendance: dict[PersonKey, Row]
    #: this device's earlier commands among the batch's `client_event_id`s
    commands: dict[str, Row]


def look_up(
    store: ReadStore,
    identities: IdentityResolver,
    token: str | PhoneIdentity | None,
    commands: Sequence[CheckInCommand],
) -> tuple[DeviceIdentity, BatchLookup]:
    """The device (a missing, unknown or revoked token raises `DeviceNotRecognised`) and
    what the read models know about its batch."""
    phone = token if isinstance(token, PhoneIdentity) else None
    secret = None if isinstance(token, PhoneIdentity) else token
    canonical = {c.session_id: devices.canonical_uuid(c.session_id) for c in commands}
    session_ids = {sid for sid in canonical.values() if sid is not None}
    by_badge, by_no = identities.queries(commands, phone)
    queries: dict[str, Statement | None] = {
        "device": None if phone is not None else devices.device_query(secret),
        "sessions": devices.sessions_query(session_ids) if session_ids else None,
        "by_badge": by_badge,
        "by_no": by_no,
        "commands": commands_query(phone, commands)
        if phone is not None
        else commands_of_token_query(hash_token(secret or ""), commands),
        "badge_attendance": attendance_by_badge_query(
            (sid, c.badge_uid)
            for c in commands
            if c.badge_uid and phone is None and (sid := canonical[c.session_id])
        ),
        "number_attendance": attendance_query(
            (sid, number)
            for c in commands
            if (number := phone.employee_no if phone is not None else c.employee_id)
            and (phone is not None or not c.badge_uid)
            and (sid := canonical[c.session_id])
        ),
    }
    asked = {name: q for name, q in queries.items() if q is not None}
    found = dict(zip(asked, store.fetch_many(list(asked.values())), strict=True))
    device = phone or devices.device_of(found["device"])
    rows = {row["id"]: row for row in found.get("sessions", [])}
    sessions = {raw: rows.get(sid) if sid else None for raw, sid in canonical.items()}
    named = identities.resolve(
        commands, sessions, device, (found.get("by_badge", []), found.get("by_no", []))
    )
    attendance = {
        (row["session_id"], row["employee_no"]): row
        for row in [*found.get("badge_attendance", []), *found.get("number_attendance", [])]
    }
    # a face names its person only now: their attendance was not asked for yet
    by_face = {
        (sid, identity.employee["employee_no"])
        for command, identity in zip(commands, named, strict=True)
        if isinstance(identity, Identity)
        and identity.employee is not None
        and identity.presented not in (command.badge_uid, command.employee_id)
        and not isinstance(device, PhoneIdentity)
        and (sid := canonical[command.session_id]) is not None
    }
    if later := attendance_query(by_face - attendance.keys()):
        (more,) = store.fetch_many([later])
        attendance |= {(row["session_id"], row["employee_no"]): row for row in more}
    earlier = {row["client_event_id"]: row for row in found.get("commands", [])}
    return device, BatchLookup(sessions, named, attendance, earlier)
