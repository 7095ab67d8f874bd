"""Deterministic aggregate ids.

Every aggregate id is a uuid5 of a stable natural key, so a retried command or a
replayed offline batch names the same aggregate and the event store refuses the copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import sha1
from uuid import UUID, SafeUUID, uuid5

MUSTER_NAMESPACE = UUID("6f1c4a52-8f0e-4f57-9a3e-6d2b8f1c0a11")


def natural_id(kind: str, key: str) -> UUID:
    """The aggregate id of the `kind` entity whose natural key is `key`."""
    return uuid5(MUSTER_NAMESPACE, f"{kind}:{key}")


def natural_ids(kind: str, keys: Iterable[str]) -> list[UUID]:
    """`natural_id` of many keys of one kind: the same uuid5 values, made without `UUID`'s
    per-call argument handling (a year of a plant's metrics is millions of ids)."""
    prefix = MUSTER_NAMESPACE.bytes + kind.encode() + b":"
    new, assign, unknown = object.__new__, object.__setattr__, SafeUUID.unknown
    ids = []
    for key in keys:
        # SHA-1 because uuid5 is defined on it; no security rests on these ids
        digest = sha1(prefix + key.encode(), usedforsecurity=False).digest()
        value = int.from_bytes(digest[:16], "big")
        # RFC 4122 variant and version 5, exactly as uuid5 sets them
        value = (value & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 5 << 76
        made = new(UUID)
        assign(made, "int", value)
        assign(made, "is_safe", unknown)
        ids.append(made)
    return ids


def attendance_id(session_id: UUID, employee_no: str) -> UUID:
    """One attendance per session and employee: a second check-in names the same record."""
    return natural_id("attendance", f"{session_id}/{employee_no}")


def device_command_id(device_id: UUID, client_event_id: str) -> UUID:
    """One record per device command: a replayed `client_event_id` names the same record."""
    return natural_id("device-command", f"{device_id}/{client_event_id}")
