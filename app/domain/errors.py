"""Domain errors: commands the domain refuses, each with a stable code.

Services raise them (or return them for one item of a batch); only the web layer turns a
code into an HTTP status, problem details and localised words.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Refusal(Exception):
    """A refused command. `code` is stable; `facts` are what the caller may be told."""

    code: ClassVar[str] = "refused"

    def __init__(self, **facts: Any) -> None:
        super().__init__(f"{self.code} {facts}" if facts else self.code)
        self.facts = facts


class DeviceNotRecognised(Refusal):
    """The device token is missing, unknown or revoked."""

    code = "device_not_recognised"


class UnknownSession(Refusal):
    """The command names a training session that does not exist."""

    code = "unknown_session"


class SessionOfOtherPlant(Refusal):
    """The session belongs to another plant than the device."""

    code = "session_other_plant"


class InvalidCheckIn(Refusal):
    """The check-in's fields are malformed (facts: `errors`, a list of plain sentences)."""

    code = "invalid_checkin"


class IdentityRequired(Refusal):
    """The check-in names nobody: no employee id, badge, QR token or face photo."""

    code = "identity_required"


class UnsupportedIdentity(Refusal):
    """The check-in names someone in a way this server cannot resolve."""

    code = "unsupported_identity"


class IdempotencyKeyReused(Refusal):
    """A `client_event_id` already stored with other content (facts: `checkin_id`)."""

    code = "idempotency_key_reused"


class NotYourself(Refusal):
    """An employee's own login named someone else (another number or a badge)."""

    code = "not_yourself"


class NotAnEmployee(Refusal):
    """A user login that is not bound to an employee tried to check in by phone."""

    code = "not_an_employee"


class QrRequired(Refusal):
    """A phone check-in without the room's QR token or code."""

    code = "qr_required"


class UnknownPhoto(Refusal):
    """A face check-in names a selfie that was never uploaded (facts: `photo_id`)."""

    code = "unknown_photo"


class InvalidPhotoUpload(Refusal):
    """A photo upload's fields are malformed (facts: `errors`, plain sentences)."""

    code = "invalid_photo"


class PhotoTooLarge(Refusal):
    """A photo over the size limit (facts: `max_bytes`)."""

    code = "photo_too_large"


class ImageUnusable(Refusal):
    """The bytes are not an image that can be used (facts: `reason`, a vision code)."""

    code = "image_rejected"


class PhotoKeyReused(Refusal):
    """A photo's `client_event_id` already used for other bytes (facts: `photo_id`, the
    photo the key belongs to, and `client_event_id`)."""

    code = "photo_key_reused"


class ConcurrentUploads(Refusal):
    """The same photo kept being uploaded concurrently: try again."""

    code = "concurrent_uploads"
