"""The rotating room QR: the token for the room's own device or staff of the session's plant,
and the room screen that shows it (an SVG made on the server, refreshed every few seconds)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import msgspec
import segno
from litestar import Request, Response, get
from litestar.params import FromPath

from app.domain.qr import RoomQr, qr_key, room_qr
from app.domain.rooms import same_room
from app.projections import queries
from app.services.devices import DeviceIdentity
from app.web.auth import bearer, principal_of
from app.web.common import lang_of, login_redirect, muster_of
from app.web.problems import Problem
from app.web.render import render

#: roles that may show a room's QR (an employee must be in the room to see it)
EMPLOYEE_ROLE = "employee"


class QrReply(msgspec.Struct):
    """`GET /api/v1/sessions/{id}/qr`: what the QR encodes, and until when it is accepted."""

    qr_token: str
    expires_at: str
    #: the 6-digit code typed by phones without a working camera (extension)
    code: str


async def _session(request: Request[Any, Any, Any], session_id: str) -> dict[str, Any]:
    muster = muster_of(request)
    session = await muster.store.afetch_one(
        "SELECT id, plant, room, title, starts_at, ends_at, status FROM sessions WHERE id = :id",
        {"id": session_id},
    )
    if session is None:
        raise Problem(404, "unknown-session", "problem.unknown_session", session_id=session_id)
    return session


async def may_show_qr(request: Request[Any, Any, Any], session: dict[str, Any]) -> bool:
    """The room's own device, or staff (never an employee login) whose scope holds the
    session's plant. A device of another room is refused even in the same plant."""
    muster = muster_of(request)
    token = bearer(request)
    if token and token.startswith("mdt_"):
        device: DeviceIdentity = await _device(request, token)
        if not same_room(device.plant, device.room, session["plant"], session["room"]):
            raise Problem(403, "device-other-room", "problem.device_other_room")
        return True
    principal = principal_of(request, muster.secret)
    if principal is None:
        return False
    if principal.role == EMPLOYEE_ROLE:
        raise Problem(403, "forbidden", "problem.forbidden")
    scope = await queries.scope_of(muster.store, principal.scope)
    if scope is None or not await queries.plant_visible(muster.store, scope, session["plant"]):
        raise Problem(403, "forbidden", "problem.forbidden")
    return True


async def _device(request: Request[Any, Any, Any], token: str) -> DeviceIdentity:
    return await asyncio.to_thread(muster_of(request).checkins.authenticate_device, token)


def current_qr(request: Request[Any, Any, Any], session_id: str) -> RoomQr:
    muster = muster_of(request)
    return room_qr(qr_key(muster.secret), session_id, datetime.now(UTC))


@get("/api/v1/sessions/{session_id:str}/qr")
async def get_session_qr(
    request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Response[Any]:
    """The QR the room screen shows now for this session."""
    session = await _session(request, session_id)
    if not await may_show_qr(request, session):
        raise Problem(401, "login-required", "problem.login_required")
    shown = current_qr(request, session["id"])
    reply = QrReply(shown.token, shown.expires_at.isoformat(), shown.code)
    return Response(
        msgspec.json.encode(reply),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def qr_svg(token: str) -> str:
    """The QR as inline SVG (no script, no external file)."""
    return str(segno.make_qr(token, error="m").svg_inline(scale=10, border=2, dark="#020617"))


@get("/sessions/{session_id:str}/qr")
async def session_qr_page(
    request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Response[Any]:
    """The room screen: the session's QR, its 6-digit code and the live count; htmx fetches
    the fragment again every few seconds (`?fragment=1`)."""
    lang = lang_of(request)
    session = await _session(request, session_id)
    if principal_of(request, muster_of(request).secret) is None:
        return login_redirect(f"/sessions/{session_id}/qr")
    await may_show_qr(request, session)
    shown = current_qr(request, session["id"])
    counts = await muster_of(request).store.afetch_one(
        "SELECT expected, checked_in FROM sessions WHERE id = :id", {"id": session["id"]}
    )
    context = {"session": session, "qr": shown, "svg": qr_svg(shown.token), "counts": counts}
    template = "_room_qr.html" if request.query_params.get("fragment") else "room_qr.html"
    return Response(
        render(template, lang, tz=muster_of(request).settings.plant_tz, **context),
        media_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


room_qr_handlers = [get_session_qr, session_qr_page]
