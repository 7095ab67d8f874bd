"""The rotating room QR: an HMAC over the session and a 15-second time step.

The room screen shows a new code every step; a check-in is accepted with the current or the
previous step's code, so a screenshot forwarded to someone outside the room stops working
within half a minute. The typed fallback is a 6-digit code from the same HMAC. Pure functions
over values: the key, the session id and the instant are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

STEP_SECONDS: Final = 15
#: steps accepted besides the current one (the previous step only)
ACCEPTED_PAST_STEPS: Final = 1
PREFIX: Final = "MQ1"
CODE_DIGITS: Final = 6


class QrRefusal(StrEnum):
    """Why a presented QR token or typed code does not admit a check-in."""

    FORGED = "qr_forged"
    EXPIRED = "qr_expired"
    OTHER_SESSION = "qr_other_session"


@dataclass(frozen=True)
class RoomQr:
    """What the room screen shows for one time step."""

    token: str
    code: str
    expires_at: datetime


def qr_key(secret: bytes) -> bytes:
    """The QR signing key, derived from the deployment's secret (never the secret itself)."""
    return hmac.new(secret, b"muster-room-qr-v1", hashlib.sha256).digest()


def time_step(at: datetime) -> int:
    """The 15-second step an instant falls in."""
    return int(at.timestamp()) // STEP_SECONDS


def _mac(key: bytes, purpose: str, session_id: str, step: int) -> bytes:
    return hmac.new(key, f"{purpose}|{session_id}|{step}".encode(), hashlib.sha256).digest()


def _signature(key: bytes, session_id: str, step: int) -> str:
    return base64.urlsafe_b64encode(_mac(key, "qr", session_id, step)[:16]).decode().rstrip("=")


def typed_code(key: bytes, session_id: str, step: int) -> str:
    """The 6-digit code shown under the QR for phones without a working camera."""
    number = int.from_bytes(_mac(key, "code", session_id, step)[:4], "big")
    return f"{number % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def room_qr(key: bytes, session_id: str, at: datetime) -> RoomQr:
    """The QR token and typed code for `session_id` at instant `at`."""
    step = time_step(at)
    token = f"{PREFIX}.{session_id}.{step}.{_signature(key, session_id, step)}"
    expires = datetime.fromtimestamp((step + 1 + ACCEPTED_PAST_STEPS) * STEP_SECONDS, UTC)
    return RoomQr(token=token, code=typed_code(key, session_id, step), expires_at=expires)


def _fresh(step: int, now_step: int) -> bool:
    return now_step - ACCEPTED_PAST_STEPS <= step <= now_step


def check_qr(key: bytes, presented: str, session_id: str, at: datetime) -> QrRefusal | None:
    """`None` when `presented` (a scanned token or a typed 6-digit code) admits a check-in to
    `session_id` at `at`; otherwise why not. A token minted for another session is refused as
    such even while fresh; a token from the future is as good as forged."""
    now_step = time_step(at)
    presented = presented.strip()
    if presented.isdigit() and len(presented) == CODE_DIGITS:
        for step in range(now_step - ACCEPTED_PAST_STEPS, now_step + 1):
            if hmac.compare_digest(typed_code(key, session_id, step), presented):
                return None
        return QrRefusal.EXPIRED  # a well-formed code from an older step, or a wrong one
    parts = presented.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[2].isdigit():
        return QrRefusal.FORGED
    _, token_session, raw_step, signature = parts
    step = int(raw_step)
    if not hmac.compare_digest(_signature(key, token_session, step), signature):
        return QrRefusal.FORGED
    if token_session != session_id:
        return QrRefusal.OTHER_SESSION
    if step > now_step:
        return QrRefusal.FORGED
    return None if _fresh(step, now_step) else QrRefusal.EXPIRED


def session_of_token(presented: str) -> str | None:
    """The session id a scanned token names (unverified), so a phone can send it along."""
    parts = presented.strip().split(".")
    return parts[1] if len(parts) == 4 and parts[0] == PREFIX else None
