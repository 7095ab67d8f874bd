"""Anomalies: something in the evidence a person should look at, until someone confirms it
(it happened) or dismisses it (it did not), with a reason."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.errors import Refusal
from app.domain.ids import natural_id


class Resolution:
    """How a person closes an anomaly."""

    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    ALL = (CONFIRMED, DISMISSED)


class AnomalyAlreadyResolved(Refusal):
    """The anomaly was confirmed or dismissed already (facts: `anomaly_status`)."""

    code = "anomaly_already_resolved"


class Anomaly(Aggregate):
    """One per kind and subject (uuid5 id): the same evidence seen again, by a replay or a
    second worker, names the same anomaly and can never raise it twice. The subject is what
    it is about: a check-in, a photo in a session, or (for a headcount shortfall) the photo
    of a session that shows it."""

    @staticmethod
    def create_id(kind: str, subject: str, **_: Any) -> UUID:
        """The uuid5 of kind and subject."""
        return natural_id("anomaly", f"{kind}:{subject}")

    @event("AnomalyFlagged")
    def __init__(
        self,
        kind: str,
        subject: str,
        severity: str,
        session_id: UUID,
        employee_id: str | None,
        checkin_id: UUID | None,
        photo_id: str | None,
        evidence: dict[str, Any],
        actor: str,
    ):
        self.kind = kind
        self.subject = subject
        self.severity = severity
        self.session_id = session_id
        self.photo_id = photo_id
        self.status = "open"

    def resolve(self, outcome: str, reason: str, actor: str) -> None:
        """A person's verdict on it: `confirmed` or `dismissed`, with a reason."""
        if outcome not in Resolution.ALL:
            raise ValueError(f"outcome must be one of {', '.join(Resolution.ALL)}")
        if self.status != "open":
            raise AnomalyAlreadyResolved(anomaly_status=self.status)
        self._resolved(session_id=self.session_id, outcome=outcome, reason=reason, actor=actor)

    @event("AnomalyResolved")
    def _resolved(self, session_id: UUID, outcome: str, reason: str, actor: str) -> None:
        self.status = outcome
