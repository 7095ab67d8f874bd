"""Anomalies pushed live to JSON clients of `/ws/live`: each one flagged or resolved since the
hub last looked becomes a `{"type": "anomaly", "id", "version", "anomaly": {...}}` message (the
anomaly as `GET /api/v1/anomalies` shows it, redacted for the client's plants). HTML pages
need none: their session, photo and wallboard fragments carry the anomalies and are pushed
again when an anomaly changes."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

import msgspec

from app.projections.anomaly_queries import COLUMNS, FROM, seen_from
from app.stores.base import ReadStore
from app.web.anomalies_api import anomaly_view


class AnomalyFeed:
    """Remembers the last anomaly flagged and the last resolution seen: `changed` answers
    what came after."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self._seq: int | None = None
        self._resolved = ""

    async def changed(self, session_ids: Collection[str]) -> list[dict[str, Any]]:
        """The anomalies of these sessions flagged or resolved since the last call, oldest
        first (none on the first call: it marks where the feed starts)."""
        if self._seq is None:
            mark = await self.store.afetch_one(
                "SELECT COALESCE(MAX(seq), 0) AS seq, COALESCE(MAX(resolved_at), '') AS r "
                "FROM anomalies",
                {},
            )
            self._seq = int(mark["seq"]) if mark else 0
            self._resolved = str(mark["r"]) if mark else ""
            return []
        params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(sorted(session_ids))}
        if not params:
            return []
        marks = ", ".join(f":{k}" for k in params)
        rows = await self.store.afetch(
            f"SELECT {COLUMNS} {FROM} WHERE a.session_id IN ({marks}) "
            "AND (a.seq > :seq OR a.resolved_at > :resolved) ORDER BY a.seq",
            {**params, "seq": self._seq, "resolved": self._resolved},
        )
        found = [{**r, "evidence": json.loads(r["evidence"])} for r in rows]
        self._seq = max([self._seq, *(int(r["seq"]) for r in rows)])
        self._resolved = max([self._resolved, *(r["resolved_at"] or "" for r in rows)])
        return found

    async def message(self, anomaly: dict[str, Any], visible: Collection[str]) -> str:
        """The message of one anomaly for a client who may see the plants ``visible``."""
        copy = {**anomaly, "evidence": json.loads(json.dumps(anomaly["evidence"]))}
        (shown,) = await seen_from(self.store, [copy], visible)
        body = {
            "type": "anomaly",
            "id": anomaly["id"],
            "version": int(anomaly["seq"]),
            "anomaly": msgspec.to_builtins(anomaly_view(shown)),
        }
        return json.dumps(body, ensure_ascii=False, default=str)
