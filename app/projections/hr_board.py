"""The HR live board: every session of the day in the plants a viewer may see, with its
counts, its room's readiness, its open anomalies and alerts; narrowed to an org unit, the
counts are that unit's people only. Written once for both stores."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from app.domain.rooms import room_key
from app.projections.queries import Scope
from app.stores.base import ReadStore, from_iso, iso

#: a device heard from this recently counts as online
ONLINE_WITHIN = timedelta(minutes=5)
#: org levels whose board counts their own people only
BELOW_PLANT = ("workshop", "department", "team")


def _in(prefix: str, values: list[str]) -> tuple[str, dict[str, str]]:
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return ", ".join(":" + k for k in params), params


async def board_units(store: ReadStore, scope: Scope) -> list[dict[str, Any]]:
    """The org units a viewer may narrow the board to: the scope's subtree, top down."""
    return await store.afetch(
        "SELECT code, name, kind, path FROM org_units WHERE path LIKE :prefix ORDER BY path",
        {"prefix": scope.path + "%"},
    )


def session_state(row: dict[str, Any], now: datetime) -> str:
    """planned, running or closed, as HR says it."""
    if row["status"] in ("closed", "cancelled") or from_iso(row["ends_at"]) <= now:
        return "closed"
    if row["status"] == "open" or from_iso(row["starts_at"]) <= now:
        return "running"
    return "planned"


async def hr_board(
    store: ReadStore, scope: Scope, org: Scope, org_kind: str, day_start: datetime, now: datetime
) -> dict[str, Any]:
    """Sessions of the day starting at `day_start` in the plants `scope` may see and `org`
    lies in or holds. When `org` is below a plant, each session counts `org`'s people only
    and the board lists them."""
    plants = await store.afetch(
        "SELECT code FROM org_units WHERE kind = 'plant' AND (path LIKE :prefix "
        "OR :path LIKE path || '%') AND (path LIKE :org_prefix OR :org_path LIKE path || '%')",
        {
            "prefix": scope.path + "%",
            "path": scope.path,
            "org_prefix": org.path + "%",
            "org_path": org.path,
        },
    )
    board: dict[str, Any] = {"sessions": [], "people": [], "narrowed": False}
    if not plants:
        return board
    marks, params = _in("p", [p["code"] for p in plants])
    sessions = await store.afetch(
        f"SELECT * FROM sessions WHERE plant IN ({marks}) AND starts_at < :end "
        "AND ends_at > :start ORDER BY starts_at, code",
        {**params, "start": iso(day_start), "end": iso(day_start + timedelta(days=1))},
    )
    if not sessions:
        return board
    smarks, sparams = _in("s", [s["id"] for s in sessions])
    narrowed = org_kind in BELOW_PLANT  # count the unit's own people only
    counts: dict[str, tuple[int, int]] = {}
    if narrowed:
        rows = await store.afetch(
            "SELECT a.session_id, COUNT(*) AS expected, SUM(CASE WHEN a.status IN "
            "('present', 'late') THEN 1 ELSE 0 END) AS checked_in FROM attendance a "
            "JOIN employees e ON e.employee_no = a.employee_no JOIN org_units o "
            f"ON o.code = e.org_unit WHERE a.session_id IN ({smarks}) AND a.on_roster = 1 "
            "AND o.path LIKE :org_prefix GROUP BY a.session_id",
            {**sparams, "org_prefix": org.path + "%"},
        )
        counts = {r["session_id"]: (int(r["expected"]), int(r["checked_in"] or 0)) for r in rows}
        board["people"] = await store.afetch(
            "SELECT a.session_id, a.employee_no, a.name, a.status, a.checked_in_at, "
            "s.title, s.starts_at FROM attendance a JOIN sessions s ON s.id = a.session_id "
            "JOIN employees e ON e.employee_no = a.employee_no JOIN org_units o "
            f"ON o.code = e.org_unit WHERE a.session_id IN ({smarks}) AND a.on_roster = 1 "
            "AND o.path LIKE :org_prefix ORDER BY s.starts_at, a.status, a.employee_no",
            {**sparams, "org_prefix": org.path + "%"},
        )
    devices = await store.afetch(
        "SELECT d.plant, d.room, d.name, a.last_seen_at, a.last_photo_at FROM devices d "
        f"LEFT JOIN device_activity a ON a.device_id = d.id WHERE d.plant IN ({marks}) "
        "AND d.revoked = 0 ORDER BY d.name",
        params,
    )
    rooms: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in devices:
        seen = from_iso(d["last_seen_at"]) if d["last_seen_at"] else None
        d["online"] = seen is not None and now - seen <= ONLINE_WITHIN
        rooms[(d["plant"], room_key(d["room"]))].append(d)
    anomalies = await store.afetch(
        f"SELECT session_id, COUNT(*) AS n FROM watched_anomalies WHERE session_id IN ({smarks}) "
        "AND open = 1 GROUP BY session_id",
        sparams,
    )
    alerts = await store.afetch(
        f"SELECT session_id, rule FROM alerts WHERE session_id IN ({smarks}) "
        "AND status <> 'resolved' ORDER BY raised_at",
        sparams,
    )
    open_anomalies = {r["session_id"]: int(r["n"]) for r in anomalies}
    open_alerts: dict[str, list[str]] = defaultdict(list)
    for a in alerts:
        open_alerts[a["session_id"]].append(a["rule"])
    for s in sessions:
        whole = (int(s["expected"]), int(s["checked_in"]))
        expected, checked_in = counts.get(s["id"], (0, 0)) if narrowed else whole
        room = rooms.get((s["plant"], room_key(s["room"])), [])
        last_photo = max((d["last_photo_at"] for d in room if d["last_photo_at"]), default=None)
        board["sessions"].append(
            {
                **s,
                "state": session_state(s, now),
                "expected": expected,
                "checked_in": checked_in,
                "rate": checked_in / expected if expected else 0.0,
                "devices": room,
                "photo_age_min": int((now - from_iso(last_photo)).total_seconds() // 60)
                if last_photo
                else None,
                "anomalies": open_anomalies.get(s["id"], 0),
                "alerts": open_alerts.get(s["id"], []),
            }
        )
    if narrowed:
        board["sessions"] = [s for s in board["sessions"] if s["expected"]]
    board["narrowed"] = narrowed
    return board
