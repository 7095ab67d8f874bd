"""Alerts as people read them (inbox, `GET /api/v1/alerts`, the live board), the webhooks and
thresholds they are delivered and judged by, and the facts the alert engine watches that no
other read model keeps: when each device was last heard from and which anomalies are open."""

from __future__ import annotations

import json
from typing import Any

from app.domain.alerts import Alert, AlertPolicy, Webhook
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso


class Alerts(Projection):
    name = "alerts"
    owned_tables = (
        "alerts",
        "alert_recipients",
        "alert_deliveries",
        "webhooks",
        "alert_thresholds",
    )
    tables = (
        "CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, key TEXT NOT NULL, "
        "occurrence INTEGER NOT NULL, rule TEXT NOT NULL, status TEXT NOT NULL, "
        "subject TEXT NOT NULL, plant TEXT, org_code TEXT, session_id TEXT, device TEXT, "
        "employee_no TEXT, recipients TEXT NOT NULL, facts TEXT NOT NULL, raised_at TEXT NOT NULL, "
        "acknowledged_at TEXT, acknowledged_by TEXT, resolved_at TEXT, resolved_reason TEXT)",
        "CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at)",
        "CREATE INDEX IF NOT EXISTS alerts_session ON alerts (session_id)",
        "CREATE TABLE IF NOT EXISTS alert_recipients (alert_id TEXT NOT NULL, login TEXT NOT NULL, "
        "PRIMARY KEY (login, alert_id))",
        "CREATE TABLE IF NOT EXISTS alert_deliveries (alert_id TEXT NOT NULL, "
        "destination TEXT NOT NULL, channel TEXT NOT NULL, notice TEXT NOT NULL, "
        "attempt INTEGER NOT NULL, outcome TEXT NOT NULL, error TEXT, at TEXT NOT NULL, "
        "PRIMARY KEY (alert_id, destination, notice, attempt))",
        "CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, url TEXT NOT NULL, "
        "fmt TEXT NOT NULL, scope TEXT NOT NULL, rules TEXT NOT NULL, active INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS alert_thresholds (org_code TEXT NOT NULL, name TEXT NOT NULL, "
        "value DOUBLE PRECISION NOT NULL, PRIMARY KEY (org_code, name))",
    )

    @handles(Alert.AlertRaised)
    def raised(self, e: Any, b: Batch) -> None:
        aid = str(e.originator_id)
        b.insert(
            "alerts",
            "id",
            id=aid,
            key=e.key,
            occurrence=e.occurrence,
            rule=e.rule,
            status="open",
            subject=json.dumps(e.subject, ensure_ascii=False),
            plant=e.plant,
            org_code=e.subject.get("org_code"),
            session_id=e.subject.get("session_id"),
            device=e.subject.get("device"),
            employee_no=e.subject.get("employee_no"),
            recipients=json.dumps(e.recipients, ensure_ascii=False),
            facts=json.dumps(e.facts, ensure_ascii=False, default=str),
            raised_at=iso(e.raised_at),
        )
        for login in dict.fromkeys(e.recipients):
            b.insert("alert_recipients", "login, alert_id", alert_id=aid, login=login)

    @handles(Alert.AlertAcknowledged)
    def acknowledged(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE alerts SET status = 'acknowledged', acknowledged_at = :at, "
            "acknowledged_by = :by WHERE id = :id AND status = 'open'",
            at=iso(e.at),
            by=e.by,
            id=str(e.originator_id),
        )

    @handles(Alert.AlertResolved)
    def resolved(self, e: Any, b: Batch) -> None:
        b.update(
            "alerts",
            "id",
            str(e.originator_id),
            status="resolved",
            resolved_at=iso(e.at),
            resolved_reason=e.reason,
        )

    def _delivery(self, e: Any, b: Batch, outcome: str, error: str | None) -> None:
        b.insert(
            "alert_deliveries",
            "alert_id, destination, notice, attempt",
            alert_id=str(e.originator_id),
            destination=e.destination,
            channel=e.channel,
            notice=e.notice,
            attempt=e.attempt,
            outcome=outcome,
            error=error,
            at=iso(e.at),
        )

    @handles(Alert.AlertDelivered)
    def delivered(self, e: Any, b: Batch) -> None:
        self._delivery(e, b, "delivered", None)

    @handles(Alert.AlertDeliveryFailed)
    def delivery_failed(self, e: Any, b: Batch) -> None:
        self._delivery(e, b, "dead" if e.final else "failed", e.error)

    @handles(Webhook.WebhookAdded)
    def webhook_added(self, e: Any, b: Batch) -> None:
        b.insert(
            "webhooks",
            "id",
            id=str(e.originator_id),
            url=e.url,
            fmt=e.fmt,
            scope=e.scope,
            rules=json.dumps(e.rules),
            active=1,
        )

    @handles(Webhook.WebhookChanged)
    def webhook_changed(self, e: Any, b: Batch) -> None:
        b.update(
            "webhooks", "id", str(e.originator_id), fmt=e.fmt, rules=json.dumps(e.rules), active=1
        )

    @handles(Webhook.WebhookRemoved)
    def webhook_removed(self, e: Any, b: Batch) -> None:
        b.update("webhooks", "id", str(e.originator_id), active=0)

    @handles(AlertPolicy.AlertThresholdSet)
    def threshold_set(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO alert_thresholds (org_code, name, value) VALUES (:org, :name, :value) "
            "ON CONFLICT (org_code, name) DO UPDATE SET value = :value",
            org=e.org_code,
            name=e.name,
            value=e.value,
        )


class WatchedFacts(Projection):
    """Device activity and open anomalies. Anomaly events come from the evidence rules and are
    matched by class name, so this projection does not import their module."""

    name = "alert_inputs"
    owned_tables = ("device_activity", "watched_anomalies")
    tables = (
        "CREATE TABLE IF NOT EXISTS device_activity (device_id TEXT PRIMARY KEY, "
        "last_seen_at TEXT NOT NULL, last_photo_at TEXT, last_photo_id TEXT)",
        "CREATE TABLE IF NOT EXISTS watched_anomalies (anomaly_id TEXT PRIMARY KEY, "
        "session_id TEXT NOT NULL, kind TEXT NOT NULL, raised_at TEXT NOT NULL, "
        "open INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS watched_anomalies_session ON watched_anomalies (session_id)",
    )
    PHOTO_EVENTS = frozenset({"PhotoStored", "PhotoReused"})

    def apply(self, event: Any, batch: Batch) -> None:
        name = type(event).__name__
        device = getattr(event, "device_id", None)
        if device is not None:
            self._seen(event, batch, str(device), name in self.PHOTO_EVENTS)
        if name == "AnomalyFlagged" and getattr(event, "session_id", None) is not None:
            batch.insert(
                "watched_anomalies",
                "anomaly_id",
                anomaly_id=str(event.originator_id),
                session_id=str(event.session_id),
                kind=str(getattr(event, "kind", "")),
                raised_at=iso(event.timestamp),
                open=1,
            )
            batch.changes.add(str(event.session_id))
        elif name == "AnomalyResolved":
            batch.update("watched_anomalies", "anomaly_id", str(event.originator_id), open=0)

    @staticmethod
    def _seen(event: Any, batch: Batch, device: str, photo: bool) -> None:
        at = iso(event.timestamp)
        photo_id = getattr(event, "sha256", None) if photo else None
        batch.sql(
            "INSERT INTO device_activity (device_id, last_seen_at, last_photo_at, last_photo_id) "
            "VALUES (:id, :at, :photo_at, :photo) ON CONFLICT (device_id) DO UPDATE SET "
            "last_seen_at = :at, last_photo_at = COALESCE(:photo_at, "
            "device_activity.last_photo_at), last_photo_id = COALESCE(:photo, "
            "device_activity.last_photo_id)",
            id=device,
            at=at,
            photo_at=at if photo else None,
            photo=photo_id,
        )
