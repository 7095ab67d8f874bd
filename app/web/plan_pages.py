"""Planning pages: the compliance matrix of an org unit and the concurrent-sessions table
(同时培训任务表) of a day, printable."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.response import Redirect

from app.domain.compliance import CourseState
from app.projections import queries
from app.stores.base import from_iso, iso
from app.web.common import lang_of, muster_of
from app.web.compliance_api import compliance_of
from app.web.pages import _html, _visible_plants
from app.web.render import plant_time, render

#: rows the page shows (the export has them all)
PAGE_ROWS = 500


@get("/compliance")
async def compliance_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Person × required course for one org unit, filterable, with CSV/XLSX export."""
    seen = await _visible_plants(request)
    if isinstance(seen, Redirect):
        return seen
    principal, _, _ = seen
    muster = muster_of(request)
    lang = lang_of(request)
    result = await compliance_of(request)
    scope = await queries.scope_of(muster.store, principal.scope)
    assert scope is not None
    units = await muster.store.afetch(
        "SELECT code, name, path FROM org_units WHERE path LIKE :p AND kind <> 'team' "
        "ORDER BY path",
        {"p": scope.path + "%"},
    )
    for u in units:
        u["depth"] = u["path"].count("/") - scope.path.count("/")
    unit = next(u for u in units if u["code"] == result["org"]) if units else {}
    courses = await muster.store.afetch("SELECT code, name FROM courses ORDER BY code")
    positions = await muster.store.afetch("SELECT code, name FROM positions ORDER BY code")
    names = await muster.store.afetch("SELECT code, name FROM org_units")
    counts: Counter[str] = Counter(
        cell["state"] for row in result["rows"] for cell in row["cells"].values()
    )
    params = {k: v for k, v in request.query_params.items() if k != "lang" and v}
    page = render(
        "compliance.html",
        lang,
        tz=muster.settings.plant_tz,
        principal=principal,
        result=result,
        shown=result["rows"][:PAGE_ROWS],
        unit=unit or {"code": result["org"], "name": result["org"]},
        units=units,
        all_courses=courses,
        positions=positions,
        states=[s.value for s in CourseState],
        counts=counts,
        only={k: request.query_params.get(k) for k in ("course", "state", "position")},
        course_names={c["code"]: c["name"] for c in courses},
        position_names={p["code"]: p["name"] for p in positions},
        unit_names={u["code"]: u["name"] for u in names},
        query=urlencode({"org": result["org"], **params}),
    )
    return _html(page, lang=request.query_params.get("lang") and lang)


def _day(value: str | None, today: date) -> date:
    try:
        return date.fromisoformat(value) if value else today
    except ValueError:
        return today


@get("/plans/concurrent")
async def concurrent_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Every session of a day in the caller's plants, grouped by the hour it runs in: who is
    away at once, where, how many, and whether the room has a check-in device."""
    seen = await _visible_plants(request)
    if isinstance(seen, Redirect):
        return seen
    principal, _, plants = seen
    muster = muster_of(request)
    lang = lang_of(request)
    tz = muster.settings.plant_tz
    day = _day(request.query_params.get("day"), plant_time(muster.adapters.clock(), tz).date())
    start = datetime.combine(day, time(0), tz)
    sessions = await asyncio.to_thread(_day_sessions, muster, plants, start)
    slots = []
    for hour in range(24):
        begins = start + timedelta(hours=hour)
        ends = begins + timedelta(hours=1)
        running = [
            s
            for s in sessions
            if from_iso(s["starts_at"]) < ends and from_iso(s["ends_at"]) > begins
        ]
        if running:
            slots.append({"label": f"{hour:02d}:00–{hour + 1:02d}:00", "sessions": running})
    page = render(
        "concurrent.html",
        lang,
        tz=tz,
        principal=principal,
        day=day.isoformat(),
        sessions=sessions,
        slots=slots,
        peak=max((len(s["sessions"]) for s in slots), default=0),
    )
    return _html(page, lang=request.query_params.get("lang") and lang)


def _day_sessions(
    muster: Any, plants: list[dict[str, Any]], start: datetime
) -> list[dict[str, Any]]:
    """The day's sessions (not cancelled) with departments, capacity and room devices."""
    names = {p["code"]: p["name"] for p in plants}
    params: dict[str, Any] = {f"p{i}": p for i, p in enumerate(names)}
    params.update(start=iso(start), end=iso(start + timedelta(days=1)))
    rows = muster.store.fetch(
        "SELECT s.id, s.title, s.plant, s.room, s.trainer, s.starts_at, s.ends_at, s.expected, "
        "p.capacity, (SELECT COUNT(*) FROM devices d WHERE d.plant = s.plant AND d.room = s.room "
        "AND d.revoked = 0) AS devices FROM sessions s LEFT JOIN session_plans p ON p.id = s.id "
        f"WHERE s.plant IN ({', '.join(':' + k for k in params if k.startswith('p'))}) "
        "AND s.starts_at < :end AND s.ends_at > :start AND s.status <> 'cancelled' "
        "ORDER BY s.starts_at, s.plant, s.room",
        params,
    )
    depts: dict[str, list[str]] = {}
    if rows:
        ids = {f"s{i}": r["id"] for i, r in enumerate(rows)}
        for d in muster.store.fetch(
            "SELECT d.session_id, COALESCE(o.name, d.dept) AS name, d.expected FROM dept_live d "
            "LEFT JOIN org_units o ON o.code = d.dept "
            f"WHERE d.session_id IN ({', '.join(':' + k for k in ids)}) ORDER BY d.expected DESC",
            ids,
        ):
            depts.setdefault(d["session_id"], []).append(f"{d['name']} {d['expected']}")
    for r in rows:
        r["plant_name"] = names.get(r["plant"], r["plant"])
        r["departments"] = "、".join(depts.get(r["id"], []))
    return list(rows)


plan_page_handlers = [compliance_page, concurrent_page]
