"""The check-in places: the room kiosk (`/kiosk`, a registered tablet) and the phone page
(`/m`, an employee's own login). Both pages are shells: their scripts call the JSON API with
the device's or the person's token, and keep working offline (a service worker serves the
shell, IndexedDB holds what waits to be sent)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get, post

from app.domain.qr import qr_key, typed_code
from app.domain.qr import time_step as qr_step
from app.projections import checkin_points
from app.web.auth import bearer, require_principal
from app.web.common import decode_json, json_response, lang_of, muster_of
from app.web.i18n import CATALOG
from app.web.problems import Problem
from app.web.render import plant_time, render

STATIC = Path(__file__).parent / "static"
#: message keys the kiosk and phone scripts show (sent with the page, in its language)
SCRIPT_TEXT_PREFIXES = ("kiosk.", "phone.", "checkin.", "reject.", "photo.", "face.")


class RosterLine(msgspec.Struct):
    employee_no: str
    name: str
    status: str
    on_roster: bool


class KioskSession(msgspec.Struct):
    id: str
    title: str
    room: str
    trainer: str
    starts_at: str
    ends_at: str
    expected: int
    checked_in: int


class ComingUp(msgspec.Struct):
    """A session planned later in the kiosk's room, `when` in the plant's clock."""

    id: str
    title: str
    trainer: str
    starts_at: str
    ends_at: str
    when: str
    expected: int


class PhotoPolicy(msgspec.Struct):
    """When the kiosk takes room photos: at the first check-in, then every so often."""

    every_minutes: int
    every_checkins: int


class KioskState(msgspec.Struct):
    """`GET /api/v1/kiosk`: what the room's tablet shows."""

    device: str
    room: str
    plant: str
    session: KioskSession | None
    roster: list[RosterLine]
    photo_policy: PhotoPolicy
    server_time: str
    #: the room's next sessions (at most five)
    upcoming: list[ComingUp] = []


class CodeRequest(msgspec.Struct):
    code: str


class CodeSession(msgspec.Struct):
    """The session a typed 6-digit room code belongs to."""

    session_id: str
    title: str
    room: str


def _warm_face_engine(request: Request[Any, Any, Any]) -> None:
    """Load the face models in the background once a kiosk is up, so its first face
    check-in does not wait for them."""
    state = request.app.state
    if not getattr(state, "face_engine_warming", False):
        state.face_engine_warming = True
        task = asyncio.get_running_loop().run_in_executor(None, muster_of(request).faces.engine)
        state.face_engine_task = task


@get("/api/v1/kiosk")
async def get_kiosk_state(request: Request[Any, Any, Any]) -> Response[Any]:
    """The device's room: its current session with the live count and the roster."""
    muster = muster_of(request)
    device = await asyncio.to_thread(muster.checkins.authenticate_device, bearer(request))
    _warm_face_engine(request)
    now = datetime.now(UTC)
    row = await checkin_points.room_session(
        muster.store, device.plant, device.room, now, muster.policy
    )
    session = None
    lines: list[RosterLine] = []
    if row is not None:
        session = msgspec.convert(row, KioskSession, from_attributes=False, strict=False)
        lines = [
            RosterLine(r["employee_no"], r["name"], r["status"], bool(r["on_roster"]))
            for r in await checkin_points.roster(muster.store, row["id"])
        ]
    upcoming = [
        _coming_up(r, muster.settings.plant_tz)
        for r in await checkin_points.coming_up(muster.store, device.plant, device.room, now)
        if session is None or r["id"] != session.id
    ]
    schedule = muster.evidence(device.plant)
    state = KioskState(
        device=device.name,
        room=device.room,
        plant=device.plant,
        session=session,
        roster=lines,
        photo_policy=PhotoPolicy(schedule.photo_every_minutes, schedule.photo_every_checkins),
        server_time=now.isoformat(),
        upcoming=upcoming,
    )
    return json_response(state)


def _coming_up(row: dict[str, Any], tz: tzinfo) -> ComingUp:
    starts, ends = plant_time(row["starts_at"], tz), plant_time(row["ends_at"], tz)
    return ComingUp(
        id=row["id"],
        title=row["title"],
        trainer=row["trainer"],
        starts_at=starts.isoformat(),
        ends_at=ends.isoformat(),
        when=f"{starts:%m-%d %H:%M}–{ends:%H:%M}",
        expected=row["expected"],
    )


@post("/api/v1/qr-codes/resolve", status_code=200)
async def resolve_typed_code(request: Request[Any, Any, Any]) -> Response[Any]:
    """Which open session a typed 6-digit room code belongs to (for a logged-in person whose
    phone cannot scan). The code itself is checked again at check-in."""
    muster = muster_of(request)
    require_principal(request, muster.secret)
    try:
        body = msgspec.convert(await decode_json(request, 4096), CodeRequest)
    except msgspec.ValidationError as exc:
        raise Problem(422, "invalid-body", "problem.invalid_body", errors=[str(exc)]) from exc
    code = body.code.strip().replace(" ", "")
    now = datetime.now(UTC)
    key = qr_key(muster.secret)
    step = qr_step(now)
    for session in await checkin_points.open_sessions(muster.store, now, muster.policy):
        if code in (typed_code(key, session["id"], s) for s in (step, step - 1)):
            return json_response(CodeSession(session["id"], session["title"], session["room"]))
    raise Problem(404, "qr-code-unknown", "problem.qr_code_unknown")


class MeReply(msgspec.Struct):
    """`GET /api/v1/me/employee`: who an employee login is."""

    employee_id: str
    name: str


def employee_of_principal(request: Request[Any, Any, Any]) -> str:
    """The employee an employee login acts as; any other login is refused."""
    principal = require_principal(request, muster_of(request).secret)
    employee_no = getattr(principal, "employee_no", None)
    if not employee_no:
        raise Problem(403, "not-an-employee", "problem.not_an_employee")
    return str(employee_no)


@get("/api/v1/me/employee")
async def get_me_employee(request: Request[Any, Any, Any]) -> Response[Any]:
    """The logged-in employee's number and name (the phone page shows it)."""
    employee_no = employee_of_principal(request)
    row = await muster_of(request).store.afetch_one(
        "SELECT employee_no, name FROM employees WHERE employee_no = :no", {"no": employee_no}
    )
    if row is None:
        raise Problem(404, "unknown-employee", "reject.unknown_employee")
    return json_response(MeReply(row["employee_no"], row["name"]))


def _script_text(lang: str) -> dict[str, str]:
    catalog = CATALOG.get(lang, CATALOG["zh-CN"])
    return {k: v for k, v in catalog.items() if k.startswith(SCRIPT_TEXT_PREFIXES)}


def _page(template: str, request: Request[Any, Any, Any]) -> Response[Any]:
    lang = lang_of(request)
    text = msgspec.json.encode(_script_text(lang)).decode()
    page = render(f"{template}.html", lang, script_text=text, page=template)
    response: Response[Any] = Response(page, media_type="text/html")
    if request.query_params.get("lang"):
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@get("/kiosk")
async def kiosk_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The room tablet: face, badge and manual check-in, room photos, offline queue."""
    return _page("kiosk", request)


@get("/m")
async def phone_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The employee's phone: log in, scan the room QR (or type its code), check in."""
    return _page("phone", request)


@get("/sw.js")
async def service_worker() -> Response[Any]:
    """The service worker, served from the root so it may serve `/kiosk` and `/m` offline."""
    body = await asyncio.to_thread((STATIC / "checkin" / "sw.js").read_bytes)
    return Response(
        body,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )


kiosk_handlers = [
    get_kiosk_state,
    resolve_typed_code,
    get_me_employee,
    kiosk_page,
    phone_page,
    service_worker,
]
