"""The Litestar app factory: API, pages, websocket, static files, problem details."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from litestar import Litestar, Request, Response, WebSocket, websocket
from litestar.exceptions import (
    ClientException,
    HTTPException,
    ValidationException,
    WebSocketDisconnect,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from app.bootstrap import Muster
from app.domain.errors import Refusal
from app.projections import queries
from app.projections.visibility import Viewer, viewer_of
from app.stores.commit import Overloaded, WriteUnavailable
from app.web.alerts import alert_handlers
from app.web.anomalies_api import anomaly_handlers
from app.web.api import api_handlers
from app.web.archive_api import archive_handlers
from app.web.audit_pages import audit_page_handlers
from app.web.auth import authentication_middleware, bearer, principal_of
from app.web.calendar import calendar_handlers
from app.web.checkins import checkin_handlers
from app.web.common import PROBLEM_JSON, lang_of, muster_of, problem_response
from app.web.compliance_api import compliance_handlers
from app.web.effect_api import effect_handlers
from app.web.faces_api import face_handlers
from app.web.hub import Client, LiveHub
from app.web.imports_api import import_handlers
from app.web.kiosk import kiosk_handlers
from app.web.live_board import live_board_handlers
from app.web.login import login_handlers
from app.web.notices_api import notices_handlers
from app.web.pages import page_exception_handlers, page_handlers
from app.web.permissions import LoginFirst, live_scope_permitted, login_first, permitted
from app.web.plan_pages import plan_page_handlers
from app.web.planner import planner_handlers
from app.web.planning_api import planning_handlers
from app.web.problems import Problem, problem_of
from app.web.rate_limits import rate_limit_middleware, unrouted_refusal
from app.web.report_builder import builder_handlers
from app.web.reports import report_handlers
from app.web.review_queue import review_handlers
from app.web.room_qr import room_qr_handlers
from app.web.security import csrf_middleware, security_headers

log = structlog.get_logger(__name__)
STATIC = Path(__file__).parent / "static"
#: uvicorn's websocket settings for this app. Live pages send every viewer of a scope the same
#: text: per-message deflate would compress it again for each connection (its compressor keeps
#: per-connection context) and hold ~45 KB of zlib state per socket, so it is off and the same
#: frame goes to all. Pages send nothing but pings and closes: no large message is buffered.
WEBSOCKETS: dict[str, Any] = {
    "ws": "websockets-sansio",
    "ws_per_message_deflate": False,
    "ws_max_size": 64 * 1024,
}


def _problem_handler(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return problem_response(exc, lang_of(request))


def _refusal_handler(request: Request[Any, Any, Any], exc: Refusal) -> Response[Any]:
    return problem_response(problem_of(exc), lang_of(request))


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A typed body or query that does not fit: 422 with what did not fit."""
    errors = exc.extra if isinstance(exc.extra, list) else [exc.detail]
    from_body = any(isinstance(e, dict) and e.get("source") == "body" for e in errors)
    slug = "invalid-body" if from_body else "invalid-query"
    words = "problem.invalid_body" if from_body else "problem.invalid_query"
    problem = Problem(422, slug, words, errors=errors)
    return problem_response(problem, lang_of(request))


def _client_exception_handler(
    request: Request[Any, Any, Any], exc: ClientException
) -> Response[Any]:
    if exc.status_code == 400 and str(exc.detail).startswith("JSON is malformed"):
        problem = Problem(400, "invalid-json", "problem.invalid_body", errors=[exc.detail])
        return problem_response(problem, lang_of(request))
    if exc.status_code == 400 and str(exc.detail).startswith("Invalid multipart"):
        # a multipart route (an import) sent JSON, a plain form or a broken body
        problem = Problem(400, "invalid-body", "problem.invalid_body", errors=[exc.detail])
        return problem_response(problem, lang_of(request))
    return _http_exception_handler(request, exc)


def _write_unavailable_handler(
    request: Request[Any, Any, Any], exc: WriteUnavailable
) -> Response[Any]:
    """Too busy (429) or the store did not answer (503): nothing acknowledged, resend
    after `Retry-After` (check-ins are idempotent)."""
    busy = isinstance(exc, Overloaded)
    problem = Problem(
        429 if busy else 503,
        "overloaded" if busy else "store-unavailable",
        "problem.overloaded" if busy else "problem.store_unavailable",
        retry_after=exc.retry_after_s,
    )
    response = problem_response(problem, lang_of(request))
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def _too_deep_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    # msgspec gives up on absurdly nested JSON with a RecursionError while decoding a body
    problem = Problem(400, "invalid-json", "problem.invalid_body", errors=["nested too deeply"])
    return problem_response(problem, lang_of(request))


def _not_utf8_handler(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[Any]:
    # msgspec raises it for invalid UTF-8 inside a JSON string of a body
    problem = Problem(400, "invalid-json", "problem.invalid_body", errors=["not UTF-8"])
    return problem_response(problem, lang_of(request))


def _too_large_handler(
    request: Request[Any, Any, Any], exc: RequestEntityTooLarge
) -> Response[Any]:
    limit = request.route_handler.resolve_request_max_body_size()
    problem = Problem(413, "body-too-large", "problem.body_too_large", max_bytes=limit)
    return problem_response(problem, lang_of(request))


def _http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    limited = unrouted_refusal(request.scope)
    if limited is not None:
        return problem_response(*limited)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": exc.detail,
        "status": exc.status_code,
        "detail": exc.detail,
    }
    if isinstance(exc.extra, dict):
        body.update(exc.extra)
    return Response(body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=exc.headers)


def _internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", path=request.url.path)
    body = {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "The server failed; nothing you sent was half-applied. Try again.",
    }
    return Response(body, status_code=500, media_type=PROBLEM_JSON)


def _origin_allowed(socket: WebSocket[Any, Any, Any], allowed: list[str]) -> bool:
    origin = socket.headers.get("origin")
    if origin is None:  # non-browser clients (scripts, devices) send no Origin
        return True
    host = socket.headers.get("host", "")
    return urlsplit(origin).netloc == host or origin in allowed


def _format(socket: WebSocket[Any, Any, Any]) -> str:
    """`?format=json|html`; without it, a client that sent an `Authorization: Bearer` header
    (a script: browsers cannot set one on a websocket) gets JSON and a page gets fragments."""
    asked = socket.query_params.get("format")
    if asked:
        return asked
    return "json" if bearer(socket) else "html"


def _since(socket: WebSocket[Any, Any, Any]) -> int | None:
    """`?since=<version>`: the last version a reconnecting client saw (anything else: none)."""
    value = socket.query_params.get("since", "")
    return int(value) if value.isdigit() else None


async def _live_scope(muster: Muster, viewer: Viewer, scope: str) -> tuple[str, Viewer] | None:
    """The plant of a live scope the viewer may follow, and what narrows its pushes; None
    when it lies outside the viewer's rights. `dept:<code>` is any org unit inside the
    viewer's subtree (a department head's own department, or one below a plant manager);
    so is `board:<code>`, the HR live board of that unit (it spans plants: no plant)."""
    kind, _, key = scope.partition(":")
    if kind == "plant" and key in viewer.plants:
        return key, viewer
    if kind == "session":
        plant = (await queries.session_plant(muster.store, [key])).get(key)
        return (plant, viewer) if plant in viewer.plants else None
    if kind == "photo":
        plant = await queries.photo_plant(muster.store, key)
        return (plant, viewer) if plant in viewer.plants else None
    if kind == "board":  # HR's live board of an org unit inside the viewer's subtree
        row = await muster.store.afetch_one(
            "SELECT code, path FROM org_units WHERE code = :k", {"k": key}
        )
        if row is None or not row["path"].startswith(viewer.scope.path):
            return None
        return "", viewer
    if kind == "dept":
        row = await muster.store.afetch_one(
            "SELECT code, plant FROM org_units WHERE code = :k OR id = :k", {"k": key}
        )
        unit = await viewer_of(muster.store, row["code"]) if row else None
        if unit is None or row is None or row["plant"] not in viewer.plants:
            return None
        if not unit.scope.path.startswith(viewer.scope.path):
            return None
        return row["plant"], Viewer(unit.scope, unit.kind, unit.plants, viewer.employee_no)
    return None


@websocket("/ws/live")
async def live_socket(socket: WebSocket[Any, Any, Any]) -> None:
    muster = muster_of(socket)
    hub: LiveHub = socket.app.state.hub
    if not _origin_allowed(socket, muster.settings.allowed_origins):
        await socket.close(code=4403, reason="origin not allowed")
        return
    principal = principal_of(socket)
    if principal is None:
        await socket.close(code=4401, reason="login required")
        return
    scope = socket.query_params.get("scope", "")
    if scope == "inbox":  # the caller's own alerts, on every page they have open
        await socket.accept()
        inbox = Client(
            socket=socket,
            scope=scope,
            fmt=_format(socket),
            lang=lang_of(socket),
            visible=frozenset(),
            login=principal.login,
            since=_since(socket),
        )
        with suppress(WebSocketDisconnect):
            await hub.serve(inbox)
        return
    viewer = await viewer_of(muster.store, principal.scope, principal.employee_no)
    allowed = None
    if viewer is not None and live_scope_permitted(principal.role, scope):
        allowed = await _live_scope(muster, viewer, scope)
    if viewer is None or allowed is None:
        await socket.close(code=4403, reason="scope not allowed")
        return
    plant, narrowed = allowed
    await socket.accept()
    client = Client(
        socket=socket,
        scope=scope,
        fmt=_format(socket),
        lang=lang_of(socket),
        visible=viewer.plants,
        viewer=narrowed,
        plant=plant,
        login=principal.login,
        since=_since(socket),
        session=socket.query_params.get("session"),
    )
    with suppress(WebSocketDisconnect):
        await hub.serve(client)


def create_app(muster: Muster, *, start_projections: bool | None = None) -> Litestar:
    """The web app over a wired system. Projections run in-process unless disabled."""
    run_projections = (
        muster.settings.run_projections if start_projections is None else start_projections
    )
    hub = LiveHub(muster)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await hub.start()
        muster.start(asyncio.get_running_loop(), projections=run_projections)
        try:
            yield
        finally:
            await asyncio.to_thread(muster.stop)
            await hub.stop()
            await muster.bus.close()
            await muster.store.close_async()

    app = Litestar(
        route_handlers=[
            *api_handlers,
            *anomaly_handlers,
            *effect_handlers,
            *report_handlers,
            *builder_handlers,
            *archive_handlers,
            *checkin_handlers,
            *import_handlers,
            *planning_handlers,
            *compliance_handlers,
            *plan_page_handlers,
            *planner_handlers,
            *calendar_handlers,
            *alert_handlers,
            *live_board_handlers,
            *review_handlers,
            *audit_page_handlers,
            *page_handlers,
            *login_handlers,
            *room_qr_handlers,
            *face_handlers,
            *kiosk_handlers,
            *notices_handlers,
            live_socket,
            create_static_files_router(path="/static", directories=[STATIC]),
        ],
        lifespan=[lifespan],
        middleware=[rate_limit_middleware, csrf_middleware, authentication_middleware],
        guards=[permitted],
        before_send=[security_headers],
        exception_handlers={
            Problem: _problem_handler,
            Refusal: _refusal_handler,
            ValidationException: _validation_handler,
            ClientException: _client_exception_handler,
            WriteUnavailable: _write_unavailable_handler,
            RecursionError: _too_deep_handler,
            UnicodeDecodeError: _not_utf8_handler,
            RequestEntityTooLarge: _too_large_handler,
            HTTPException: _http_exception_handler,
            Exception: _internal_error_handler,
            **page_exception_handlers,
            LoginFirst: login_first,
        },
        request_max_body_size=16 * 1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="Muster", version="1", path="/schema", render_plugins=[]
        ),
    )
    app.state.muster = muster
    app.state.hub = hub
    return app
