"""`/live`: HR's board of every session today across the plants in their scope; narrowed to
a workshop or department (a department head's own view), it counts that unit's people. The
page follows `/ws/live?scope=board:<org>`: the hub pushes the board again when a session in
it changes (no polling)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from app.projections import queries
from app.projections.hr_board import board_units, hr_board
from app.stores.base import iso
from app.web.auth import principal_of
from app.web.common import html_page, lang_of, login_redirect, muster_of
from app.web.i18n import t
from app.web.render import render


@get("/live")
async def live_board(request: Request[Any, Any, Any]) -> Response[Any]:
    muster = muster_of(request)
    principal = principal_of(request, muster.secret)
    if principal is None:
        return login_redirect("/live")
    lang = lang_of(request)
    scope = await queries.scope_of(muster.store, principal.scope)
    wanted = request.query_params.get("org") or principal.scope
    org = await queries.scope_of(muster.store, wanted)
    if scope is None or org is None or not org.path.startswith(scope.path):
        page = render("refused.html", lang, message=t("problem.forbidden", lang))
        return Response(page, status_code=403, media_type="text/html")
    units = await board_units(muster.store, scope)
    kind = next((u["kind"] for u in units if u["code"] == org.code), "group")
    now = muster.adapters.clock()  # the app's clock seam (tests pin it)
    day = now.astimezone(muster.settings.plant_tz).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    board = await hr_board(muster.store, scope, org, kind, day, now)
    context = {
        "principal": principal,
        "board": board,
        "units": units,
        "org": org.code,
        "org_name": next((u["name"] for u in units if u["code"] == org.code), org.code),
        "now": now,
        "now_iso": iso(now),
    }
    template = "_live_body.html" if request.headers.get("hx-request") else "live.html"
    return html_page(request, render(template, lang, tz=muster.settings.plant_tz, **context), lang)


live_board_handlers = [live_board]
