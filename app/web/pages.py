"""Server-rendered pages: login, plant wallboard, session roster, photo evidence."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect

from app.bootstrap import Muster
from app.projections import queries
from app.projections.visibility import Viewer, viewer_of
from app.stores.base import from_iso
from app.web.auth import Principal, principal_of
from app.web.common import lang_of, login_redirect, muster_of
from app.web.i18n import t
from app.web.render import plant_time, render


def _html(text: str, status: int = 200, lang: str | None = None) -> Response[str]:
    response: Response[str] = Response(text, status_code=status, media_type="text/html")
    if lang:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


class _Refused(Exception):
    """A page the caller may not see: answered by one plain page, not a login form."""

    def __init__(self, status: int, key: str) -> None:
        self.status = status
        self.key = key


async def _visible_plants(
    request: Request[Any, Any, Any],
) -> tuple[Principal, Viewer, list[dict[str, Any]]] | Redirect:
    """The logged-in person, their view, and the plants it reaches (or a login redirect)."""
    muster = muster_of(request)
    principal = principal_of(request)
    if principal is None:
        return login_redirect(request.url.path)
    viewer = await viewer_of(muster.store, principal.scope, principal.employee_no)
    plants = await queries.plants_in_scope(muster.store, viewer.scope) if viewer else []
    if viewer is None or not plants:
        raise _Refused(403, "problem.forbidden")
    return principal, viewer, plants


def _refused_page(request: Request[Any, Any, Any], exc: _Refused) -> Response[str]:
    lang = lang_of(request)
    return _html(render("refused.html", lang, message=t(exc.key, lang)), exc.status)


@get("/")
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    seen = await _visible_plants(request)
    if isinstance(seen, Redirect):
        return seen
    return Redirect(f"/plants/{seen[2][0]['code']}/wallboard")


@get("/plants/{plant:str}/wallboard")
async def wallboard(request: Request[Any, Any, Any], plant: FromPath[str]) -> Response[Any]:
    seen = await _visible_plants(request)
    if isinstance(seen, Redirect):
        return seen
    principal, viewer, plants = seen
    current = next((p for p in plants if p["code"] == plant), None)
    if current is None:
        raise _Refused(403, "problem.forbidden")
    muster = muster_of(request)
    lang = lang_of(request)
    now = datetime.now(UTC)
    board = viewer.board(
        await queries.plant_board(
            muster.store, plant, now, muster.policy, muster.settings.dept_alert_rate
        )
    )
    page = render(
        "wallboard.html",
        lang,
        tz=muster.settings.plant_tz,
        principal=principal,
        plant=current,
        plants=plants,
        board=board,
        now=now,
        oob=False,
    )
    return _html(page, lang=request.query_params.get("lang") and lang)


@get("/sessions/{session_id:str}")
async def session_page(request: Request[Any, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    seen = await _visible_plants(request)
    if isinstance(seen, Redirect):
        return seen
    principal, viewer, plants = seen
    muster = muster_of(request)
    lang = lang_of(request)
    now = datetime.now(UTC)
    detail = await queries.session_detail(
        muster.store, session_id, now, muster.policy, muster.settings.dept_alert_rate
    )
    visible = {p["code"] for p in plants}
    if detail is None or detail.plant not in visible:
        raise _Refused(404, "problem.unknown_session")
    session = detail.seen_from(visible, viewer.people)
    page = render(
        "session.html",
        lang,
        tz=muster.settings.plant_tz,
        principal=principal,
        session=session,
        now=now,
        oob=False,
    )
    return _html(page, lang=request.query_params.get("lang") and lang)


def _reading_order(faces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Faces in rows, top to bottom, and left to right in each row. Taken by height, a face
    joins the current row when its centre is within one face height of the row's mean centre
    (heads in one row sit up to ±15 px apart; rows are about two face heights apart)."""
    rows: list[list[dict[str, Any]]] = []
    for face in sorted(faces, key=lambda f: f["y"] + f["h"] / 2):
        row = rows[-1] if rows else []
        centre = sum(f["y"] + f["h"] / 2 for f in row) / len(row) if row else 0.0
        height = sum(f["h"] for f in row) / len(row) if row else 0.0
        if row and face["y"] + face["h"] / 2 - centre <= height:
            row.append(face)
        else:
            rows.append([face])
    return [face for row in rows for face in sorted(row, key=lambda f: f["x"])]


def _face_reason(face: dict[str, Any]) -> str:
    """Why a face was counted or not (``vision.headcount.Reason``). Analyses from before the
    reason was stored say only whether a face was counted and whether it was a picture."""
    if face.get("reason"):
        return str(face["reason"])
    if face.get("static"):
        return "picture"
    return "counted" if face["confirmed"] else "possible_face"


def _faces_view(analysis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The analysis' faces in reading order, numbered as drawn, each with how it is drawn
    (``front``: counted and looking at the front; ``away``: counted, not looking; ``maybe``: a
    possible face, in the range only; ``static``: a picture on the wall, in neither) and why
    (``reason``, worded by the catalogue's ``ui.face_reason.*``)."""
    if analysis is None:
        return []
    faces = []
    for face in analysis.get("faces") or []:
        x, y, w, h = face["box"]
        reason = _face_reason(face)
        if reason == "picture":
            how = "static"
        elif not face["confirmed"]:
            how = "maybe"
        else:
            how = "front" if face["attentive"] else "away"
        view = {"x": x, "y": y, "w": w, "h": h, "how": how, "reason": reason}
        faces.append({**face, "in_doubt": bool(face.get("in_doubt")), **view})
    return [{**f, "n": n} for n, f in enumerate(_reading_order(faces), start=1)]


# How long after it was stored a room photo may still be analysed by a `muster worker --vision`
# the web process cannot see: analyses take seconds; a worker that was down catches up from its
# checkpoint when it starts again.
ANALYSIS_EXPECTED_S = 600


def _awaits_analysis(photo: dict[str, Any], vision_here: bool, now: datetime) -> bool:
    """Whether a photo's evidence page should say it is being analysed: a room photo not yet
    analysed, while this process's analysis will take it, or, in scale-out (the web process
    analyses nothing), while a worker may still take it."""
    if photo["kind"] != "room" or photo["status"] != "stored":
        return False
    age = (now - from_iso(photo["stored_at"])).total_seconds()
    return vision_here or age < ANALYSIS_EXPECTED_S


async def photo_context(
    muster: Muster, photo_id: str, visible: Collection[str], wanted_session: str | None
) -> dict[str, Any] | None:
    """What the photo evidence page shows (the page and its live pushes), compared with the
    session it was opened from (``wanted_session``, else its last upload); ``None`` when the
    photo is unknown or outside ``visible``."""
    photo = await queries.photo_evidence(muster.store, photo_id, visible)
    uploads = photo["uploads_seen"] if photo is not None else []
    if photo is None or photo["plant"] not in visible or not uploads:
        return None
    session = next((u for u in uploads if u["session_id"] == wanted_session), uploads[-1])
    exif = photo["exif_time"]
    gap = None
    if exif:
        gap = round(
            (
                from_iso(session["uploaded_at"]) - plant_time(exif, muster.settings.plant_tz)
            ).total_seconds()
            / 60
        )
    now = muster.adapters.clock()
    return {
        "exif_gap_min": gap,
        "exif_has_offset": exif is not None and from_iso(exif).tzinfo is not None,
        "photo": photo,
        "uploads": uploads,
        "session": session,
        "faces": _faces_view(photo["analysis"]),
        "pending": _awaits_analysis(photo, muster.analysis is not None, now),
        "url": f"/photos/{photo_id}/evidence?session={quote(session['session_id'])}",
    }


@get("/photos/{photo_id:str}/evidence")
async def photo_page(request: Request[Any, Any, Any], photo_id: FromPath[str]) -> Response[Any]:
    """A photo as evidence: the picture with every face's box (counted or uncertain, looking
    at the front or not) and the materials found, beside its EXIF time, camera, uploads, what
    it looks like and the check-ins of the session it is for. Its analysis is pushed live."""
    seen = await _visible_plants(request)
    if isinstance(seen, Redirect):
        return seen
    principal, _, plants = seen
    visible = {p["code"] for p in plants}
    muster = muster_of(request)
    lang = lang_of(request)
    context = await photo_context(muster, photo_id, visible, request.query_params.get("session"))
    if context is None:
        raise _Refused(404, "problem.unknown_photo")
    page = render(
        "photo.html", lang, tz=muster.settings.plant_tz, principal=principal, oob=False, **context
    )
    return _html(page, lang=request.query_params.get("lang") and lang)


page_handlers = [home, wallboard, session_page, photo_page]
page_exception_handlers = {_Refused: _refused_page}
