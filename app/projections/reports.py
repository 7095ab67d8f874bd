"""Saved custom reports and their delivery schedule, per owner; the scheduled reports each
login received (its in-app inbox)."""

from __future__ import annotations

import json
from typing import Any

from app.domain.reports import SavedReport
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso


class SavedReports(Projection):
    name = "saved_reports"
    owned_tables = ("saved_reports", "report_inbox")
    tables = (
        "CREATE TABLE IF NOT EXISTS saved_reports (id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
        "name TEXT NOT NULL, org TEXT NOT NULL, dimensions TEXT NOT NULL, "
        "measures TEXT NOT NULL, schedule TEXT NOT NULL, recipients TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS report_inbox (report_id TEXT NOT NULL, period TEXT NOT NULL, "
        "login TEXT NOT NULL, sent_at TEXT NOT NULL, PRIMARY KEY (login, report_id, period))",
    )

    @handles(SavedReport.ReportSaved)
    def saved(self, e: Any, b: Batch) -> None:
        b.insert(
            "saved_reports",
            "id",
            id=str(e.originator_id),
            owner=e.owner,
            name=e.name,
            org=e.org,
            dimensions=json.dumps(e.dimensions),
            measures=json.dumps(e.measures),
            schedule="none",
            recipients="[]",
        )

    @handles(SavedReport.ReportChanged)
    def changed(self, e: Any, b: Batch) -> None:
        b.update(
            "saved_reports",
            "id",
            str(e.originator_id),
            org=e.org,
            dimensions=json.dumps(e.dimensions),
            measures=json.dumps(e.measures),
        )

    @handles(SavedReport.ReportScheduled)
    def scheduled(self, e: Any, b: Batch) -> None:
        b.update(
            "saved_reports",
            "id",
            str(e.originator_id),
            schedule=e.schedule,
            recipients=json.dumps(e.recipients),
        )

    @handles(SavedReport.ReportSent)
    def sent(self, e: Any, b: Batch) -> None:
        for login in e.inbox:
            b.sql(
                "INSERT INTO report_inbox (report_id, period, login, sent_at) "
                "VALUES (:id, :period, :login, :at) ON CONFLICT DO NOTHING",
                id=str(e.originator_id),
                period=e.period,
                login=login,
                at=iso(e.timestamp),
            )
