"""The anomalies the pages show beside what they are about: a session's, a photo's, and a
plant's open ones on its wallboard. Newest first, each with its person's name and place in
the org tree (pages narrow them to the people their viewer may see), and only the facts of
its evidence that name nothing outside its own session (look-alikes and the session a photo
was first used for are the anomaly API's and the review queue's to show, redacted)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from app.stores.base import ReadStore, Row

#: evidence a page shows, in this order, when the anomaly holds it
PAGE_FACTS = (
    "minutes_before_upload",
    "minutes_outside_session",
    "taken_at",
    "checked_in",
    "headcount",
    "headcount_max",
    "missing",
    "device_time",
    "server_time",
    "refused",
    "phone_id",
    "proxy_other_employee",
    "face_looks_like",
    "face_distance",
    "selfie_liveness",
)
#: how many anomalies a page lists at most (the review queue has them all)
PAGE_LIMIT = 50

SELECT = (
    "SELECT a.id, a.kind, a.severity, a.status, a.session_id, a.employee_id, a.checkin_id, "
    "a.photo_id, a.raised_at, a.evidence, s.title, e.name AS employee_name, "
    "o.path AS org_path FROM anomalies a JOIN sessions s ON s.id = a.session_id "
    "LEFT JOIN employees e ON e.employee_no = a.employee_id "
    "LEFT JOIN org_units o ON o.code = e.org_unit"
)


def _shown(row: Row) -> dict[str, Any]:
    evidence = json.loads(row["evidence"])
    view = {k: v for k, v in row.items() if k != "evidence"}
    view["employee_no"] = row["employee_id"]  # what `Viewer.people` narrows by
    view["facts"] = [(k, evidence[k]) for k in PAGE_FACTS if evidence.get(k) is not None]
    return view


async def session_anomalies(store: ReadStore, session_id: str) -> list[dict[str, Any]]:
    """A session's anomalies, every status, newest first."""
    rows = await store.afetch(
        f"{SELECT} WHERE a.session_id = :sid ORDER BY a.seq DESC LIMIT :n",
        {"sid": session_id, "n": PAGE_LIMIT},
    )
    return [_shown(r) for r in rows]


async def photo_anomalies(
    store: ReadStore, photo_id: str, visible: Collection[str]
) -> list[dict[str, Any]]:
    """The anomalies about a photo in sessions of the plants ``visible``, newest first."""
    params: dict[str, Any] = {f"p{i}": p for i, p in enumerate(sorted(visible))}
    if not params:
        return []
    marks = ", ".join(f":{k}" for k in params)
    rows = await store.afetch(
        f"{SELECT} WHERE a.photo_id = :photo AND s.plant IN ({marks}) ORDER BY a.seq DESC LIMIT :n",
        {**params, "photo": photo_id, "n": PAGE_LIMIT},
    )
    return [_shown(r) for r in rows]


async def plant_open_anomalies(
    store: ReadStore, plant: str, session_ids: Collection[str], limit: int = 8
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A wallboard's anomalies: the plant's newest open ones in the sessions it shows, and
    how many are open in each of them."""
    params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(sorted(session_ids))}
    if not params:
        return [], {}
    marks = ", ".join(f":{k}" for k in params)
    where = f"a.status = 'open' AND s.plant = :plant AND a.session_id IN ({marks})"
    rows = await store.afetch(
        f"{SELECT} WHERE {where} ORDER BY a.seq DESC LIMIT :n",
        {**params, "plant": plant, "n": limit},
    )
    counts = await store.afetch(
        "SELECT a.session_id, COUNT(*) AS n FROM anomalies a JOIN sessions s "
        f"ON s.id = a.session_id WHERE {where} GROUP BY a.session_id",
        {**params, "plant": plant},
    )
    return [_shown(r) for r in rows], {r["session_id"]: int(r["n"]) for r in counts}


def narrowed(
    rows: list[dict[str, Any]], people: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Anomalies as a viewer narrowed to some people (``people``, `Viewer.people`) sees
    them: those about a person it may not see are left out; session-wide ones stay."""
    about = {id(a) for a in people([a for a in rows if a["employee_no"]])}
    return [a for a in rows if not a["employee_no"] or id(a) in about]
