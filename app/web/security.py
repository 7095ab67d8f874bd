"""Headers on every response (a Content-Security-Policy without inline scripts, no sniffing,
no framing, a Referrer-Policy, HSTS under TLS) and cross-site form posts refused.

Cross-site posts are recognised by the browser's `Origin` (or `Referer`) header: a form on
another site cannot post `/login` or any page form with a logged-in person's cookie. Scripts
and devices send no `Origin` and authenticate with a `Bearer` token, which no site can forge.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def cross_site(scope: Scope, allowed: list[str]) -> bool:
    """Whether an unsafe request was sent by a page of another site."""
    source = _header(scope, b"origin") or _header(scope, b"referer")
    if not source:
        return False
    if source == "null":  # an opaque origin: a sandboxed frame or a file on another site
        return True
    parts = urlsplit(source)
    origin = f"{parts.scheme}://{parts.netloc}"
    return parts.netloc != (_header(scope, b"host") or "") and origin not in allowed


def _is_form_post(scope: Scope) -> bool:
    cookies = _header(scope, b"cookie") or ""
    return "muster_session=" in cookies or scope.get("path") == "/login"


async def security_headers(message: Message, scope: Scope) -> None:
    """Every response's headers (a `before_send` hook: 404s and errors get them too)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name] = value
    if scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = HSTS


def csrf_middleware(app: ASGIApp) -> ASGIApp:
    """Refuses unsafe requests a page of another site sent with the session cookie, and
    logins posted from another site."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") in UNSAFE_METHODS
            and _is_form_post(scope)
            and cross_site(scope, scope["app"].state.muster.settings.allowed_origins)
        ):
            body = {
                "type": "https://muster.dev/problems/cross-site-request",
                "title": "cross-site request refused",
                "status": 403,
                "detail": "The request came from another site and was refused",
            }
            start: Message = {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"application/problem+json")],
            }
            await send(start)
            await send({"type": "http.response.body", "body": msgspec.json.encode(body)})
            return
        await app(scope, receive, send)

    return middleware
