"""Headers on every response (a Content-Security-Policy without inline scripts, no sniffing,
no framing, a Referrer-Policy, HSTS under TLS) and forged form posts refused.

Two checks guard every unsafe request that rides on the session cookie. A page of another site
is recognised by the browser's `Origin` (or `Referer`) header. A request that names no origin
at all must carry the form token: an HMAC of the session cookie that the pages put in every
form (`_csrf_token`) and in htmx's headers (`X-CSRFToken`, litestar's names), which no other
site can read. Only what a page of another site can make a browser send without asking first
needs it: a `POST` of a form or plain text (CORS "simple" requests). A JSON body, `PUT`, `PATCH`
or `DELETE` from another site needs a CORS preflight, which Muster never grants. Scripts and
devices authenticate with a `Bearer` token, which no site can forge, and need neither; `/login`
and `POST /api/v1/auth/token` bring their own credentials.
"""

from __future__ import annotations

import hashlib
import hmac
from contextvars import ContextVar
from urllib.parse import urlsplit

import msgspec
from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.web.i18n import pick_lang
from app.web.problems import Problem, problem_body

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
SESSION_COOKIE = "muster_session"
#: where the form token travels (litestar's CSRF names: a header for htmx, a field for forms)
TOKEN_HEADER = b"x-csrftoken"
TOKEN_FIELD = "_csrf_token"
#: posts that log in with their own credentials: no session to forge a request with
CREDENTIAL_POSTS = frozenset({"/login", "/api/v1/auth/token"})
_FORMS = frozenset({RequestEncodingType.URL_ENCODED, RequestEncodingType.MULTI_PART})
#: the bodies a page of another site can post without a CORS preflight ("" = no body type)
_SIMPLE_BODIES = frozenset({*_FORMS, "text/plain", ""})

#: the form token of the request being handled ("" without a session), for the templates
FORM_TOKEN: ContextVar[str] = ContextVar("form_token", default="")


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (the first, if repeated)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def session_cookie(scope: Scope) -> str | None:
    """The session cookie's value, if the request brings one."""
    for part in (header(scope, b"cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value
    return None


def form_token(secret: bytes, session: str) -> str:
    """The token a session's forms carry: bound to that session, useless with another."""
    return hmac.new(secret, b"form-token:" + session.encode(), hashlib.sha256).hexdigest()


def cross_site(scope: Scope, allowed: list[str]) -> bool:
    """Whether an unsafe request was sent by a page of another site."""
    source = header(scope, b"origin") or header(scope, b"referer")
    if not source:
        return False
    if source == "null":  # an opaque origin: a sandboxed frame or a file on another site
        return True
    parts = urlsplit(source)
    origin = f"{parts.scheme}://{parts.netloc}"
    return parts.netloc != (header(scope, b"host") or "") and origin not in allowed


def _by_cookie(scope: Scope) -> bool:
    """Whether the session cookie is what authenticates the request: a `Bearer` header
    (which no other site can make a browser send) takes precedence over it."""
    scheme = (header(scope, b"authorization") or "").partition(" ")[0]
    logging_in = scope.get("method") == "POST" and scope.get("path") in CREDENTIAL_POSTS
    return scheme.lower() != "bearer" and not logging_in


def _forgeable(scope: Scope) -> bool:
    """Whether another site's page could make a browser send this request without a CORS
    preflight: a `POST` with a form, plain text or no body type."""
    media = (header(scope, b"content-type") or "").partition(";")[0].strip().lower()
    return scope.get("method") == "POST" and media in _SIMPLE_BODIES


async def _presented_token(scope: Scope, receive: Receive) -> str:
    sent = header(scope, TOKEN_HEADER)
    if sent:
        return sent
    request: Request[object, object, object] = Request(scope, receive)
    if request.content_type[0] not in _FORMS:
        return ""
    # parsed once: litestar keeps the form in the scope for the handler
    field = (await request.form()).get(TOKEN_FIELD)
    return field if isinstance(field, str) else ""


async def security_headers(message: Message, scope: Scope) -> None:
    """Every response's headers (a `before_send` hook: 404s and errors get them too)."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name] = value
    if scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = HSTS


async def _refuse(scope: Scope, send: Send, problem: Problem) -> None:
    default = scope["app"].state.muster.settings.default_lang
    lang = pick_lang(header(scope, b"accept-language"), default)
    start: Message = {
        "type": "http.response.start",
        "status": problem.status,
        "headers": [(b"content-type", b"application/problem+json")],
    }
    await send(start)
    body = msgspec.json.encode(problem_body(problem, lang))
    await send({"type": "http.response.body", "body": body})


def csrf_middleware(app: ASGIApp) -> ASGIApp:
    """Refuses unsafe requests a page of another site sent with the session cookie, logins
    posted from another site, and cookie requests without their session's form token."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        muster = scope["app"].state.muster
        session = session_cookie(scope)
        expected = form_token(muster.secret, session) if session else ""
        FORM_TOKEN.set(expected)
        if scope.get("method") in UNSAFE_METHODS:
            if (session or scope.get("path") == "/login") and cross_site(
                scope, muster.settings.allowed_origins
            ):
                problem = Problem(403, "cross-site-request", "problem.cross_site_request")
                await _refuse(scope, send, problem)
                return
            if session and _by_cookie(scope) and _forgeable(scope):
                sent = await _presented_token(scope, receive)
                if not hmac.compare_digest(sent.encode(), expected.encode()):
                    await _refuse(scope, send, Problem(403, "form-token", "problem.form_token"))
                    return
        await app(scope, receive, send)

    return middleware
