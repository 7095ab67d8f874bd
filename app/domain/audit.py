"""The audit trail's own facts: who exported which stretch of it."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event


class AuditExport(Aggregate):
    """One export of the audit trail (each export is its own record)."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        """A fresh id: every export is a new fact."""
        return uuid4()

    @event("AuditExported")
    def __init__(
        self,
        period_from: str,
        period_to: str,
        lines: int,
        last_hash: str,
        actor: str,
        actor_role: str,
        via: str,
    ):
        self.period_from = period_from
        self.period_to = period_to
        self.lines = lines
        self.last_hash = last_hash


class DataExport(Aggregate):
    """One file taken out of the system by a person or a job: what it held (its `kind`,
    `format` and the query that chose its rows), how many rows, for which org unit
    (`scope`), and who took it. Each export is its own record."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        """A fresh id: every export is a new fact."""
        return uuid4()

    @event("DataExported")
    def __init__(
        self,
        kind: str,
        format: str,
        query: dict[str, str],
        rows: int,
        scope: str,
        actor: str,
    ):
        self.kind = kind
        self.format = format
        self.query = dict(query)
        self.rows = rows
        self.scope = scope
