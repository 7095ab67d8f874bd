"""Anomalies as people read them: flagged in order (`seq`), with their status and evidence."""

from __future__ import annotations

import json
from typing import Any

from app.domain.anomaly import Anomaly
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso


class Anomalies(Projection):
    name = "anomalies"
    owned_tables = ("anomalies",)
    tables = (
        "CREATE TABLE IF NOT EXISTS anomalies (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, "
        "kind TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL, "
        "session_id TEXT NOT NULL, employee_id TEXT, checkin_id TEXT, photo_id TEXT, "
        "raised_at TEXT NOT NULL, evidence TEXT NOT NULL, resolved_at TEXT, resolved_by TEXT, "
        "resolution_reason TEXT)",
        "CREATE UNIQUE INDEX IF NOT EXISTS anomalies_seq ON anomalies (seq)",
        "CREATE INDEX IF NOT EXISTS anomalies_session ON anomalies (session_id, seq)",
        "CREATE INDEX IF NOT EXISTS anomalies_photo ON anomalies (photo_id)",
    )

    @handles(Anomaly.AnomalyFlagged)
    def flagged(self, e: Any, b: Batch) -> None:
        # `seq` numbers anomalies in the order they were flagged: `after=<id>` pages by it
        b.sql(
            "INSERT INTO anomalies (id, seq, kind, severity, status, session_id, employee_id, "
            "checkin_id, photo_id, raised_at, evidence) SELECT :id, "
            "COALESCE(MAX(seq), 0) + 1, :kind, :severity, 'open', :sid, :employee, :checkin, "
            ":photo, :at, :evidence FROM anomalies WHERE true ON CONFLICT (id) DO NOTHING",
            id=str(e.originator_id),
            kind=e.kind,
            severity=e.severity,
            sid=str(e.session_id),
            employee=e.employee_id,
            checkin=str(e.checkin_id) if e.checkin_id else None,
            photo=e.photo_id,
            at=iso(e.timestamp),
            evidence=json.dumps(e.evidence, ensure_ascii=False, default=str),
        )
        b.changes.add(str(e.session_id))

    @handles(Anomaly.AnomalyResolved)
    def resolved(self, e: Any, b: Batch) -> None:
        b.update(
            "anomalies",
            "id",
            str(e.originator_id),
            status=e.outcome,
            resolved_at=iso(e.timestamp),
            resolved_by=e.actor,
            resolution_reason=e.reason,
        )
        b.changes.add(str(e.session_id))
