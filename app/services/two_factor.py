"""Two-factor login (RFC 6238 time-based codes, pyotp) and one-time recovery codes.

Each code is accepted once: the credentials table keeps the last time step used, so a code
seen over someone's shoulder cannot be replayed, not even within its 30 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp

from app.stores.credentials import Credentials, LoginSecret

ISSUER = "Muster"
RECOVERY_CODES = 8
#: codes from the step before and after are accepted too (clocks of phones drift)
DRIFT_STEPS = 1


@dataclass(frozen=True)
class Enrolment:
    """A new two-factor secret: the `otpauth://` URI (shown once) and recovery codes."""

    uri: str
    recovery_codes: list[str]


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").lower().encode()).hexdigest()


def begin(credentials: Credentials, login: str) -> Enrolment:
    """A new secret for `login`, not yet required at login until `confirm` (pages) or
    `enrol` (the command line) makes it so."""
    secret = pyotp.random_base32()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    credentials.update_two_factor(
        login,
        totp_secret=secret,
        totp_enrolled=0,
        totp_last_step=None,
        recovery_codes=[_code_hash(c) for c in codes],
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)
    return Enrolment(uri, codes)


def pending_uri(credentials: Credentials, login: str) -> str | None:
    """The `otpauth://` URI of an enrolment begun but not confirmed yet."""
    secret = credentials.login_secret(login)
    if secret is None or not secret.totp_secret or secret.totp_enrolled:
        return None
    return pyotp.TOTP(secret.totp_secret).provisioning_uri(name=login, issuer_name=ISSUER)


def enrol(credentials: Credentials, login: str) -> Enrolment:
    """Enrol `login` at once (the command line): from now on it logs in with a code."""
    enrolment = begin(credentials, login)
    credentials.update_two_factor(login, totp_enrolled=1)
    return enrolment


def confirm(credentials: Credentials, login: str, code: str, now: float | None = None) -> bool:
    """Finish an enrolment begun on a page with the first code the authenticator shows."""
    secret = credentials.login_secret(login)
    if secret is None or not secret.totp_secret or not accept(credentials, secret, code, now):
        return False
    credentials.update_two_factor(login, totp_enrolled=1)
    return True


def accept(
    credentials: Credentials, secret: LoginSecret, code: str, now: float | None = None
) -> bool:
    """Whether `code` (a 6-digit code or a recovery code) proves the login, using it up."""
    code = code.strip().replace(" ", "")
    if not secret.totp_secret or not code:
        return False
    if code.isdigit() and len(code) == 6:
        totp = pyotp.TOTP(secret.totp_secret)
        step = int((time.time() if now is None else now) // totp.interval)
        for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(candidate), code):
                return credentials.claim_totp_step(secret.login, candidate)
        return False
    return credentials.claim_recovery_code(secret.login, _code_hash(code))
