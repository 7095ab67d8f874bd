"""The audit trail's index: one row per event with who did it (actor, role, device or IP),
when, about which session, person and device, and where in the org tree it happened.

The event log itself stays the record; this index lets auditors browse it by person, session,
device and time, and keeps each auditor inside their own subtree (`org_path`).
"""

from __future__ import annotations

from typing import Any

from app.projections.base import Batch, Projection
from app.stores.base import iso

#: attributes that name the org unit an event is about, in order of preference
_ORG_ATTRIBUTES = ("plant", "org_unit", "scope")

# The org unit of an event: named by an attribute, or found from the session, device, login,
# employee or org unit it is about (the other projections' rows, in the same transaction).
_ORG_PATH = (
    "COALESCE((SELECT path FROM org_units WHERE code = :org), "
    "(SELECT o.path FROM sessions s JOIN org_units o ON o.code = s.plant WHERE s.id = :sid), "
    "(SELECT o.path FROM devices d JOIN org_units o ON o.code = d.plant WHERE d.id = :oid), "
    "(SELECT o.path FROM users u JOIN org_units o ON o.code = u.scope WHERE u.id = :oid), "
    "(SELECT o.path FROM employees e JOIN org_units o ON o.code = e.org_unit WHERE e.id = :oid), "
    "(SELECT path FROM org_units WHERE id = :oid))"
)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def event_name(topic_or_event: Any) -> str:
    """`EmployeeCheckedIn` for an event or its topic (`app.domain.attendance:Attendance.…`)."""
    topic = topic_or_event if isinstance(topic_or_event, str) else type(topic_or_event).__qualname__
    return topic.rsplit(".", 1)[-1].rsplit(":", 1)[-1]


def _is_session_event(event: Any) -> bool:
    return type(event).__qualname__.startswith("TrainingSession.")


class AuditTrail(Projection):
    name = "audit"
    owned_tables = ("audit_log",)
    depends_on = ("directory", "access", "live_attendance")
    tables = (
        "CREATE TABLE IF NOT EXISTS audit_log (position BIGINT PRIMARY KEY, at TEXT NOT NULL, "
        "event TEXT NOT NULL, originator_id TEXT NOT NULL, actor TEXT, role TEXT, via TEXT, "
        "session_id TEXT, employee_no TEXT, device_id TEXT, org_path TEXT)",
        "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)",
        "CREATE INDEX IF NOT EXISTS audit_log_org ON audit_log (org_path, position)",
    )

    def apply(self, event: Any, batch: Batch) -> None:
        """Every event gets a row; which fields it has decides what the row says."""
        attrs = vars(event)
        org = next((attrs[a] for a in _ORG_ATTRIBUTES if attrs.get(a)), None)
        if org is None and event_name(event) == "OrgUnitRegistered":
            org = attrs.get("code")
        session = attrs.get("session_id")
        oid = str(event.originator_id)
        device = attrs.get("device_id") or attrs.get("device")
        batch.sql(
            "INSERT INTO audit_log (position, at, event, originator_id, actor, role, via, "
            "session_id, employee_no, device_id, org_path) VALUES (:pos, :at, :event, :oid, "
            f":actor, :role, :via, :session, :employee, :device, {_ORG_PATH}) "
            "ON CONFLICT (position) DO NOTHING",
            pos=batch.position,
            at=iso(event.timestamp),
            event=event_name(event),
            oid=oid,
            actor=_text(attrs.get("actor")) or (f"device:{device}" if device else None),
            role=_text(attrs.get("actor_role")) or ("device" if device else None),
            via=_text(attrs.get("via") or device),
            sid=_text(session) or oid,
            session=_text(session) or (oid if _is_session_event(event) else None),
            employee=_text(attrs.get("employee_no")),
            device=_text(device),
            org=_text(org),
        )
