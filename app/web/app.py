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
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from app.bootstrap import Muster
from app.domain.errors import Refusal
from app.projections import queries
from app.streams.changes import bus_publisher, change_publisher
from app.web.alerts import alert_handlers
from app.web.api import api_handlers
from app.web.auth import principal_of
from app.web.checkins import checkin_handlers
from app.web.common import PROBLEM_JSON, lang_of, muster_of, problem_response
from app.web.faces_api import face_handlers
from app.web.hub import Client, LiveHub
from app.web.imports_api import import_handlers
from app.web.kiosk import kiosk_handlers
from app.web.pages import page_exception_handlers, page_handlers
from app.web.planning_api import planning_handlers
from app.web.problems import Problem, problem_of
from app.web.room_qr import room_qr_handlers

log = structlog.get_logger(__name__)
STATIC = Path(__file__).parent / "static"


def _problem_handler(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return problem_response(exc, lang_of(request))


def _refusal_handler(request: Request[Any, Any, Any], exc: Refusal) -> Response[Any]:
    return problem_response(problem_of(exc), lang_of(request))


def _validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """A typed body or query that does not fit: 422 with what did not fit."""
    errors = exc.extra if isinstance(exc.extra, list) else [exc.detail]
    from_body = any(isinstance(e, dict) and e.get("source") == "body" for e in errors)
    slug = "invalid-body" if from_body else "invalid-query"
    problem = Problem(422, slug, "problem.invalid_body", errors=errors)
    return problem_response(problem, lang_of(request))


def _client_exception_handler(
    request: Request[Any, Any, Any], exc: ClientException
) -> Response[Any]:
    if exc.status_code == 400 and str(exc.detail).startswith("JSON is malformed"):
        problem = Problem(400, "invalid-json", "problem.invalid_body", errors=[exc.detail])
        return problem_response(problem, lang_of(request))
    return _http_exception_handler(request, exc)


def _too_deep_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    # msgspec gives up on absurdly nested JSON with a RecursionError while decoding a body
    problem = Problem(400, "invalid-json", "problem.invalid_body", errors=["nested too deeply"])
    return problem_response(problem, lang_of(request))


def _http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
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


@websocket("/ws/live")
async def live_socket(socket: WebSocket[Any, Any, Any]) -> None:
    muster = muster_of(socket)
    hub: LiveHub = socket.app.state.hub
    if not _origin_allowed(socket, muster.settings.allowed_origins):
        await socket.close(code=4403, reason="origin not allowed")
        return
    principal = principal_of(socket, muster.secret)
    token = socket.query_params.get("token")
    if principal is None and token:
        from app.web.auth import read_token

        principal = read_token(muster.secret, token)
    if principal is None:
        await socket.close(code=4401, reason="login required")
        return
    scope = socket.query_params.get("scope", "")
    if scope == "inbox":  # the caller's own alerts, on every page they have open
        await socket.accept()
        inbox = Client(
            socket=socket,
            scope=scope,
            fmt=socket.query_params.get("format", "html"),
            lang=lang_of(socket),
            visible=frozenset(),
            login=principal.login,
        )
        with suppress(WebSocketDisconnect):
            await hub.serve(inbox)
        return
    kind, _, key = scope.partition(":")
    user_scope = await queries.scope_of(muster.store, principal.scope)
    plant = key if kind == "plant" else None
    if kind == "session":
        found = await queries.session_plant(muster.store, [key])
        plant = found.get(key)
    visible = (
        await queries.visible_plants(muster.store, user_scope)
        if user_scope is not None
        else frozenset[str]()
    )
    if kind not in ("plant", "session") or plant not in visible:
        await socket.close(code=4403, reason="scope not allowed")
        return
    await socket.accept()
    client = Client(
        socket=socket,
        scope=scope,
        fmt=socket.query_params.get("format", "html"),
        lang=lang_of(socket),
        visible=visible,
        login=principal.login,
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
        if run_projections:
            muster.runner.on_change = change_publisher(
                muster.bus, asyncio.get_running_loop(), muster.live_subject
            )
            muster.runner.start()
            muster.start_alerts(bus_publisher(muster.bus, asyncio.get_running_loop()))
        backlog = None
        if muster.settings.vision_processes > 0:
            # analyses a restart interrupted (the upload path starts the rest at once)
            backlog = asyncio.create_task(muster.photos.watch_backlog(every_s=60, older_than_s=120))
        try:
            yield
        finally:
            if backlog is not None:
                backlog.cancel()
                with suppress(asyncio.CancelledError):
                    await backlog
            muster.runner.on_change = None
            if run_projections:
                muster.stop_alerts()
                muster.runner.stop()
            await hub.stop()
            await muster.bus.close()
            await muster.store.close_async()

    app = Litestar(
        route_handlers=[
            *api_handlers,
            *checkin_handlers,
            *import_handlers,
            *planning_handlers,
            *alert_handlers,
            *page_handlers,
            *room_qr_handlers,
            *face_handlers,
            *kiosk_handlers,
            live_socket,
            create_static_files_router(path="/static", directories=[STATIC]),
        ],
        lifespan=[lifespan],
        exception_handlers={
            Problem: _problem_handler,
            Refusal: _refusal_handler,
            ValidationException: _validation_handler,
            ClientException: _client_exception_handler,
            RecursionError: _too_deep_handler,
            HTTPException: _http_exception_handler,
            Exception: _internal_error_handler,
            **page_exception_handlers,
        },
        request_max_body_size=16 * 1024 * 1024,
        openapi_config=OpenAPIConfig(
            title="Muster", version="1", path="/schema", render_plugins=[]
        ),
    )
    app.state.muster = muster
    app.state.hub = hub
    return app
