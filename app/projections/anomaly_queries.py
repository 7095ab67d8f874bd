"""Reading anomalies: the API's list, and what the session page, photo page and wallboard
show. Written once for both stores; scoped by the plants the caller may see."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.stores.base import ReadStore, Row

MAX_LIMIT = 1000
COLUMNS = (
    "a.id, a.seq, a.kind, a.severity, a.status, a.session_id, a.employee_id, a.checkin_id, "
    "a.photo_id, a.raised_at, a.evidence, a.resolved_at, a.resolved_by, a.resolution_reason, "
    "s.plant, s.title"
)


@dataclass(frozen=True)
class AnomalyFilter:
    """`GET /api/v1/anomalies`' query: every field narrows; `after` is the last id seen."""

    session_id: str | None = None
    status: str | None = None
    kind: str | None = None
    photo_id: str | None = None
    after: str | None = None
    limit: int = MAX_LIMIT


def _view(row: Row) -> dict[str, Any]:
    view = dict(row)
    view["evidence"] = json.loads(row["evidence"])
    return view


def _in(prefix: str, values: Collection[str]) -> tuple[str, dict[str, str]]:
    params = {f"{prefix}{i}": v for i, v in enumerate(sorted(values))}
    return ", ".join(f":{k}" for k in params), params


async def find_anomalies(
    store: ReadStore, visible: Collection[str], wanted: AnomalyFilter
) -> list[dict[str, Any]] | None:
    """Anomalies in the plants ``visible``, oldest first; ``None`` when `wanted.after`
    names no anomaly the caller may see."""
    if not visible:
        return []
    plants, params = _in("p", visible)
    where = [f"s.plant IN ({plants})"]
    for column in ("session_id", "status", "kind", "photo_id"):
        value = getattr(wanted, column)
        if value is not None:
            where.append(f"a.{column} = :{column}")
            params[column] = value
    if wanted.after is not None:
        seen = await store.afetch_one(
            f"SELECT a.seq FROM anomalies a JOIN sessions s ON s.id = a.session_id "
            f"WHERE a.id = :after AND s.plant IN ({plants})",
            {**params, "after": wanted.after},
        )
        if seen is None:
            return None
        where.append("a.seq > :seq")
        params["seq"] = seen["seq"]
    rows = await store.afetch(
        f"SELECT {COLUMNS} FROM anomalies a JOIN sessions s ON s.id = a.session_id "
        f"WHERE {' AND '.join(where)} ORDER BY a.seq LIMIT :limit",
        {**params, "limit": min(max(wanted.limit, 1), MAX_LIMIT)},
    )
    return [_view(r) for r in rows]


async def anomaly(store: ReadStore, anomaly_id: str) -> dict[str, Any] | None:
    """One anomaly with its session's plant (the caller decides whether it may see it)."""
    row = await store.afetch_one(
        f"SELECT {COLUMNS} FROM anomalies a JOIN sessions s ON s.id = a.session_id "
        "WHERE a.id = :id",
        {"id": anomaly_id},
    )
    return _view(row) if row else None


async def open_anomalies_of_plant(store: ReadStore, plant: str, limit: int = 12) -> list[Row]:
    """The plant's open anomalies, newest first (the wallboard)."""
    rows = await store.afetch(
        f"SELECT {COLUMNS} FROM anomalies a JOIN sessions s ON s.id = a.session_id "
        "WHERE s.plant = :plant AND a.status = 'open' ORDER BY a.seq DESC LIMIT :limit",
        {"plant": plant, "limit": limit},
    )
    return [_view(r) for r in rows]
