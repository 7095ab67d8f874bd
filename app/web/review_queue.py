"""`/review`: HR's anomaly review queue. Open anomalies in the viewer's scope, oldest first,
each with its evidence side by side; confirm or dismiss one or many with a reason. The
verdict goes through the same command as `POST /api/v1/anomalies/{id}/resolution`."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import tzinfo
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.response import Redirect

from app.domain.access import Role
from app.domain.anomaly import AnomalyAlreadyResolved, Resolution
from app.projections import anomaly_queries
from app.projections.anomaly_queries import AnomalyFilter
from app.projections.visibility import viewer_of
from app.web.anomalies_api import RESOLVERS, resolve_anomaly
from app.web.auth import Principal, principal_of
from app.web.common import html_page, lang_of, login_redirect, muster_of
from app.web.i18n import t
from app.web.render import render

#: the reasons a reviewer picks from (worded in app/web/messages.toml as `review.reason.<key>`)
REASONS = ("verified", "device_fault", "photo_retaken", "known_exception", "duplicate", "other")
#: evidence shown first, in this order, when the anomaly holds it
EVIDENCE_ORDER = (
    "checked_in_at",
    "taken_at",
    "exif_time",
    "device_time",
    "server_time",
    "uploaded_at",
    "distance",
    "headcount",
    "headcount_min",
    "headcount_max",
    "checked_in",
)
#: at most this many ids in one bulk verdict
MAX_BULK = 500


def _refused(lang: str) -> Response[Any]:
    page = render("refused.html", lang, message=t("problem.forbidden", lang))
    return Response(page, status_code=403, media_type="text/html")


async def _open_anomalies(
    request: Request[Any, Any, Any], principal: Principal
) -> list[dict[str, Any]] | None:
    """Open anomalies the principal may see, oldest first (``None``: none may be seen)."""
    store = muster_of(request).store
    viewer = await viewer_of(store, principal.scope, principal.employee_no)
    if viewer is None or principal.role == Role.EMPLOYEE:
        return None
    found = await anomaly_queries.find_anomalies(store, viewer, AnomalyFilter(status="open"))
    return [_with_facts(a) for a in found or []]


def _with_facts(anomaly: dict[str, Any]) -> dict[str, Any]:
    evidence = anomaly["evidence"]
    first = [(k, evidence[k]) for k in EVIDENCE_ORDER if k in evidence]
    rest = [(k, v) for k, v in sorted(evidence.items()) if k not in EVIDENCE_ORDER]
    return {**anomaly, "facts": first + rest}


def _page(
    template: str,
    lang: str,
    tz: tzinfo,
    principal: Principal,
    rows: list[dict[str, Any]],
    **more: Any,
) -> str:
    return render(
        template, lang, tz=tz, principal=principal, anomalies=rows, reasons=REASONS, **more
    )


@get("/review")
async def review_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The queue: one list of the open anomalies in the viewer's scope, oldest first."""
    muster = muster_of(request)
    principal = principal_of(request, muster.secret)
    if principal is None:
        return login_redirect("/review")
    lang = lang_of(request)
    rows = await _open_anomalies(request, principal)
    if rows is None:
        return _refused(lang)
    template = "_review_list.html" if request.headers.get("hx-request") else "review.html"
    can_resolve = principal.role in RESOLVERS
    page = _page(template, lang, muster.settings.plant_tz, principal, rows, can_resolve=can_resolve)
    return html_page(request, page, lang)


def reason_text(pick: str, note: str, lang: str) -> str:
    """The reason recorded: the picked reason in the reviewer's words, then their note."""
    picked = t(f"review.reason.{pick}", lang) if pick in REASONS else ""
    note = note.strip()[:1000]
    return " — ".join(part for part in (picked, note) if part) or t("review.reason.other", lang)


@post("/review/resolve", status_code=200)
async def resolve_selected(request: Request[Any, Any, Any]) -> Response[Any]:
    """Confirm or dismiss the selected anomalies with one reason; the list comes back."""
    muster = muster_of(request)
    principal = principal_of(request, muster.secret)
    if principal is None:
        return login_redirect("/review")
    lang = lang_of(request)
    if principal.role not in RESOLVERS:
        return _refused(lang)
    form = await request.form()
    outcome = form.get("outcome")
    ids = [i for i in form.getall("ids") if isinstance(i, str)][:MAX_BULK] if "ids" in form else []
    rows = await _open_anomalies(request, principal)
    if rows is None:
        return _refused(lang)
    seen = {r["id"] for r in rows}
    wanted = [i for i in ids if i in seen]
    problem = None
    if outcome not in (Resolution.CONFIRMED, Resolution.DISMISSED):
        problem = t("review.pick_outcome", lang)
    elif not wanted:
        problem = t("review.nothing_selected", lang)
    done: set[str] = set()
    if problem is None:
        reason = reason_text(str(form.get("reason") or ""), str(form.get("note") or ""), lang)
        actor = f"user:{principal.login}"
        for anomaly_id in wanted:
            with contextlib.suppress(AnomalyAlreadyResolved):  # someone else was quicker
                await asyncio.to_thread(
                    resolve_anomaly, muster.app, UUID(anomaly_id), str(outcome), reason, actor
                )
            done.add(anomaly_id)
        await asyncio.to_thread(muster.runner.wait_until_caught_up, 5.0)
    if not request.headers.get("hx-request"):
        return Redirect("/review")
    left = [r for r in rows if r["id"] not in done]
    html = _page(
        "_review_list.html",
        lang,
        muster.settings.plant_tz,
        principal,
        left,
        can_resolve=True,
        problem=problem,
        resolved=len(done),
    )
    return Response(html, media_type="text/html")


review_handlers = [review_page, resolve_selected]
