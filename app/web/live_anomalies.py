"""Anomalies pushed live to JSON clients of `/ws/live`: each one flagged or resolved since the
client connected becomes a `{"type": "anomaly", "id", "version", "anomaly": {...}}` message (the
anomaly as `GET /api/v1/anomalies` shows it, redacted for the client's plants). HTML pages
need none: their session, photo and wallboard fragments carry the anomalies and are pushed
again when an anomaly changes."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from app.projections.anomaly_queries import COLUMNS, FROM, seen_from
from app.stores.base import ReadStore
from app.web.anomalies_api import anomaly_view

if TYPE_CHECKING:
    from app.web.hub import Client


class AnomalyFeed:
    """What was flagged or resolved after a mark: each JSON client keeps its own mark, taken
    when it connects, so it is sent what is new to it and never what came before it."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    async def mark(self) -> tuple[int, str]:
        """The newest anomaly's `seq` and the latest resolution's time, now."""
        mark = await self.store.afetch_one(
            "SELECT COALESCE(MAX(seq), 0) AS seq, COALESCE(MAX(resolved_at), '') AS r "
            "FROM anomalies",
            {},
        )
        return (int(mark["seq"]), str(mark["r"])) if mark else (0, "")

    async def changed(
        self, session_ids: Collection[str], after: tuple[int, str]
    ) -> list[dict[str, Any]]:
        """The anomalies of these sessions flagged or resolved after the mark `after`, oldest
        first."""
        params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(sorted(session_ids))}
        if not params:
            return []
        marks = ", ".join(f":{k}" for k in params)
        rows = await self.store.afetch(
            f"SELECT {COLUMNS} {FROM} WHERE a.session_id IN ({marks}) "
            "AND (a.seq > :seq OR a.resolved_at > :resolved) ORDER BY a.seq",
            {**params, "seq": after[0], "resolved": after[1]},
        )
        return [{**r, "evidence": json.loads(r["evidence"])} for r in rows]

    async def messages(
        self, listeners: Sequence[Client], dirty: Collection[str], plants: dict[str, str]
    ) -> list[tuple[Client, str]]:
        """The message to each of `listeners` (JSON clients with a mark) of every anomaly in
        the `dirty` sessions (of `plants`) that is in its scope and after its mark; each
        client's mark moves past what it is sent."""
        if not listeners:
            return []
        heard = {c.scope for c in listeners}
        dept_plants = {c.plant for c in listeners if c.scope.startswith("dept:") and c.plant}
        watched = {
            sid
            for sid in dirty
            if f"session:{sid}" in heard
            or f"plant:{plants.get(sid)}" in heard
            or plants.get(sid) in dept_plants
        }
        marks = [c.anomalies_after for c in listeners if c.anomalies_after is not None]
        oldest = (min(m[0] for m in marks), min(m[1] for m in marks))
        out: list[tuple[Client, str]] = []
        for anomaly in await self.changed(watched, oldest):
            plant = plants.get(anomaly["session_id"])
            about = {f"session:{anomaly['session_id']}", f"plant:{plant}"}
            seq, resolved = int(anomaly["seq"]), anomaly["resolved_at"] or ""
            for client in listeners:
                mine = client.scope in about or (
                    client.scope.startswith("dept:") and client.plant == plant
                )
                after = client.anomalies_after
                if not mine or after is None or (seq <= after[0] and resolved <= after[1]):
                    continue  # not its scope, or from before it connected or was sent it
                client.anomalies_after = (max(after[0], seq), max(after[1], resolved))
                if plant in client.visible:
                    out.append((client, await self.message(anomaly, client.visible)))
        return out

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
