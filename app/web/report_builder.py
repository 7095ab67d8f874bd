"""The custom report builder (`/reports/custom`): pick dimensions and measures, see the table
and a chart, save it under a name with a delivery schedule."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from app.analysis.builder import custom_report
from app.domain.reports import DIMENSIONS, MEASURES, SCHEDULES
from app.web import charts
from app.web.auth import principal_of
from app.web.common import lang_of, login_redirect, muster_of
from app.web.effect_api import EFFECT_READERS, org_in_scope
from app.web.problems import Problem
from app.web.render import render


def _choice(values: list[str], allowed: tuple[str, ...], default: list[str]) -> list[str]:
    chosen = [v for v in dict.fromkeys(values) if v in allowed]
    return chosen or default


@get("/reports/custom")
async def builder_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The builder with the current choice's result and the caller's saved reports."""
    muster = muster_of(request)
    principal = principal_of(request, muster.secret)
    if principal is None:
        return login_redirect(request.url.path)
    if principal.role not in EFFECT_READERS:
        raise Problem(403, "forbidden", "problem.forbidden")
    params = request.query_params
    dimensions = _choice(params.getall("dim", []), DIMENSIONS, ["workshop"])[:2]
    measures = _choice(params.getall("measure", []), MEASURES, ["participation", "attention"])
    org = await org_in_scope(muster, principal, params.get("org"))
    rows = await asyncio.to_thread(custom_report, muster.store, org.path, dimensions)
    saved = await muster.store.afetch(
        "SELECT name, org, dimensions, measures, schedule, recipients FROM saved_reports "
        "WHERE owner = :owner ORDER BY name",
        {"owner": principal.login},
    )

    inbox = await muster.store.afetch(
        "SELECT i.period, i.sent_at, r.name, r.owner, r.org, r.dimensions, r.measures "
        "FROM report_inbox i JOIN saved_reports r ON r.id = i.report_id "
        "WHERE i.login = :login ORDER BY i.sent_at DESC LIMIT 50",
        {"login": principal.login},
    )

    def label(row: dict[str, Any]) -> str:
        return " · ".join(str(row[d] or "-") for d in dimensions)

    rate = next((m for m in measures if m in ("participation", "attention")), None)
    chart = charts.rate_bars([(label(r), r[rate]) for r in rows[:40]]) if rate else ""
    lang = lang_of(request)
    page = render(
        "report_builder.html",
        lang,
        principal=principal,
        org=org.code,
        dimensions=dimensions,
        measures=measures,
        rows=rows,
        chart=chart,
        label=label,
        saved=[
            {**s, "dims": json.loads(s["dimensions"]), "ms": json.loads(s["measures"])}
            for s in saved
        ],
        inbox=[
            {**r, "dims": json.loads(r["dimensions"]), "ms": json.loads(r["measures"])}
            for r in inbox
        ],
        all_dimensions=DIMENSIONS,
        all_measures=MEASURES,
        schedules=SCHEDULES,
    )
    return Response(page, media_type="text/html")


@post("/reports/custom")
async def save_report(request: Request[Any, Any, Any]) -> Response[Any]:
    """Save the current choice under a name, with its schedule and recipients
    (`ReportScheduled`); the report delivery sends it (app.services.report_delivery)."""
    muster = muster_of(request)
    principal = principal_of(request, muster.secret)
    if principal is None or principal.role not in EFFECT_READERS:
        raise Problem(403, "forbidden", "problem.forbidden")
    form = await request.form()
    name = str(form.get("name", "")).strip()[:80]
    if not name:
        raise Problem(422, "invalid-body", "problem.invalid_body", errors=["name is required"])
    dims = [str(d) for d in form.getall("dim")]
    measures = [str(m) for m in form.getall("measure")]
    recipients = [r.strip() for r in str(form.get("recipients", "")).split(",") if r.strip()]
    org = (await org_in_scope(muster, principal, str(form.get("org") or ""))).code
    try:
        await asyncio.to_thread(
            muster.app.save_report,
            principal.login,
            name,
            org,
            dims,
            measures,
            str(form.get("schedule", "none")),
            recipients,
        )
    except ValueError as exc:
        raise Problem(422, "invalid-body", "problem.invalid_body", errors=[str(exc)]) from exc
    await asyncio.to_thread(muster.runner.wait_until_caught_up, 10)
    query = "&".join([*(f"dim={d}" for d in dims), *(f"measure={m}" for m in measures)])
    return Redirect(f"/reports/custom?org={org}&{query}")


builder_handlers = [builder_page, save_report]
