"""Wire types of the public contract (../shared/CONTRACT.md). Extend, never rename."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

ClientEventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Method = Literal["face", "qr", "badge", "manual"]
MAX_BATCH = 1000


class CheckInRequest(msgspec.Struct, kw_only=True):
    """`POST /api/v1/checkins` body (one item of a batch)."""

    client_event_id: ClientEventId
    session_id: ShortText
    method: Method
    employee_id: ShortText | None = None
    badge_uid: ShortText | None = None
    qr_token: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    face_photo_id: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")] | None = None
    device_time: datetime | None = None
    device_seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None
    #: required for `manual`: why the trainer entered it by hand (extension)
    reason: Reason | None = None
    #: phones: the random id the phone page made once and keeps
    phone_id: ShortText | None = None


class CheckInBatch(msgspec.Struct, kw_only=True):
    """`POST /api/v1/checkins/batch`: an offline tablet's queue, in device order."""

    items: list[Any]
    #: the device's clock when it sent the batch; corrects queued device times (extension)
    sent_at: datetime | None = None


class EmployeeRef(msgspec.Struct):
    id: str
    name: str


class CheckInReply(msgspec.Struct, omit_defaults=True):
    """The reply for an accepted or flagged check-in."""

    checkin_id: str
    status: Literal["accepted", "flagged", "rejected"]
    employee: EmployeeRef | None
    server_time: str
    message: str
    flags: list[str]
    replayed: bool = False


class CheckInRejectedReply(msgspec.Struct, kw_only=True):
    """The reply for a check-in the rules refused and kept as evidence under `checkin_id`
    (`201`, `200` with `replayed` again). `reason`, `verdict` and `detail` are extensions:
    the machine reason, `rejected` again, and the same text as `message`."""

    checkin_id: str
    status: Literal["rejected"]
    employee: EmployeeRef | None
    server_time: str
    message: str
    flags: list[str]
    replayed: bool
    reason: str
    verdict: Literal["rejected"]
    detail: str


class TokenRequest(msgspec.Struct, kw_only=True):
    login: ShortText
    password: Annotated[str, msgspec.Meta(max_length=256)]
    #: a 6-digit code, or one of the recovery codes
    totp: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class TokenReply(msgspec.Struct):
    token: str
    expires_at: str


class ProblemDetails(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: a stable `type`, a localised `detail`, and facts of its kind."""

    type: str
    title: str
    status: int
    detail: str


class CheckInRefusal(msgspec.Struct, kw_only=True):
    """`403 session-other-plant`: a device of another plant; the attempt is kept as
    evidence under `checkin_id`, and answered the same way again (`replayed`)."""

    type: str
    title: str
    status: int
    detail: str
    reason: str
    checkin_id: str
    verdict: Literal["rejected"]
    employee: None
    server_time: str
    message: str
    flags: list[str]
    replayed: bool


class CheckInBatchReply(msgspec.Struct):
    """One result per item, in order: a reply, a refusal, or a problem of that item alone."""

    results: list[dict[str, Any]]
