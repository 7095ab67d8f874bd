"""The rate-limit middleware: a request over its device's, login's or address's limit is
answered `429` with `Retry-After` before any handler runs (`app.services.rate_limits`)."""

from __future__ import annotations

import hashlib

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.web.i18n import pick_lang
from app.web.problems import Problem, problem_body


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


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
        for part in _header(scope, b"cookie").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "muster_session":
                token = value
    return address, None, _digest(token) if token else None


LOOPBACK = frozenset({"127.0.0.1", "::1"})


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    """Refuses requests over their limits with `429` and `Retry-After`."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            muster = scope["app"].state.muster
            address, device, login = _callers(scope)
            if address in LOOPBACK and not muster.settings.rate_limit_loopback:
                address = ""  # the host itself: its device and login limits still hold
            wait = muster.rate_limits.retry_after(address, device, login)
            if wait is not None:
                lang = pick_lang(_header(scope, b"accept-language"), muster.settings.default_lang)
                problem = Problem(429, "rate-limited", "problem.rate_limited", retry_after=wait)
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
