"""Alerts: a condition someone must hear about (a department short of people after the late
mark, a room silent, a burst of anomalies), raised once per rule and subject, delivered, then
acknowledged and resolved. The rules are pure functions over values; the alert engine feeds
them what it has seen and turns their answers into events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


class AlertRule(StrEnum):
    """The rules of the contract (`GET /api/v1/alerts`, field `rule`)."""

    DEPT_RATE_LOW = "dept_rate_low"
    HEADCOUNT_SHORTFALL = "headcount_shortfall"
    ANOMALY_BURST = "anomaly_burst"
    NO_CHECKINS = "no_checkins"
    DEVICE_SILENT = "device_silent"
    TRAINING_OVERDUE = "training_overdue"


class AlertStatus(StrEnum):
    """An alert is open until someone acknowledges it or its condition clears."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


def subject_key(rule: str, subject: Mapping[str, str]) -> str:
    """The stable text of a rule and its subject: one open alert per key."""
    return rule + "|" + "|".join(f"{k}={subject[k]}" for k in sorted(subject))


def alert_id(key: str, occurrence: int) -> UUID:
    """The alert of the `occurrence`-th time the condition `key` became true: raising it twice
    names the same aggregate, so the event store refuses the copy."""
    return natural_id("alert", f"{key}#{occurrence}")


class Alert(Aggregate):
    """One occurrence of an alert condition and what became of it."""

    @staticmethod
    def create_id(key: str, occurrence: int, **_: Any) -> UUID:
        """The uuid5 of rule, subject and occurrence (`alert_id`)."""
        return alert_id(key, occurrence)

    @event("AlertRaised")
    def __init__(
        self,
        key: str,
        occurrence: int,
        rule: str,
        subject: dict[str, str],
        plant: str | None,
        recipients: list[str],
        facts: dict[str, Any],
        raised_at: datetime,
        actor: str,
    ):
        self.key = key
        self.occurrence = occurrence
        self.rule = rule
        self.subject = dict(subject)
        self.plant = plant
        self.recipients = list(recipients)
        self.facts = dict(facts)
        self.raised_at = raised_at
        self.status = AlertStatus.OPEN
        self.delivered_to: list[str] = []

    def acknowledge(self, by: str, note: str, at: datetime, actor: str) -> bool:
        """Someone has seen it and takes care; False when it was not open any more."""
        if self.status is not AlertStatus.OPEN:
            return False
        self._acknowledge(by=by, note=note, at=at, actor=actor)
        return True

    @event("AlertAcknowledged")
    def _acknowledge(self, by: str, note: str, at: datetime, actor: str) -> None:
        self.status = AlertStatus.ACKNOWLEDGED

    def resolve(self, reason: str, at: datetime, actor: str) -> bool:
        """The condition cleared; False when it was resolved already."""
        if self.status is AlertStatus.RESOLVED:
            return False
        self._resolve(reason=reason, at=at, actor=actor)
        return True

    @event("AlertResolved")
    def _resolve(self, reason: str, at: datetime, actor: str) -> None:
        self.status = AlertStatus.RESOLVED

    @event("AlertDelivered")
    def delivered(
        self, destination: str, channel: str, notice: str, attempt: int, at: datetime, actor: str
    ) -> None:
        """A destination (webhook, mail) accepted the notice (`raised` or `resolved`)."""
        self.delivered_to.append(f"{destination}:{notice}")

    @event("AlertDeliveryFailed")
    def delivery_failed(
        self,
        destination: str,
        channel: str,
        notice: str,
        attempt: int,
        error: str,
        final: bool,
        retry_at: datetime | None,
        at: datetime,
        actor: str,
    ) -> None:
        """One attempt failed; `final` puts the notice on the dead-letter list."""


class Webhook(Aggregate):
    """Where alerts of an org subtree are posted (its signing secret is kept out of events)."""

    @staticmethod
    def create_id(url: str, scope: str, **_: Any) -> UUID:
        """One registration per URL and scope: adding it again changes its settings."""
        return natural_id("webhook", f"{scope}|{url}")

    @event("WebhookAdded")
    def __init__(self, url: str, fmt: str, scope: str, rules: list[str], actor: str):
        self.url = url
        self.fmt = fmt
        self.scope = scope
        self.rules = list(rules)
        self.active = True

    @event("WebhookChanged")
    def change(self, fmt: str, rules: list[str], actor: str) -> None:
        """Another format or rule list for the same URL and scope (re-activates it)."""
        self.fmt = fmt
        self.rules = list(rules)
        self.active = True

    @event("WebhookRemoved")
    def remove(self, actor: str) -> None:
        """Stop delivering to it."""
        self.active = False


class AlertPolicy(Aggregate):
    """An org unit's own alert thresholds (a plant or department stricter than the default)."""

    @staticmethod
    def create_id(org_code: str, **_: Any) -> UUID:
        """One policy per org unit."""
        return natural_id("alert-policy", org_code)

    @event("AlertPolicyCreated")
    def __init__(self, org_code: str, actor: str):
        self.org_code = org_code
        self.values: dict[str, float] = {}

    @event("AlertThresholdSet")
    def set_threshold(self, org_code: str, name: str, value: float, actor: str) -> None:
        """Set one knob (`THRESHOLD_NAMES`) for this unit and everything under it."""
        self.values[name] = value


# -- the rules ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The knobs of the rules; each can be overridden per plant or department."""

    dept_rate: float = 0.8
    no_checkins_after: timedelta = timedelta(minutes=5)
    device_silent_after: timedelta = timedelta(minutes=5)
    anomaly_burst: int = 5

    def with_overrides(self, values: Mapping[str, float]) -> Thresholds:
        """These thresholds with an org unit's overrides (`THRESHOLD_NAMES`) applied."""

        def minutes(name: str, current: timedelta) -> timedelta:
            return timedelta(minutes=values[name]) if name in values else current

        return Thresholds(
            dept_rate=values.get("dept_rate", self.dept_rate),
            no_checkins_after=minutes("no_checkins_minutes", self.no_checkins_after),
            device_silent_after=minutes("device_silent_minutes", self.device_silent_after),
            anomaly_burst=int(values.get("anomaly_burst", self.anomaly_burst)),
        )


#: the knobs `muster alerts threshold` accepts
THRESHOLD_NAMES = ("dept_rate", "no_checkins_minutes", "device_silent_minutes", "anomaly_burst")


def valid_threshold(name: str, value: float) -> bool:
    """A rate lies in (0, 1]; minutes and counts are positive."""
    if name == "dept_rate":
        return 0 < value <= 1
    return name in THRESHOLD_NAMES and value > 0


@dataclass(frozen=True)
class Condition:
    """A rule that holds for a subject now, with the facts the notice shows."""

    rule: AlertRule
    subject: dict[str, str]
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The rule and subject as one stable key."""
        return subject_key(self.rule, self.subject)


@dataclass(frozen=True)
class DeptCount:
    """A department's roster in one session: how many expected, checked in, who is missing."""

    dept: str
    expected: int
    checked_in: int
    missing: tuple[str, ...] = ()
    #: the employee numbers of `missing`, in the same order (each name is sealed with its
    #: person's key, so an erasure reaches it)
    missing_no: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionFacts:
    """What the engine knows about one session when it evaluates it."""

    session_id: str
    starts_at: datetime
    ends_at: datetime
    closed: bool
    checked_in: int
    expected: int
    departments: Sequence[DeptCount] = ()
    #: device name → when it was last heard from (None: never)
    devices: Mapping[str, datetime | None] = field(default_factory=dict)
    open_anomalies: int = 0
    headcount_shortfalls: int = 0


def session_running(facts: SessionFacts, now: datetime) -> bool:
    """Started, not ended, not closed."""
    return not facts.closed and facts.starts_at <= now < facts.ends_at


def session_conditions(
    facts: SessionFacts,
    now: datetime,
    late_after: timedelta,
    plant: Thresholds,
    departments: Mapping[str, Thresholds],
) -> list[Condition]:
    """Every session rule that holds now: `plant` holds the session's plant thresholds,
    `departments` those of departments with their own."""
    if not session_running(facts, now):
        return []
    sid = facts.session_id
    found: list[Condition] = []
    if now >= facts.starts_at + late_after:
        for d in facts.departments:
            limit = departments.get(d.dept, plant).dept_rate
            rate = d.checked_in / d.expected if d.expected else 1.0
            if d.expected and rate < limit:
                found.append(
                    Condition(
                        AlertRule.DEPT_RATE_LOW,
                        {"org_code": d.dept, "session_id": sid},
                        {
                            "rate": round(rate, 4),
                            "threshold": limit,
                            "expected": d.expected,
                            "checked_in": d.checked_in,
                            "missing": list(d.missing),
                            "missing_no": list(d.missing_no),
                        },
                    )
                )
    if facts.checked_in == 0 and now >= facts.starts_at + plant.no_checkins_after:
        found.append(
            Condition(AlertRule.NO_CHECKINS, {"session_id": sid}, {"expected": facts.expected})
        )
    for device, last_seen in sorted(facts.devices.items()):
        quiet_since = max(last_seen, facts.starts_at) if last_seen else facts.starts_at
        if now - quiet_since >= plant.device_silent_after:
            found.append(
                Condition(
                    AlertRule.DEVICE_SILENT,
                    {"device": device, "session_id": sid},
                    {"last_seen": last_seen.isoformat() if last_seen else None},
                )
            )
    if facts.headcount_shortfalls:
        found.append(
            Condition(
                AlertRule.HEADCOUNT_SHORTFALL,
                {"session_id": sid},
                {"anomalies": facts.headcount_shortfalls},
            )
        )
    if facts.open_anomalies >= plant.anomaly_burst:
        found.append(
            Condition(
                AlertRule.ANOMALY_BURST,
                {"session_id": sid},
                {"open_anomalies": facts.open_anomalies, "threshold": plant.anomaly_burst},
            )
        )
    return found


def session_deadlines(
    facts: SessionFacts, late_after: timedelta, plant: Thresholds
) -> list[datetime]:
    """When a session's time-driven rules may change their answer: the no-check-in mark, the
    late mark, each device's silence mark, the end."""
    marks = {
        facts.starts_at,
        facts.starts_at + plant.no_checkins_after,
        facts.starts_at + late_after,
        facts.starts_at + plant.device_silent_after,
        facts.ends_at,
    }
    for last_seen in facts.devices.values():
        if last_seen is not None:
            marks.add(last_seen + plant.device_silent_after)
    return sorted(marks)
