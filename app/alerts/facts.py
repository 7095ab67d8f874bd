"""What the alert engine reads from the read models: a session's facts, who is told about an
org unit or a plant, and the thresholds that apply. Written once for both stores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from app.domain.alerts import DeptCount, SessionFacts, Thresholds
from app.stores.base import ReadStore, Statement, from_iso, in_list

#: device kinds that should be heard from during a session (badge readers are quiet until used)
WATCHED_DEVICES = ("tablet", "camera")


def sessions_facts(
    store: ReadStore, session_ids: Sequence[str]
) -> dict[str, tuple[SessionFacts, dict[str, Any]]]:
    """Each session's facts for the rules and its row (plant, room, trainer …), in one
    round trip for all of them (sessions not in the store are left out)."""
    ids, params = in_list("s", session_ids)
    session, depts, missing, devices, anomalies = store.fetch_many(
        [
            Statement(f"SELECT * FROM sessions WHERE id IN ({ids})", params),
            Statement(
                "SELECT session_id, dept, expected, checked_in FROM dept_live "
                f"WHERE session_id IN ({ids}) AND dept <> '-' ORDER BY session_id, dept",
                params,
            ),
            Statement(
                "SELECT session_id, dept, name, employee_no FROM attendance "
                f"WHERE session_id IN ({ids}) AND on_roster = 1 "
                "AND status = 'expected' AND dept IS NOT NULL ORDER BY session_id, employee_no",
                params,
            ),
            Statement(
                "SELECT s.id AS session_id, d.name, a.last_seen_at FROM sessions s JOIN devices d "
                "ON d.plant = s.plant AND d.room = s.room LEFT JOIN device_activity a "
                f"ON a.device_id = d.id WHERE s.id IN ({ids}) AND d.revoked = 0 "
                "AND d.kind IN ('tablet', 'camera') ORDER BY s.id, d.name",
                params,
            ),
            Statement(
                "SELECT session_id, kind, COUNT(*) AS n FROM watched_anomalies "
                f"WHERE session_id IN ({ids}) AND open = 1 GROUP BY session_id, kind",
                params,
            ),
        ]
    )
    by_session: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for label, rows in (
        ("depts", depts),
        ("missing", missing),
        ("devices", devices),
        ("anomalies", anomalies),
    ):
        for r in rows:
            by_session[r["session_id"]][label].append(r)
    return {row["id"]: (_facts(row, by_session[row["id"]]), row) for row in session}


def _facts(row: dict[str, Any], of: dict[str, list[dict[str, Any]]]) -> SessionFacts:
    """One session's facts from its row and its rows of the other tables."""
    names: dict[str, list[str]] = defaultdict(list)
    numbers: dict[str, list[str]] = defaultdict(list)
    for m in of["missing"]:
        names[m["dept"]].append(m["name"])
        numbers[m["dept"]].append(m["employee_no"])
    counts = {a["kind"]: int(a["n"]) for a in of["anomalies"]}
    return SessionFacts(
        session_id=row["id"],
        starts_at=from_iso(row["starts_at"]),
        ends_at=from_iso(row["ends_at"]),
        closed=row["status"] in ("closed", "cancelled"),
        checked_in=int(row["checked_in"]),
        expected=int(row["expected"]),
        departments=[
            DeptCount(
                d["dept"],
                int(d["expected"]),
                int(d["checked_in"]),
                tuple(names[d["dept"]]),
                tuple(numbers[d["dept"]]),
            )
            for d in of["depts"]
        ],
        devices={
            d["name"]: from_iso(d["last_seen_at"]) if d["last_seen_at"] else None
            for d in of["devices"]
        },
        open_anomalies=sum(counts.values()),
        headcount_shortfalls=counts.get("headcount_shortfall", 0),
    )


def sessions_in_device_room(store: ReadStore, device_id: str, now_iso: str) -> list[str]:
    """Sessions running now in the room of a device that was just heard from."""
    rows = store.fetch(
        "SELECT s.id FROM devices d JOIN sessions s ON s.plant = d.plant AND s.room = d.room "
        "WHERE d.id = :device AND s.starts_at <= :now AND s.ends_at > :now",
        {"device": device_id, "now": now_iso},
    )
    return [r["id"] for r in rows]


class Thresholding:
    """Settings' defaults with per-org overrides (`muster alerts threshold`): a unit's own
    value wins over its plant's, a plant's over the group's."""

    def __init__(self, store: ReadStore, default: Thresholds) -> None:
        self.store = store
        self.default = default

    def for_units(self, codes: list[str]) -> dict[str, Thresholds]:
        """The thresholds of each org unit in `codes`."""
        if not codes:
            return {}
        params = {f"c{i}": c for i, c in enumerate(codes)}
        units = self.store.fetch(
            "SELECT code, path FROM org_units WHERE code IN "
            f"({', '.join(':' + k for k in params)})",
            params,
        )
        overrides = self.store.fetch("SELECT org_code, name, value FROM alert_thresholds")
        by_unit: dict[str, dict[str, float]] = defaultdict(dict)
        for o in overrides:
            by_unit[o["org_code"]][o["name"]] = float(o["value"])
        found = {}
        for unit in units:
            values: dict[str, float] = {}
            for ancestor in unit["path"].strip("/").split("/"):  # top down: nearer wins
                values.update(by_unit.get(ancestor, {}))
            found[unit["code"]] = self.default.with_overrides(values)
        return found


class Recipients:
    """Who is told: an org unit's head (the logins bound to `head_employee_no`) and the
    `dept_head` logins scoped to it; a plant's HR; a session's trainer."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    def _bound_to(self, employee_nos: list[str]) -> list[str]:
        wanted = [n for n in employee_nos if n]
        if not wanted:
            return []
        params = {f"e{i}": n for i, n in enumerate(wanted)}
        rows = self.store.fetch(
            "SELECT login FROM users WHERE employee_no IN "
            f"({', '.join(':' + k for k in params)}) ORDER BY login",
            params,
        )
        return [r["login"] for r in rows]

    def of_unit(self, code: str) -> list[str]:
        """The unit's head and the department heads whose scope holds it."""
        row = self.store.fetch_one(
            "SELECT head_employee_no FROM org_heads WHERE code = :c", {"c": code}
        )
        heads = self._bound_to([row["head_employee_no"]] if row else [])
        rows = self.store.fetch(
            "SELECT u.login FROM users u JOIN org_units s ON s.code = u.scope "
            "JOIN org_units o ON o.code = :c WHERE u.role = 'dept_head' "
            "AND o.path LIKE s.path || '%' ORDER BY u.login",
            {"c": code},
        )
        return list(dict.fromkeys([*heads, *(r["login"] for r in rows)]))

    def plant_hr(self, plant: str) -> list[str]:
        """HR of the plant: HR logins scoped to it, else those of its nearest ancestor."""
        rows = self.store.fetch(
            "SELECT u.login, s.path FROM users u JOIN org_units s ON s.code = u.scope "
            "JOIN org_units p ON p.code = :plant WHERE u.role = 'hr' "
            "AND p.path LIKE s.path || '%' ORDER BY LENGTH(s.path) DESC, u.login",
            {"plant": plant},
        )
        nearest = rows[0]["path"] if rows else None
        return [r["login"] for r in rows if r["path"] == nearest]

    def plant_managers(self, plant: str) -> list[str]:
        """The plant's managers: `plant_manager` logins whose scope holds the plant."""
        rows = self.store.fetch(
            "SELECT u.login FROM users u JOIN org_units s ON s.code = u.scope "
            "JOIN org_units p ON p.code = :plant WHERE u.role = 'plant_manager' "
            "AND p.path LIKE s.path || '%' ORDER BY u.login",
            {"plant": plant},
        )
        return [r["login"] for r in rows]

    def of_employee(self, employee_no: str) -> list[str]:
        """The logins bound to an employee (a trainer may be an outside name: none)."""
        return self._bound_to([employee_no])
