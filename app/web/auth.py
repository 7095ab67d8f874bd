"""Staff login: signed bearer tokens (also carried in the page session cookie)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from litestar.connection import ASGIConnection

from app.bootstrap import Muster
from app.passwords import verify_password
from app.web.problems import Problem

COOKIE = "muster_session"
# Verifying against a dummy hash when the login is unknown keeps both failures equally slow.
_DUMMY_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)


@dataclass(frozen=True)
class Principal:
    """The logged-in staff member."""

    login: str
    role: str
    scope: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: bytes, principal: Principal, ttl_s: int) -> tuple[str, datetime]:
    """A signed token for `principal`, valid `ttl_s` seconds."""
    expires = int(time.time()) + ttl_s
    payload = _b64(
        json.dumps(
            {
                "sub": principal.login,
                "role": principal.role,
                "scope": principal.scope,
                "exp": expires,
            },
            separators=(",", ":"),
        ).encode()
    )
    signature = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    return f"mut_{payload}.{signature}", datetime.fromtimestamp(expires, UTC)


def read_token(secret: bytes, token: str) -> Principal | None:
    """The principal of a valid, unexpired token; None for anything forged or stale."""
    if not token.startswith("mut_") or "." not in token:
        return None
    payload, _, signature = token[4:].partition(".")
    expected = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), signature.encode()):  # any text, no TypeError
        return None
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("exp", 0) < time.time():
        return None
    return Principal(str(claims["sub"]), str(claims["role"]), str(claims["scope"]))


def check_password(muster: Muster, login: str, password: str) -> Principal | None:
    """Verify a login (slow on purpose: scrypt). Call from a worker thread."""
    row = muster.store.fetch_one(
        "SELECT login, role, scope, password_hash FROM users WHERE login = :l", {"l": login}
    )
    ok = verify_password(password, row["password_hash"] if row else _DUMMY_HASH)
    if row is None or not ok:
        return None
    return Principal(row["login"], row["role"], row["scope"])


def bearer(connection: ASGIConnection) -> str | None:  # type: ignore[type-arg]
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def principal_of(connection: ASGIConnection, secret: bytes) -> Principal | None:  # type: ignore[type-arg]
    """The staff member behind a request: bearer token first, then the session cookie."""
    token = bearer(connection) or connection.cookies.get(COOKIE)
    return read_token(secret, token) if token else None


def require_principal(connection: ASGIConnection, secret: bytes) -> Principal:  # type: ignore[type-arg]
    principal = principal_of(connection, secret)
    if principal is None:
        raise Problem(401, "login-required", "problem.login_required")
    return principal
