"""`/plans`: the planner of a plant — its sessions on a week grid or a day grid (a column per
room), and the session form beside it to create, edit, reschedule or cancel a session.

Saving checks the plan for conflicts (`SessionPlanner`); each conflict is shown in words with
the nearest free times, which one click takes. A plan with conflicts is saved only once the
planner confirms them, and never with a room or a trainer booked twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from app.bootstrap import Muster
from app.imports.base import RowError
from app.projections import queries
from app.projections.visibility import Viewer
from app.services.session_planner import Checked, Outcome, SessionNotFoundError
from app.web.auth import Principal
from app.web.common import lang_of, muster_of
from app.web.i18n import t
from app.web.import_texts import words
from app.web.pages import _html, _Refused, _visible_plants
from app.web.permissions import PLANNERS
from app.web.planner_form import Form, choices, of_session, offers, posted
from app.web.planner_grid import HOUR_PX, build, parse_day
from app.web.planning_api import conflict_words
from app.web.render import plant_time, render

VIEWS = ("week", "day")


def _today(muster: Muster) -> Any:
    return plant_time(datetime.now(UTC), muster.settings.plant_tz).date()


async def _context(request: Request[Any, Any, Any]) -> tuple[Principal, Viewer, list[Any]]:
    seen = await _visible_plants(request)
    if isinstance(seen, Redirect):  # the permissions guard asks for a login first
        raise _Refused(401, "problem.login_required")
    return seen


def _plant(plants: list[dict[str, Any]], code: str | None) -> dict[str, Any]:
    found = next((p for p in plants if p["code"] == code), None) if code else plants[0]
    if found is None:
        raise _Refused(403, "problem.forbidden")
    return found


def _people_under(viewer: Viewer) -> str | None:
    """The subtree a roster must stay within: none for plant-wide staff, a department
    head's or trainer's own org unit otherwise."""
    return None if viewer.whole_plants else viewer.scope.path


def _grid_query(plant: str, view: str, day: Any, **more: str) -> str:
    return urlencode({"plant": plant, "view": view, "day": day.isoformat(), **more})


@get("/plans")
async def planner_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The week (or day) of a plant, with the session form when one is opened."""
    principal, viewer, plants = await _context(request)
    muster = muster_of(request)
    lang = lang_of(request)
    q = request.query_params
    tz = muster.settings.plant_tz
    view = str(q.get("view")) if q.get("view") in VIEWS else "week"
    editor = None
    if q.get("session"):  # the grid around the session, unless another is asked for
        editor = await _editor_context(muster, principal, viewer, q["session"], None, lang)
        plant = _plant(plants, q.get("plant") or editor["form"].plant)
        day = parse_day(q.get("day") or editor["form"].day, tz)
    else:
        plant = _plant(plants, q.get("plant"))
        day = parse_day(q.get("day"), tz)
    if q.get("new"):
        starts_day = q.get("starts_day") or day.isoformat()
        form = _new_form(plant["code"], tz, starts_day, q.get("start"))
        editor = await _form_context(muster, principal, viewer, form, None, lang)
    page = await _page(muster, lang, principal, plant, plants, view, day, editor, q.get("done"))
    return _html(page, lang=q.get("lang") and lang)


async def _page(
    muster: Muster,
    lang: str,
    principal: Principal,
    plant: dict[str, Any],
    plants: list[dict[str, Any]],
    view: str,
    day: Any,
    editor: dict[str, Any] | None,
    done: str | None,
) -> str:
    settings = muster.settings
    grid = await asyncio.to_thread(
        build, muster.store, plant["code"], view, day, settings.team_away_share, settings.plant_tz
    )
    step = timedelta(days=7 if view == "week" else 1)
    if editor is not None:
        editor["view"] = view
    return render(
        "planner.html",
        lang,
        tz=settings.plant_tz,
        principal=principal,
        plant=plant,
        plants=plants,
        view=view,
        grid=grid,
        hour_px=HOUR_PX,
        today=_today(muster),
        can_plan=principal.role in PLANNERS,
        q=lambda **more: _grid_query(plant["code"], view, day, **more),
        prev=_grid_query(plant["code"], view, day - step),
        next=_grid_query(plant["code"], view, day + step),
        week_q=_grid_query(plant["code"], "week", day),
        day_q=_grid_query(plant["code"], "day", day),
        editor=editor,
        done=t(f"plan.done.{done}", lang) if done in ("saved", "cancelled") else None,
    )


def _new_form(plant: str, tz: tzinfo, day: str, start: str | None) -> Form:
    start = start if start and len(start) == 5 else "09:00"
    hour = min(int(start[:2]) + 1, 23)
    return Form(plant=plant, tz=tz, day=day, start=start, end=f"{hour:02d}:{start[3:]}")


async def _editor_context(
    muster: Muster,
    principal: Principal,
    viewer: Viewer,
    session_id: str,
    checked: Checked | None,
    lang: str,
) -> dict[str, Any]:
    form = await asyncio.to_thread(of_session, muster, session_id)
    if form is None or form.plant not in viewer.plants:
        raise _Refused(404, "problem.unknown_session")
    return await _form_context(muster, principal, viewer, form, checked, lang)


async def _form_context(
    muster: Muster,
    principal: Principal,
    viewer: Viewer,
    form: Form,
    checked: Checked | None,
    lang: str,
    confirmed: bool = False,
    view: str = "week",
) -> dict[str, Any]:
    lists = await asyncio.to_thread(choices, muster, form.plant, viewer.scope.path)
    offered = await asyncio.to_thread(offers, muster, form, _today(muster))
    named = sorted({c.employee_no for c in checked.conflicts if c.employee_no}) if checked else []
    names = await queries.employee_names(muster.store, named)
    return {
        "form": form,
        "lists": lists,
        "offered": offered,
        "report": _report(checked, lang, names, muster.settings.plant_tz) if checked else None,
        "confirmed": confirmed,
        "view": view,
        "can_plan": principal.role in PLANNERS and form.status == "scheduled",
    }


def _report(checked: Checked, lang: str, names: dict[str, str], tz: tzinfo) -> dict[str, Any]:
    """The check in words: field errors, and per session its conflicts and free slots."""
    errors = [
        {"column": e.column, "text": words(e.key, lang, e.params, tz)} for e in checked.errors
    ]
    sessions = []
    for o in checked.occurrences:
        if not o.conflicts:
            continue
        sessions.append(
            {
                "code": o.wanted.code,
                "starts_at": plant_time(o.wanted.starts_at, tz),
                "conflicts": [
                    {"kind": c.kind.value, "text": conflict_words(c, lang, names, tz)}
                    for c in o.conflicts
                ],
                "slots": [
                    {"value": f"{s.isoformat()}|{e.isoformat()}", "start": s, "end": e}
                    for s, e in o.free_slots
                ],
            }
        )
    return {
        "errors": errors,
        "sessions": sessions,
        "may_override": checked.may_override,
        "count": len(checked.occurrences),
    }


async def _handle(request: Request[Any, Any, Any], session_id: str | None) -> Response[Any]:
    """Check or save the posted form; the form comes back with what the check found, or
    the planner's page once saved."""
    principal, viewer, plants = await _context(request)
    muster = muster_of(request)
    lang = lang_of(request)
    if principal.role not in PLANNERS:
        raise _Refused(403, "problem.forbidden")
    data = await request.form()
    values = {k: [str(v) for v in data.getall(k)] for k in data}
    plant = _plant(plants, (values.get("plant") or [""])[0])
    if session_id is not None:
        stored = await asyncio.to_thread(of_session, muster, session_id)
        if stored is None or stored.plant not in viewer.plants:
            raise _Refused(404, "problem.unknown_session")
    form = posted(values, plant["code"], session_id, muster.settings.plant_tz)
    draft = form.draft()
    action = (values.get("action") or ["check"])[0]
    confirmed = bool(values.get("confirm"))
    checked: Checked
    if draft is None:
        checked = Checked()
        checked.errors.append(RowError("day", "import.bad_date", value=form.day))
    elif action == "save":
        saved = await asyncio.to_thread(
            muster.planner.save,
            draft,
            f"user:{principal.login}",
            _today(muster),
            confirmed=confirmed,
            people_under=_people_under(viewer),
        )
        if saved.outcome in (Outcome.SAVED, Outcome.UNCHANGED):
            return _to_page(request, plant["code"], values, draft.starts_at, "saved")
        checked = saved.checked
        if saved.outcome is Outcome.CHANGED_MEANWHILE:
            checked.errors.append(RowError("code", "import.changed_meanwhile"))
    else:
        checked = await asyncio.to_thread(
            muster.planner.check, draft, _today(muster), _people_under(viewer)
        )
    view, day = _grid_of(values, muster.settings.plant_tz)
    editor = await _form_context(muster, principal, viewer, form, checked, lang, confirmed, view)
    if request.headers.get("hx-request"):
        return _html(render("_session_form.html", lang, tz=muster.settings.plant_tz, editor=editor))
    page = await _page(muster, lang, principal, plant, plants, view, day, editor, None)
    return _html(page)


def _grid_of(values: dict[str, list[str]], tz: tzinfo) -> tuple[str, Any]:
    view = (values.get("view") or ["week"])[0]
    day = parse_day((values.get("grid_day") or [""])[0], tz)
    return (view if view in VIEWS else "week"), day


def _to_page(
    request: Request[Any, Any, Any],
    plant: str,
    values: dict[str, list[str]],
    when: datetime,
    done: str,
) -> Response[Any]:
    """The planner at the week (or day) of `when`, saying what was done."""
    tz = muster_of(request).settings.plant_tz
    view, _ = _grid_of(values, tz)
    url = "/plans?" + _grid_query(plant, view, plant_time(when, tz).date(), done=done)
    if request.headers.get("hx-request"):
        return Response("", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url)


@get("/plans/sessions/new")
async def new_session_form(request: Request[Any, Any, Any]) -> Response[Any]:
    """An empty session form for a plant, a day and a start time (htmx: the form alone)."""
    principal, viewer, plants = await _context(request)
    muster = muster_of(request)
    lang = lang_of(request)
    q = request.query_params
    tz = muster.settings.plant_tz
    plant = _plant(plants, q.get("plant"))
    day = parse_day(q.get("day"), tz)
    form = _new_form(plant["code"], tz, day.isoformat(), q.get("start"))
    editor = await _form_context(muster, principal, viewer, form, None, lang)
    if request.headers.get("hx-request"):
        return _html(render("_session_form.html", lang, tz=tz, editor=editor))
    page = await _page(muster, lang, principal, plant, plants, "week", day, editor, None)
    return _html(page)


@get("/plans/sessions/{session_id:str}")
async def edit_session_form(
    request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Response[Any]:
    """The form of a stored session (htmx: the form alone)."""
    principal, viewer, plants = await _context(request)
    muster = muster_of(request)
    lang = lang_of(request)
    editor = await _editor_context(muster, principal, viewer, session_id, None, lang)
    tz = muster.settings.plant_tz
    if request.headers.get("hx-request"):
        return _html(render("_session_form.html", lang, tz=tz, editor=editor))
    form: Form = editor["form"]
    plant = _plant(plants, form.plant)
    day = parse_day(form.day, tz)
    page = await _page(muster, lang, principal, plant, plants, "week", day, editor, None)
    return _html(page)


@post("/plans/sessions", status_code=200)
async def create_session(request: Request[Any, Any, Any]) -> Response[Any]:
    """Check or save a new session (and its repeats)."""
    return await _handle(request, None)


@post("/plans/sessions/{session_id:str}", status_code=200)
async def change_session(
    request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Response[Any]:
    """Check or save changes to a session: time and room, course, trainer, capacity, roster."""
    return await _handle(request, session_id)


@post("/plans/sessions/{session_id:str}/cancel", status_code=200)
async def cancel_session(
    request: Request[Any, Any, Any], session_id: FromPath[str]
) -> Response[Any]:
    """Call a session off, with a reason."""
    principal, viewer, _ = await _context(request)
    muster = muster_of(request)
    lang = lang_of(request)
    if principal.role not in PLANNERS:
        raise _Refused(403, "problem.forbidden")
    form = await asyncio.to_thread(of_session, muster, session_id)
    if form is None or form.plant not in viewer.plants:
        raise _Refused(404, "problem.unknown_session")
    data = await request.form()
    reason = str(data.get("reason") or "").strip()[:500] or t("plan.no_reason", lang)
    try:
        done = await asyncio.to_thread(
            muster.planner.cancel, session_id, reason, f"user:{principal.login}"
        )
    except SessionNotFoundError:
        raise _Refused(404, "problem.unknown_session") from None
    if not done:
        raise _Refused(409, "plan.session_over")
    values = {k: [str(v) for v in data.getall(k)] for k in data}
    tz = muster.settings.plant_tz
    when = datetime.combine(parse_day(form.day, tz), datetime.min.time(), tz)
    return _to_page(request, form.plant, values, when, "cancelled")


planner_handlers = [
    planner_page,
    new_session_form,
    edit_session_form,
    create_session,
    change_session,
    cancel_session,
]
