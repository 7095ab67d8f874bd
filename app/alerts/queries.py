"""Reading alerts: the caller's inbox and scope, one alert, the dead-letter list."""

from __future__ import annotations

import json
from typing import Any

from app.stores.base import ReadStore, Row

STATUSES = ("open", "acknowledged", "resolved")


def alert_view(row: Row) -> dict[str, Any]:
    """An alert row as the API shows it (without `detail`, which is worded per language)."""
    view: dict[str, Any] = {
        "id": row["id"],
        "rule": row["rule"],
        "status": row["status"],
        "subject": json.loads(row["subject"]),
        "recipients": json.loads(row["recipients"]),
        "raised_at": row["raised_at"],
        "plant": row["plant"],
        "facts": json.loads(row["facts"]),
    }
    if row.get("resolved_at"):
        view["resolved_at"] = row["resolved_at"]
        view["resolved_reason"] = row["resolved_reason"]
    if row.get("acknowledged_at"):
        view["acknowledged_at"] = row["acknowledged_at"]
        view["acknowledged_by"] = row["acknowledged_by"]
    return view


async def alerts_for(
    store: ReadStore,
    login: str,
    scope_path: str | None,
    *,
    status: str | None = None,
    rule: str | None = None,
    session_id: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Alerts the caller receives, and those about anything inside their scope (`scope_path`,
    None: their own only), newest first."""
    where = ["(EXISTS (SELECT 1 FROM alert_recipients r WHERE r.alert_id = a.id AND r.login = :me)"]
    params: dict[str, Any] = {"me": login, "limit": limit}
    if scope_path is not None:
        where[0] += " OR o.path LIKE :prefix"
        params["prefix"] = scope_path + "%"
    where[0] += ")"
    for column, value in (("status", status), ("rule", rule), ("session_id", session_id)):
        if value:
            where.append(f"a.{column} = :{column}")
            params[column] = value
    rows = await store.afetch(
        "SELECT a.* FROM alerts a LEFT JOIN org_units o ON o.code = COALESCE(a.org_code, a.plant) "
        f"WHERE {' AND '.join(where)} ORDER BY a.raised_at DESC, a.id LIMIT :limit",
        params,
    )
    return [alert_view(r) for r in rows]


async def alert_visible(
    store: ReadStore, alert_id: str, login: str, scope_path: str | None
) -> bool:
    """Whether the caller may see (and acknowledge) the alert."""
    row = await store.afetch_one(
        "SELECT a.id, o.path, (SELECT COUNT(*) FROM alert_recipients r WHERE r.alert_id = a.id "
        "AND r.login = :me) AS mine FROM alerts a LEFT JOIN org_units o "
        "ON o.code = COALESCE(a.org_code, a.plant) WHERE a.id = :id",
        {"id": alert_id, "me": login},
    )
    if row is None:
        return False
    in_scope = scope_path is not None and (row["path"] or "").startswith(scope_path)
    return bool(row["mine"]) or in_scope


def alert_row(store: ReadStore, alert_id: str) -> Row | None:
    return store.fetch_one("SELECT * FROM alerts WHERE id = :id", {"id": alert_id})


def webhooks_for(store: ReadStore, alert: Row) -> list[Row]:
    """Active webhooks whose scope holds the alert's org unit (or plant) and whose rules, if
    they name any, include its rule."""
    rows = store.fetch(
        "SELECT w.id, w.url, w.fmt, w.rules, k.secret FROM webhooks w "
        "JOIN org_units s ON s.code = w.scope JOIN org_units o ON o.code = :org "
        "LEFT JOIN webhook_secrets k ON k.webhook_id = w.id "
        "WHERE w.active = 1 AND o.path LIKE s.path || '%' ORDER BY w.id",
        {"org": alert["org_code"] or alert["plant"]},
    )
    return [
        r for r in rows if not json.loads(r["rules"]) or alert["rule"] in json.loads(r["rules"])
    ]


def dead_letters(store: ReadStore, limit: int = 200) -> list[Row]:
    """Notices that were given up on, newest first."""
    return store.fetch(
        "SELECT d.alert_id, d.destination, d.channel, d.notice, d.attempt, d.error, d.at, a.rule "
        "FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id WHERE d.outcome = 'dead' "
        "ORDER BY d.at DESC LIMIT :limit",
        {"limit": limit},
    )
