"""Login tokens: signed, expiring, and versioned (logout, a new password or a new role or
scope raise the login's version, and every older token stops working)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send

from app.audit.context import ACTING, Acting
from app.bootstrap import Muster
from app.passwords import hash_password, needs_rehash, verify_password
from app.services import two_factor
from app.web.problems import Problem

COOKIE = "muster_session"
_STATE_KEY = "muster_principal"
#: all a login that must still enrol in two-factor may reach
ENROLLING_PATHS = ("/account/two-factor", "/logout")
# Verifying against a dummy hash when the login is unknown keeps both failures equally slow.
_DUMMY_HASH = hash_password("no such login")


@dataclass(frozen=True)
class Principal:
    """The logged-in person: login, role, org scope, the employee an `employee` login is,
    and the token version the login had when the token was issued."""

    login: str
    role: str
    scope: str
    employee_no: str | None = None
    version: int = 0
    #: logged in by password only, to enrol in two-factor: nothing else is open to it
    enrolling: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: bytes, principal: Principal, ttl_s: int) -> tuple[str, datetime]:
    """A signed token for `principal`, valid `ttl_s` seconds."""
    expires = int(time.time()) + ttl_s
    claims: dict[str, Any] = {
        "sub": principal.login,
        "role": principal.role,
        "scope": principal.scope,
        "ver": principal.version,
        "exp": expires,
    }
    if principal.employee_no is not None:
        claims["emp"] = principal.employee_no
    if principal.enrolling:
        claims["enr"] = 1
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    return f"mut_{payload}.{signature}", datetime.fromtimestamp(expires, UTC)


def read_token(secret: bytes, token: str) -> Principal | None:
    """The principal of a validly signed, unexpired token; None for anything forged or stale.
    Whether its version is still current is `authenticate`'s to check."""
    if not token.startswith("mut_") or "." not in token:
        return None
    payload, _, signature = token[4:].partition(".")
    expected = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), signature.encode()):  # any text, no TypeError
        return None
    try:
        claims = json.loads(_unb64(payload))
        if not isinstance(claims, dict) or int(claims.get("exp", 0)) < time.time():
            return None
        employee = claims.get("emp")
        return Principal(
            str(claims["sub"]),
            str(claims["role"]),
            str(claims["scope"]),
            None if employee is None else str(employee),
            int(claims.get("ver", 0)),
            bool(claims.get("enr", 0)),
        )
    except (ValueError, KeyError, TypeError):
        return None


def check_password(muster: Muster, login: str, password: str) -> Principal | None:
    """Verify a login's password (slow on purpose: argon2id); call from a worker thread.
    An old scrypt hash is replaced by an argon2id one on success."""
    row = muster.store.fetch_one(
        "SELECT login, role, scope, employee_no FROM users WHERE login = :l", {"l": login}
    )
    secret = muster.app.credentials.login_secret(login) if row else None
    stored = secret.password_hash if secret else _DUMMY_HASH
    ok = verify_password(password, stored)
    if row is None or secret is None or not ok:
        return None
    if needs_rehash(stored):
        muster.app.credentials.rehash_password(login, stored, hash_password(password))
    return Principal(
        row["login"], row["role"], row["scope"], row["employee_no"], secret.token_version
    )


def check_login(muster: Muster, login: str, password: str, code: str) -> Principal | None:
    """Password, then the two-factor code once the login enrolled (a code is used up). A
    login whose role must enrol and has not gets an `enrolling` principal. Worker thread."""
    principal = check_password(muster, login, password)
    if principal is None:
        return None
    secret = muster.app.credentials.login_secret(login)
    if secret is not None and secret.totp_enrolled:
        return principal if two_factor.accept(muster.app.credentials, secret, code) else None
    if principal.role in muster.settings.two_factor_roles:
        return replace(principal, enrolling=True)
    return principal


def bearer(connection: ASGIConnection) -> str | None:  # type: ignore[type-arg]
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def presented_token(connection: ASGIConnection) -> str | None:  # type: ignore[type-arg]
    """A user token: `Bearer` header first, then the session cookie."""
    token = bearer(connection) or connection.cookies.get(COOKIE)
    return token if token and token.startswith("mut_") else None


async def authenticate(connection: ASGIConnection, token: str | None = None) -> Principal | None:  # type: ignore[type-arg]
    """The person behind a request (or `token`), if their token is valid and current."""
    muster: Muster = connection.app.state.muster
    token = token or presented_token(connection)
    principal = read_token(muster.secret, token) if token else None
    if principal is None:
        return None
    if await muster.app.credentials.token_version(principal.login) != principal.version:
        return None
    return principal


def authentication_middleware(app: ASGIApp) -> ASGIApp:
    """Checks the presented login token once per request (a websocket may also bring it as
    `?token=`), before any handler or guard runs: `principal_of` then reads the result."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            connection: ASGIConnection = ASGIConnection(scope)  # type: ignore[type-arg]
            token = presented_token(connection)
            if token is None and scope["type"] == "websocket":
                token = connection.query_params.get("token")
            principal = await authenticate(connection, token) if token else None
            if principal is not None and principal.enrolling:
                path = scope.get("path", "")
                principal = principal if path.startswith(ENROLLING_PATHS) else None
            scope.setdefault("state", {})[_STATE_KEY] = principal  # type: ignore[typeddict-unknown-key]
            client = scope.get("client")
            address = f"ip:{client[0]}" if client else "ip:-"
            role = principal.role if principal else ("device" if token_kind(scope) else "anonymous")
            ACTING.set(Acting(role, address))
        await app(scope, receive, send)

    return middleware


def token_kind(scope: Scope) -> bool:
    """Whether the request brings a device token."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            return b"mdt_" in bytes(value)
    return False


def principal_of(connection: ASGIConnection, secret: bytes | None = None) -> Principal | None:  # type: ignore[type-arg]
    """The logged-in person behind a request (checked by `authentication_middleware`)."""
    found = connection.scope.get("state", {}).get(_STATE_KEY)
    return found if isinstance(found, Principal) else None


def require_principal(connection: ASGIConnection, secret: bytes | None = None) -> Principal:  # type: ignore[type-arg]
    """The logged-in person, or a 401 problem."""
    principal = principal_of(connection)
    if principal is None:
        raise Problem(401, "login-required", "problem.login_required")
    return principal
