"""Queries over the read models, written once for both stores (`:name` placeholders).

The wallboard, the session page, the read API and the websocket hub all call these.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.rules import WindowPolicy
from app.projections import anomaly_lists
from app.stores.base import ReadStore, Row, from_iso, iso


@dataclass(frozen=True)
class Scope:
    """An org unit and its subtree: what a user may see."""

    code: str
    path: str


async def scope_of(store: ReadStore, code: str) -> Scope | None:
    row = await store.afetch_one("SELECT code, path FROM org_units WHERE code = :c", {"c": code})
    return Scope(row["code"], row["path"]) if row else None


async def plants_in_scope(store: ReadStore, scope: Scope) -> list[Row]:
    """Plants the scope can see: those below it, or the plant it sits in."""
    return await store.afetch(
        "SELECT code, name, path FROM org_units WHERE kind = 'plant' AND "
        "(path LIKE :prefix OR :path LIKE path || '%') ORDER BY code",
        {"prefix": scope.path + "%", "path": scope.path},
    )


async def visible_plants(store: ReadStore, scope: Scope) -> frozenset[str]:
    """The codes of the plants the scope can see."""
    return frozenset(p["code"] for p in await plants_in_scope(store, scope))


async def plant_visible(store: ReadStore, scope: Scope, plant: str) -> bool:
    return plant in await visible_plants(store, scope)


def _rate(checked_in: int, expected: int) -> float:
    return checked_in / expected if expected else 0.0


def _session_view(
    row: Row, now: datetime, policy: WindowPolicy, threshold: float
) -> dict[str, Any]:
    starts = from_iso(row["starts_at"])
    view = dict(row)
    view["rate"] = _rate(row["checked_in"], row["expected"])
    view["absent"] = max(row["expected"] - row["checked_in"], 0)
    view["past_late_mark"] = now > starts + policy.late_after
    view["below"] = view["past_late_mark"] and view["rate"] < threshold
    return view


async def live_sessions(
    store: ReadStore, plant: str, now: datetime, policy: WindowPolicy
) -> list[Row]:
    """Sessions of `plant` whose check-in window is open now and that are not closed."""
    return await store.afetch(
        "SELECT * FROM sessions WHERE plant = :plant AND status <> 'closed' "
        "AND starts_at <= :opens_by AND ends_at > :now ORDER BY starts_at, code",
        {"plant": plant, "opens_by": iso(now + policy.opens_before), "now": iso(now)},
    )


async def plant_board(
    store: ReadStore, plant: str, now: datetime, policy: WindowPolicy, threshold: float
) -> dict[str, Any]:
    """Everything the wallboard of one plant shows."""
    sessions = [
        _session_view(r, now, policy, threshold)
        for r in await live_sessions(store, plant, now, policy)
    ]
    ids = [s["id"] for s in sessions]
    departments: list[dict[str, Any]] = []
    latest: list[Row] = []
    if ids:
        marks = {s["id"]: s["past_late_mark"] for s in sessions}
        params = {f"s{i}": sid for i, sid in enumerate(ids)}
        placeholders = ", ".join(f":s{i}" for i in range(len(ids)))
        rows = await store.afetch(
            "SELECT d.session_id, d.dept, COALESCE(o.name, d.dept) AS name, d.expected, "
            f"d.checked_in, o.path FROM dept_live d LEFT JOIN org_units o ON o.code = d.dept "
            f"WHERE d.session_id IN ({placeholders})",
            params,
        )
        by_dept: dict[str, dict[str, Any]] = {}
        for r in rows:
            d = by_dept.setdefault(
                r["dept"],
                {
                    "dept": r["dept"],
                    "name": r["name"],
                    "path": r["path"],
                    "expected": 0,
                    "checked_in": 0,
                    "late_mark": False,
                },
            )
            d["expected"] += r["expected"]
            d["checked_in"] += r["checked_in"]
            d["late_mark"] = d["late_mark"] or marks[r["session_id"]]
        for d in by_dept.values():
            d["rate"] = _rate(d["checked_in"], d["expected"])
            d["below"] = d["late_mark"] and d["rate"] < threshold
        departments = sorted(by_dept.values(), key=lambda d: (d["rate"], d["name"]))
        below = [d["dept"] for d in departments if d["below"]]
        if below:
            # Who is missing, so HR can call the department now rather than after the session.
            depts = {f"d{i}": dept for i, dept in enumerate(below)}
            missing = await store.afetch(
                "SELECT COALESCE(dept, '-') AS dept, name FROM attendance "
                f"WHERE session_id IN ({placeholders}) AND on_roster = 1 AND status = 'expected' "
                f"AND COALESCE(dept, '-') IN ({', '.join(':' + k for k in depts)}) "
                "ORDER BY employee_no",
                {**params, **depts},
            )
            for d in departments:
                d["missing"] = [m["name"] for m in missing if m["dept"] == d["dept"]]
        latest = await store.afetch(
            "SELECT a.employee_no, a.name, a.status, a.checked_in_at, a.method, a.flags, "
            "s.title, s.room, eo.path AS org_path FROM attendance a "
            "JOIN sessions s ON s.id = a.session_id "
            "LEFT JOIN employees e ON e.employee_no = a.employee_no "
            "LEFT JOIN org_units eo ON eo.code = e.org_unit "
            f"WHERE a.session_id IN ({placeholders}) AND a.checked_in_at IS NOT NULL "
            "ORDER BY a.checked_in_at DESC LIMIT 12",
            params,
        )
        for r in latest:
            r["flags"] = json.loads(r["flags"])
    anomalies, open_in = await anomaly_lists.plant_open_anomalies(store, plant, ids)
    for s in sessions:
        s["open_anomalies"] = open_in.get(s["id"], 0)
    expected = sum(s["expected"] for s in sessions)
    checked_in = sum(s["checked_in"] for s in sessions)
    version = max((s["version"] for s in sessions), default=0)
    return {
        "plant": plant,
        "sessions": sessions,
        "departments": departments,
        "latest": latest,
        "anomalies": anomalies,
        "expected": expected,
        "checked_in": checked_in,
        "rate": _rate(checked_in, expected),
        "version": version,
    }


# What a look-alike in a plant the caller may not see still shows: how alike it is, never
# which photo or session it is. Listed, not filtered, so a field added later stays hidden.
NEAR_UNIDENTIFYING = ("distance", "detail_distance")


def redact_near(
    near: list[dict[str, Any]], plants_of: Mapping[str, str], visible: Collection[str]
) -> list[dict[str, Any]]:
    """Look-alikes as a caller who may see the plants ``visible`` is shown them, in order.
    One in a visible plant (``plants_of`` maps its session to its plant) stays as stored; any
    other is kept, since a photo reused across plants is evidence HR should see, but only
    with its distances. Each says which it is in ``other_plant``."""
    shown: list[dict[str, Any]] = []
    for n in near:
        if plants_of.get(n["session_id"]) in visible:
            shown.append({**n, "other_plant": False})
        else:
            kept = {k: n[k] for k in NEAR_UNIDENTIFYING if k in n}
            shown.append({**kept, "other_plant": True})
    return shown


@dataclass(frozen=True)
class SessionDetail:
    """A session with its roster and photos before it is shown to anyone: the photos'
    look-alikes still name their photos and sessions, whatever plant those lie in. Show it
    through `seen_from`."""

    unredacted: dict[str, Any]
    near_plants: dict[str, str]  # the plant of each look-alike's session

    @property
    def plant(self) -> str:
        return str(self.unredacted["plant"])

    def seen_from(
        self,
        visible: Collection[str],
        people: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """The session as a caller who may see the plants ``visible`` sees it: look-alikes in
        other plants say only that they are there (`redact_near`); the roster keeps the
        people ``people`` keeps (a department head sees their own people only)."""
        view = dict(self.unredacted)
        if people is not None:
            view["roster"] = people(view["roster"])
            view["anomalies"] = anomaly_lists.narrowed(view["anomalies"], people)
        view["photos"] = [
            {**p, "near_duplicates": redact_near(p["near_duplicates"], self.near_plants, visible)}
            for p in view["photos"]
        ]
        return view


async def session_detail(
    store: ReadStore, session_id: str, now: datetime, policy: WindowPolicy, threshold: float
) -> SessionDetail | None:
    """A session with its roster, each person's status and flags, and its photos with the
    photos they look like (in any plant: see `SessionDetail.seen_from`)."""
    row = await store.afetch_one("SELECT * FROM sessions WHERE id = :id", {"id": session_id})
    if row is None:
        return None
    roster = await store.afetch(
        "SELECT a.employee_no, a.name, a.dept, COALESCE(o.name, a.dept) AS dept_name, "
        "a.on_roster, a.status, a.checkin_id, a.checked_in_at, a.method, a.flags, a.reason, "
        "a.device_id, eo.path AS org_path FROM attendance a "
        "LEFT JOIN org_units o ON o.code = a.dept "
        "LEFT JOIN employees e ON e.employee_no = a.employee_no "
        "LEFT JOIN org_units eo ON eo.code = e.org_unit "
        "WHERE a.session_id = :id ORDER BY a.checked_in_at IS NULL, a.checked_in_at, a.employee_no",
        {"id": session_id},
    )
    for r in roster:
        r["flags"] = json.loads(r["flags"])
    photos = await store.afetch(
        "SELECT p.photo_id, p.kind, p.exif_time, p.camera, p.status, p.headcount, "
        "p.headcount_max, p.attention_share, p.failure, p.uploads, p.session_id AS first_session, "
        "u.uploaded_at, h.near, x.purged_at FROM photo_uploads u "
        "JOIN photos p ON p.photo_id = u.photo_id "
        "LEFT JOIN photo_hashes h ON h.photo_id = p.photo_id "
        "LEFT JOIN photo_purges x ON x.photo_id = p.photo_id "
        "WHERE u.session_id = :id ORDER BY u.uploaded_at",
        {"id": session_id},
    )
    for photo in photos:
        photo["near_duplicates"] = json.loads(photo.pop("near") or "[]")
    near_sessions = {n["session_id"] for p in photos for n in p["near_duplicates"]}
    view = _session_view(row, now, policy, threshold)
    view["roster"] = roster
    view["photos"] = photos
    view["anomalies"] = await anomaly_lists.session_anomalies(store, session_id)
    return SessionDetail(view, await session_plant(store, sorted(near_sessions)))


async def photo_evidence(
    store: ReadStore, photo_id: str, visible: Collection[str]
) -> dict[str, Any] | None:
    """One stored photo as evidence: its facts, the sessions it was uploaded to (with their
    check-ins), the photos it looks like, and its analysis with every face's box. Uploads in
    plants outside ``visible`` are left out and look-alikes there only say so (`redact_near`);
    whether the photo itself may be seen (``plant``) is the caller's to decide."""
    photo = await store.afetch_one(
        "SELECT p.*, s.plant, h.near, x.purged_at FROM photos p "
        "JOIN sessions s ON s.id = p.session_id "
        "LEFT JOIN photo_hashes h ON h.photo_id = p.photo_id "
        "LEFT JOIN photo_purges x ON x.photo_id = p.photo_id WHERE p.photo_id = :id",
        {"id": photo_id},
    )
    if photo is None:
        return None
    view = dict(photo)
    near = json.loads(view.pop("near") or "[]")
    plants = await session_plant(store, sorted({n["session_id"] for n in near}))
    view["near_duplicates"] = redact_near(near, plants, visible)
    view["analysis"] = json.loads(view["analysis"]) if view["analysis"] else None
    uploads = await store.afetch(
        "SELECT u.session_id, u.device_id, u.uploaded_at, s.title, s.plant, s.starts_at, "
        "s.checked_in, s.walk_ins FROM photo_uploads u JOIN sessions s ON s.id = u.session_id "
        "WHERE u.photo_id = :id ORDER BY u.uploaded_at",
        {"id": photo_id},
    )
    view["uploads_seen"] = [u for u in uploads if u["plant"] in visible]
    view["anomalies"] = await anomaly_lists.photo_anomalies(store, photo_id, visible)
    return view


async def sessions_between(
    store: ReadStore, scope: Scope, start: datetime, end: datetime, org: Scope | None = None
) -> list[dict[str, Any]]:
    """Sessions overlapping [start, end) in the scope's plants (narrowed to `org`'s plants)."""
    plants = [p["code"] for p in await plants_in_scope(store, scope)]
    if org is not None:
        wanted = await visible_plants(store, org)
        plants = [p for p in plants if p in wanted]
    if not plants:
        return []
    params: dict[str, Any] = {f"p{i}": p for i, p in enumerate(plants)}
    params.update({"start": iso(start), "end": iso(end)})
    rows = await store.afetch(
        "SELECT * FROM sessions WHERE plant IN ("
        + ", ".join(f":p{i}" for i in range(len(plants)))
        + ") AND starts_at < :end AND ends_at > :start ORDER BY starts_at, code",
        params,
    )
    for r in rows:
        r["rate"] = _rate(r["checked_in"], r["expected"])
    return rows


async def session_by_code(store: ReadStore, scope: Scope, code: str) -> list[dict[str, Any]]:
    """The session with this code (a list of one, or empty), if its plant is in the scope."""
    rows = await store.afetch("SELECT * FROM sessions WHERE code = :code", {"code": code})
    visible = await visible_plants(store, scope)
    found = [r for r in rows if r["plant"] in visible]
    for r in found:
        r["rate"] = _rate(r["checked_in"], r["expected"])
    return found


async def employee_names(store: ReadStore, employee_nos: list[str]) -> dict[str, str]:
    """The name of each of these employees (unknown numbers are left out)."""
    if not employee_nos:
        return {}
    params = {f"e{i}": no for i, no in enumerate(employee_nos)}
    rows = await store.afetch(
        "SELECT employee_no, name FROM employees WHERE employee_no IN ("
        + ", ".join(f":{k}" for k in params)
        + ")",
        params,
    )
    return {r["employee_no"]: r["name"] for r in rows}


async def session_plant(store: ReadStore, session_ids: list[str]) -> dict[str, str]:
    """The plant of each session id (the hub routes session changes to plant wallboards)."""
    if not session_ids:
        return {}
    params = {f"s{i}": s for i, s in enumerate(session_ids)}
    rows = await store.afetch(
        "SELECT id, plant FROM sessions WHERE id IN ("
        + ", ".join(f":s{i}" for i in range(len(session_ids)))
        + ")",
        params,
    )
    return {r["id"]: r["plant"] for r in rows}


async def photos_of_sessions(store: ReadStore, session_ids: list[str]) -> list[str]:
    """The photos uploaded to any of these sessions."""
    if not session_ids:
        return []
    params = {f"s{i}": s for i, s in enumerate(session_ids)}
    rows = await store.afetch(
        "SELECT DISTINCT photo_id FROM photo_uploads WHERE session_id IN ("
        + ", ".join(f":s{i}" for i in range(len(session_ids)))
        + ")",
        params,
    )
    return [r["photo_id"] for r in rows]


async def photo_plant(store: ReadStore, photo_id: str) -> str | None:
    """The plant of the session a photo was first stored for."""
    row = await store.afetch_one(
        "SELECT s.plant FROM photos p JOIN sessions s ON s.id = p.session_id "
        "WHERE p.photo_id = :id",
        {"id": photo_id},
    )
    return str(row["plant"]) if row else None
