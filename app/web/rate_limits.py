"""The rate-limit middleware: a request over its device's, login's or address's limit is
answered `429` with `Retry-After` before any handler runs (`app.services.rate_limits`)."""

from __future__ import annotations

import hashlib

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.web.i18n import pick_lang
from app.web.problems import Problem, problem_body
from app.web.security import header, session_cookie


def _header(scope: Scope, name: bytes) -> str:
    return header(scope, name) or ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _callers(scope: Scope) -> tuple[str, str | None, str | None]:
    """(address, device, login) keys of a request; tokens are only digested, not checked
    (a forged token is limited like a real one)."""
    client = scope.get("client")
    address = client[0] if client else "-"
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if token.startswith("mdt_"):
        return address, _digest(token), None
    if not token:
        token = session_cookie(scope) or ""
    return address, None, _digest(token) if token else None


LOOPBACK = frozenset({"127.0.0.1", "::1"})


#: set on a request once its limits were taken, so that no request is counted twice
_COUNTED = "muster_rate_counted"


def _wait(scope: Scope) -> int | None:
    """Counts the request against its limits: None when it may go on, else `Retry-After`."""
    scope.setdefault("state", {})[_COUNTED] = True
    muster = scope["app"].state.muster
    address, device, login = _callers(scope)
    if address in LOOPBACK and not muster.settings.rate_limit_loopback:
        address = ""  # the host itself: its device and login limits still hold
    wait: int | None = muster.rate_limits.retry_after(address, device, login)
    return wait


def _refusal(scope: Scope, wait: int) -> tuple[Problem, str]:
    default = scope["app"].state.muster.settings.default_lang
    lang = pick_lang(_header(scope, b"accept-language"), default)
    return Problem(429, "rate-limited", "problem.rate_limited", retry_after=wait), lang


def unrouted_refusal(scope: Scope) -> tuple[Problem, str] | None:
    """A request no route took (a scanner's 404s and 405s never reach the middleware, which
    runs per route): counted like any other, and the 429 to answer once it is over a limit."""
    if scope.get("state", {}).get(_COUNTED):
        return None
    wait = _wait(scope)
    return None if wait is None else _refusal(scope, wait)


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    """Refuses requests over their limits with `429` and `Retry-After`."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            wait = _wait(scope)
            if wait is not None:
                problem, lang = _refusal(scope, wait)
                start: Message = {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"retry-after", str(wait).encode()),
                    ],
                }
                await send(start)
                body = msgspec.json.encode(problem_body(problem, lang))
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return middleware
