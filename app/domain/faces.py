"""Face check-in consent: a person's face is enrolled only under a consent they gave, and
withdrawing it deletes the templates. Events say that templates were stored or deleted and how
many; the templates themselves live encrypted in their own table, never in an event."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


def face_consent_id(employee_no: str, consent_ref: str) -> UUID:
    """One record per consent: `consent_ref` is the id the enrolment request was given."""
    return natural_id("face-consent", f"{employee_no}/{consent_ref}")


class FaceConsent(Aggregate):
    """One consent to face check-in, from the moment it is given until it is withdrawn.

    A person who withdraws and later consents again gives a new consent (a new record)."""

    @staticmethod
    def create_id(employee_no: str, consent_ref: str, **_: Any) -> UUID:
        """The uuid5 of the person and the consent's reference."""
        return face_consent_id(employee_no, consent_ref)

    @event("FaceConsentGiven")
    def __init__(self, employee_no: str, consent_ref: str, given_via: str, actor: str) -> None:
        self.employee_no = employee_no
        self.consent_ref = consent_ref
        self.given_via = given_via
        self.templates = 0
        self.withdrawn = False

    @event("FaceEnrolled")
    def enrolled(self, templates: int, actor: str) -> None:
        """Templates (how many, never which) were stored under this consent."""
        self.templates = templates

    @event("FaceConsentWithdrawn")
    def withdraw(self, templates_deleted: int, actor: str) -> None:
        """The person took their consent back; their templates were deleted."""
        self.withdrawn = True
        self.templates = 0
