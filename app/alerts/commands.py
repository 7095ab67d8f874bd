"""The alert commands of the `Training` application: load, call, save."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.domain.alerts import Alert, AlertPolicy, Condition, Webhook, valid_threshold
from app.domain.ids import natural_id

#: how the engine and the deliverer sign their events
ENGINE = "alert-engine"

WEBHOOK_FORMATS = ("json", "dingtalk", "feishu", "wecom", "mail")


class AlertCommands:
    """Mixed into `Training`; uses its repository and `save`."""

    if TYPE_CHECKING:  # provided by `Application` and `Training`
        repository: Any

        def save(self, *objs: Any) -> Any: ...

        def get_or_none(self, aggregate_id: UUID) -> Any: ...

    def raise_alert(
        self,
        condition: Condition,
        occurrence: int,
        plant: str | None,
        recipients: list[str],
        at: datetime,
    ) -> UUID:
        """Raise the `occurrence`-th alert of `condition`. Raising it again (a restart between
        the append and the engine's checkpoint) finds the same id and changes nothing."""
        alert = Alert(
            key=condition.key,
            occurrence=occurrence,
            rule=condition.rule.value,
            subject=condition.subject,
            plant=plant,
            recipients=recipients,
            facts=condition.facts,
            raised_at=at,
            actor=ENGINE,
        )
        with suppress(IntegrityError):  # raised before
            self.save(alert)
        return alert.id

    def resolve_alert(self, alert_id: UUID, reason: str, at: datetime) -> bool:
        alert: Alert | None = self.get_or_none(alert_id)
        if alert is None or not alert.resolve(reason=reason, at=at, actor=ENGINE):
            return False
        return self._save_racing(alert, lambda a: a.resolve(reason=reason, at=at, actor=ENGINE))

    def acknowledge_alert(self, alert_id: UUID, by: str, note: str, at: datetime) -> bool | None:
        """None: no such alert; False: it was not open any more."""
        alert: Alert | None = self.get_or_none(alert_id)
        if alert is None:
            return None
        if not alert.acknowledge(by=by, note=note, at=at, actor=by):
            return False
        return self._save_racing(alert, lambda a: a.acknowledge(by=by, note=note, at=at, actor=by))

    def record_delivery(self, alert_id: UUID, **outcome: Any) -> None:
        """Append `AlertDelivered` (no `error`) or `AlertDeliveryFailed` to the alert."""
        failed = "error" in outcome

        def record(alert: Alert) -> bool:
            if failed:
                alert.delivery_failed(**outcome, actor=ENGINE)
            else:
                alert.delivered(**outcome, actor=ENGINE)
            return True

        alert: Alert = self.repository.get(alert_id)
        record(alert)
        self._save_racing(alert, record)

    def _save_racing(self, alert: Alert, again: Any) -> bool:
        """Save; when someone else appended to the alert meanwhile (the engine resolving it
        while a delivery is recorded), reload and apply the change again."""
        for _ in range(5):
            try:
                self.save(alert)
                return True
            except IntegrityError:
                alert = self.repository.get(alert.id)
                if not again(alert):
                    return False
        raise RuntimeError(f"alert {alert.id} kept changing under us")

    # -- where alerts go and what makes them ----------------------------------------------

    def add_webhook(self, url: str, fmt: str, scope: str, rules: list[str], actor: str) -> UUID:
        if fmt not in WEBHOOK_FORMATS:
            raise ValueError(f"format must be one of {', '.join(WEBHOOK_FORMATS)}")
        existing: Webhook | None = self.get_or_none(natural_id("webhook", f"{scope}|{url}"))
        if existing is not None:
            existing.change(fmt=fmt, rules=rules, actor=actor)
            self.save(existing)
            return existing.id
        webhook = Webhook(url=url, fmt=fmt, scope=scope, rules=rules, actor=actor)
        self.save(webhook)
        return webhook.id

    def remove_webhook(self, webhook_id: UUID, actor: str) -> None:
        webhook: Webhook | None = self.get_or_none(webhook_id)
        if webhook is None or not webhook.active:
            raise LookupError(f"no active webhook {webhook_id}")
        webhook.remove(actor=actor)
        self.save(webhook)

    def set_alert_threshold(self, org_code: str, name: str, value: float, actor: str) -> None:
        if not valid_threshold(name, value):
            raise ValueError(f"{name} = {value} is not a valid threshold")
        policy: AlertPolicy | None = self.get_or_none(natural_id("alert-policy", org_code))
        if policy is None:
            policy = AlertPolicy(org_code=org_code, actor=actor)
        policy.set_threshold(org_code=org_code, name=name, value=value, actor=actor)
        self.save(policy)
