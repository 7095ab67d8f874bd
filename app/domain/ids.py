"""Deterministic aggregate ids.

Every aggregate id is a uuid5 of a stable natural key, so a retried command or a
replayed offline batch names the same aggregate and the event store refuses the copy.
"""

from __future__ import annotations

from uuid import UUID, uuid5

MUSTER_NAMESPACE = UUID("6f1c4a52-8f0e-4f57-9a3e-6d2b8f1c0a11")


def natural_id(kind: str, key: str) -> UUID:
    """The aggregate id of the `kind` entity whose natural key is `key`."""
    return uuid5(MUSTER_NAMESPACE, f"{kind}:{key}")


def attendance_id(session_id: UUID, employee_no: str) -> UUID:
    """One attendance per session and employee: a second check-in names the same record."""
    return natural_id("attendance", f"{session_id}/{employee_no}")


def device_command_id(device_id: UUID, client_event_id: str) -> UUID:
    """One record per device command: a replayed `client_event_id` names the same record."""
    return natural_id("device-command", f"{device_id}/{client_event_id}")
