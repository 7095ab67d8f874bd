"""Reading anomalies: the API's list, and what the session page, photo page and wallboard
show. Written once for both stores; scoped by the plants the caller may see."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.projections.queries import redact_near, session_plant
from app.projections.visibility import Viewer
from app.stores.base import ReadStore, Row

MAX_LIMIT = 1000
COLUMNS = (
    "a.id, a.seq, a.kind, a.severity, a.status, a.session_id, a.employee_id, a.checkin_id, "
    "a.photo_id, a.raised_at, a.evidence, a.resolved_at, a.resolved_by, a.resolution_reason, "
    "s.plant, s.title"
)
#: anomalies with the session they are in and, for one about a check-in, where its person
#: sits in the org tree (a department head sees the people of their own department)
FROM = (
    "FROM anomalies a JOIN sessions s ON s.id = a.session_id "
    "LEFT JOIN employees e ON e.employee_no = a.employee_id "
    "LEFT JOIN org_units o ON o.code = e.org_unit"
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


def _seen_by(viewer: Viewer) -> tuple[list[str], dict[str, Any]]:
    """The conditions that keep to what ``viewer`` may see: its plants' sessions, and of
    the anomalies about a person, the people in its view."""
    plants, params = _in("p", viewer.plants or {""})
    where = [f"s.plant IN ({plants})"]
    if viewer.employee_no is not None:
        where.append("a.employee_id = :me")
        params["me"] = viewer.employee_no
    elif not viewer.whole_plants:
        where.append("(a.employee_id IS NULL OR o.path LIKE :subtree)")
        params["subtree"] = viewer.scope.path + "%"
    return where, params


async def find_anomalies(
    store: ReadStore, viewer: Viewer, wanted: AnomalyFilter
) -> list[dict[str, Any]] | None:
    """Anomalies ``viewer`` may see, oldest first; ``None`` when `wanted.after` names no
    anomaly it may see."""
    where, params = _seen_by(viewer)
    for column in ("session_id", "status", "kind", "photo_id"):
        value = getattr(wanted, column)
        if value is not None:
            where.append(f"a.{column} = :{column}")
            params[column] = value
    if wanted.after is not None:
        seen_by, seen_params = _seen_by(viewer)
        seen = await store.afetch_one(
            f"SELECT a.seq {FROM} WHERE a.id = :after AND {' AND '.join(seen_by)}",
            {**seen_params, "after": wanted.after},
        )
        if seen is None:
            return None
        where.append("a.seq > :seq")
        params["seq"] = seen["seq"]
    rows = await store.afetch(
        f"SELECT {COLUMNS} {FROM} WHERE {' AND '.join(where)} ORDER BY a.seq LIMIT :limit",
        {**params, "limit": min(max(wanted.limit, 1), MAX_LIMIT)},
    )
    return await seen_from(store, [_view(r) for r in rows], viewer.plants)


async def seen_from(
    store: ReadStore, found: list[dict[str, Any]], visible: Collection[str]
) -> list[dict[str, Any]]:
    """Anomalies as a caller who may see the plants ``visible`` is shown them: a reused
    photo's first session and look-alikes in other plants only say that they are there."""
    named = {
        n["session_id"]
        for a in found
        for n in a["evidence"].get("looks_like", [])
        if "session_id" in n
    } | {a["evidence"]["first_session"] for a in found if "first_session" in a["evidence"]}
    plants = await session_plant(store, sorted(named))
    for a in found:
        evidence = a["evidence"]
        if "looks_like" in evidence:
            evidence["looks_like"] = redact_near(evidence["looks_like"], plants, visible)
        first = evidence.get("first_session")
        if first is not None and plants.get(first) not in visible:
            del evidence["first_session"]
            evidence["first_session_other_plant"] = True
    return found


async def anomaly(store: ReadStore, viewer: Viewer, anomaly_id: str) -> dict[str, Any] | None:
    """One anomaly ``viewer`` may see (``None``: no such anomaly in its view)."""
    where, params = _seen_by(viewer)
    row = await store.afetch_one(
        f"SELECT {COLUMNS} {FROM} WHERE a.id = :id AND {' AND '.join(where)}",
        {**params, "id": anomaly_id},
    )
    if row is None:
        return None
    (view,) = await seen_from(store, [_view(row)], viewer.plants)
    return view


async def open_anomalies_of_plant(store: ReadStore, plant: str, limit: int = 12) -> list[Row]:
    """The plant's open anomalies, newest first (the wallboard)."""
    rows = await store.afetch(
        f"SELECT {COLUMNS} {FROM} WHERE s.plant = :plant AND a.status = 'open' "
        "ORDER BY a.seq DESC LIMIT :limit",
        {"plant": plant, "limit": limit},
    )
    return [_view(r) for r in rows]
