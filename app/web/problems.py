"""Problems: refusals the API reports as RFC 9457 problem details.

Raised anywhere below the web layer with a message key; the web layer localises the
detail and serialises it. `slug` becomes the stable `type` URI.
"""

from __future__ import annotations

from typing import Any

from app.domain.errors import Refusal
from app.web.i18n import t

PROBLEM_BASE = "https://muster.dev/problems/"


class Problem(Exception):
    """A client-visible refusal with a stable type and a localised message key."""

    def __init__(self, status: int, slug: str, key: str, **extra: Any) -> None:
        super().__init__(f"{status} {slug}")
        self.status = status
        self.slug = slug
        self.key = key
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug


# -- domain refusals → problems ------------------------------------------------------------

#: status, type slug and message key of each domain refusal code (app/domain/errors.py)
REFUSALS: dict[str, tuple[int, str, str]] = {
    "device_not_recognised": (401, "device-token", "problem.device_token"),
    "unknown_session": (404, "unknown-session", "problem.unknown_session"),
    "session_other_plant": (403, "session-other-plant", "problem.other_plant"),
    "invalid_checkin": (422, "invalid-body", "problem.invalid_body"),
    "identity_required": (422, "identity-required", "problem.identity_required"),
    "unsupported_identity": (422, "unsupported-identity", "problem.unsupported_identity"),
    "idempotency_key_reused": (409, "idempotency-key-reused", "problem.idempotency_key_reused"),
    "not_yourself": (403, "not-yourself", "problem.not_yourself"),
    "not_an_employee": (403, "not-an-employee", "problem.not_an_employee"),
    "qr_required": (422, "qr-required", "problem.qr_required"),
    "unknown_photo": (422, "unknown-photo", "problem.unknown_photo"),
    "invalid_photo": (422, "invalid-body", "problem.invalid_body"),
    "photo_too_large": (413, "photo-too-large", "problem.photo_too_large"),
    "image_rejected": (422, "image-rejected", "problem.image_rejected"),
    "photo_key_reused": (409, "idempotency-key-reused", "problem.photo_key_reused"),
    "concurrent_uploads": (409, "conflict", "problem.concurrent_uploads"),
    "anomaly_already_resolved": (
        409,
        "anomaly-already-resolved",
        "problem.anomaly_already_resolved",
    ),
}


def problem_of(refusal: Refusal) -> Problem:
    """The problem a domain refusal is reported as."""
    status, slug, key = REFUSALS.get(refusal.code, (422, "refused", "problem.invalid_body"))
    return Problem(status, slug, key, **refusal.facts)


def problem_body(problem: Problem, lang: str) -> dict[str, Any]:
    """RFC 9457 body for a problem, detail localised."""
    return {
        "type": problem.type_uri,
        "title": problem.slug.replace("-", " "),
        "status": problem.status,
        "detail": t(problem.key, lang),
        **problem.extra,
    }
