"""The JSON API of the contract: device check-ins, login tokens, reads for staff."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath

from app.audit.log import scoped_events
from app.domain.access import Role
from app.domain.errors import ImageUnusable
from app.projections import queries
from app.projections.visibility import Viewer, viewer_of
from app.services.photos import PhotoUpload
from app.web.auth import bearer, require_principal
from app.web.checkins import phone_caller
from app.web.common import (
    MAX_BIGINT,
    json_response,
    lang_of,
    muster_of,
    parse_instant,
    query_int,
)
from app.web.i18n import t
from app.web.problems import Problem, problem_of
from vision.messages import message as vision_message

ONE_MB = 1024 * 1024


@post("/api/v1/photos", status_code=201)
async def post_photo(request: Request[Any, Any, Any]) -> Response[Any]:
    """A site photo (room or selfie) from a device: multipart `file` plus form fields."""
    muster = muster_of(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(
            415,
            "invalid-body",
            "problem.invalid_body",
            errors=["send multipart/form-data with a file part"],
        )
    try:
        form = await request.form()
    except RequestEntityTooLarge:
        raise
    except Exception as exc:  # a broken multipart body is the client's problem, not a 500
        raise Problem(400, "invalid-body", "problem.invalid_body", errors=[str(exc)[:200]]) from exc
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Problem(
            422, "invalid-body", "problem.invalid_body", errors=["a `file` part is required"]
        )
    device_time = None
    if raw_time := form.get("device_time"):
        device_time = _parse_time(str(raw_time), datetime.now(UTC))
    photo = PhotoUpload(
        data=await upload.read(),
        session_id=str(form.get("session_id", "")),
        kind=str(form.get("kind", "")),
        client_event_id=str(form.get("client_event_id", "")),
        device_time=device_time,
    )
    lang = lang_of(request)
    try:
        stored = await muster.photos.upload(bearer(request), photo, phone_caller(request))
    except ImageUnusable as unusable:  # the reason in words too: the tablet shows it
        reason = unusable.facts["reason"]
        problem = problem_of(unusable)
        problem.extra["reason_text"] = vision_message(reason, lang)
        raise problem from unusable
    receipt = {
        "photo_id": stored.photo_id,
        "exif_time": stored.exif_time,
        "status": "stored",
        "message": t("photo.stored", lang),
    }
    return json_response(receipt, 201)


@get("/photos/{photo_id:str}")
async def get_photo(request: Request[Any, Any, Any], photo_id: FromPath[str]) -> Response[Any]:
    """The original photo, for staff who may see its session; `410` once it was deleted after
    the retention period (its facts and analysis stay: `GET /api/v1/photos/{photo_id}`)."""
    muster = muster_of(request)
    viewer = await _viewer(request)
    row = await muster.store.afetch_one(
        "SELECT p.photo_id, s.plant, x.purged_at FROM photos p "
        "JOIN sessions s ON s.id = p.session_id "
        "LEFT JOIN photo_purges x ON x.photo_id = p.photo_id WHERE p.photo_id = :id",
        {"id": photo_id},
    )
    if row is None:
        raise Problem(404, "unknown-photo", "problem.unknown_photo", photo_id=photo_id)
    if row["plant"] not in viewer.plants:
        raise Problem(403, "forbidden", "problem.forbidden")
    try:
        data = await asyncio.to_thread(muster.photos.files.read, photo_id)
    except FileNotFoundError:
        # deleted after the retention period (or about to be recorded as such)
        raise Problem(
            410, "photo-purged", "photo.purged", photo_id=photo_id, purged_at=row["purged_at"]
        ) from None
    media = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=86400"})


def _parse_time(value: str | None, default: datetime, name: str = "time") -> datetime:
    return parse_instant(value, default, name)


async def _viewer(request: Request[Any, Any, Any]) -> Viewer:
    muster = muster_of(request)
    principal = require_principal(request)
    viewer = await viewer_of(muster.store, principal.scope, principal.employee_no)
    if viewer is None:
        raise Problem(403, "forbidden", "problem.forbidden")
    return viewer


@get("/api/v1/sessions")
async def get_sessions(request: Request[Any, Any, Any]) -> Response[Any]:
    muster = muster_of(request)
    scope = (await _viewer(request)).scope
    if code := request.query_params.get("code"):  # a session by its plant's own code
        return json_response({"sessions": await queries.session_by_code(muster.store, scope, code)})
    # by default the plant's day (its midnight to the next), not the UTC day (08:00 to 08:00)
    now = muster.adapters.clock().astimezone(muster.settings.plant_tz)
    start = _parse_time(
        request.query_params.get("from"),
        now.replace(hour=0, minute=0, second=0, microsecond=0),
        "from",
    )
    end = _parse_time(request.query_params.get("to"), start + timedelta(days=1), "to")
    org = None
    if code := request.query_params.get("org"):
        org = await queries.scope_of(muster.store, code)
        # Any org unit narrows the list to its plants, but only inside the caller's subtree.
        if org is None or not (org.path.startswith(scope.path) or scope.path.startswith(org.path)):
            raise Problem(403, "forbidden", "problem.forbidden")
    sessions = await queries.sessions_between(muster.store, scope, start, end, org)
    return json_response({"sessions": sessions})


@get("/api/v1/sessions/{session_id:str}/attendance")
async def get_attendance(
    request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Response[Any]:
    muster = muster_of(request)
    viewer = await _viewer(request)
    detail = await queries.session_detail(
        muster.store, session_id, datetime.now(UTC), muster.policy, muster.settings.dept_alert_rate
    )
    if detail is None:
        raise Problem(404, "unknown-session", "problem.unknown_session", session_id=session_id)
    if detail.plant not in viewer.plants:
        raise Problem(403, "forbidden", "problem.forbidden")
    return json_response(detail.seen_from(viewer.plants, viewer.people))


@get("/api/v1/photos/{photo_id:str}")
async def get_photo_evidence(
    request: Request[Any, Any, Any], photo_id: FromPath[str]
) -> Response[Any]:
    """A photo as evidence: facts, the sessions it was uploaded to and the photos it looks like
    (inside the caller's scope), and its analysis with every face's box (``null`` until
    analysed)."""
    muster = muster_of(request)
    visible = (await _viewer(request)).plants
    photo = await queries.photo_evidence(muster.store, photo_id, visible)
    if photo is None:
        raise Problem(404, "unknown-photo", "problem.unknown_photo", photo_id=photo_id)
    if photo["plant"] not in visible:
        raise Problem(403, "forbidden", "problem.forbidden")
    return json_response(photo)


@get("/api/v1/events")
async def get_events(request: Request[Any, Any, Any]) -> Response[Any]:
    """The event log in order, for auditors and admins: only events inside their subtree,
    and never a secret (password, token or two-factor)."""
    muster = muster_of(request)
    principal = require_principal(request)
    if principal.role not in (Role.AUDITOR, Role.ADMIN):
        raise Problem(403, "forbidden", "problem.forbidden")
    viewer = await _viewer(request)
    after = query_int(request, "after", 0, high=MAX_BIGINT - 1)  # reads from after + 1
    limit = min(query_int(request, "limit", 100, low=1), 1000)
    events = await asyncio.to_thread(
        scoped_events, muster.app, muster.store, viewer.scope.path, after, limit
    )
    return json_response({"events": events, "next_after": events[-1]["id"] if events else after})


api_handlers = [
    post_photo,
    get_photo,
    get_sessions,
    get_attendance,
    get_photo_evidence,
    get_events,
]
