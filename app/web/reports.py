"""The effect report page (`/reports`) and its exports (XLSX, CSV, PDF)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from app.analysis.effect import EffectQuery, EffectReport
from app.analysis.reports import (
    CourseRow,
    DepartmentRow,
    by_department,
    cached_analyse,
    course_ranking,
)
from app.analysis.windows import Metric
from app.audit.export import record_export
from app.bootstrap import Muster
from app.web import charts
from app.web.auth import Principal, principal_of
from app.web.common import lang_of, login_redirect, muster_of
from app.web.effect_api import EFFECT_READERS, org_in_scope
from app.web.i18n import t
from app.web.problems import Problem
from app.web.render import render
from app.web.report_exports import EXPORTS, ReportData


@dataclass(frozen=True)
class ReportView:
    """What the page and the exports show for one set of filters."""

    org: str
    org_name: str
    metric: Metric
    window_days: int
    ranking: list[CourseRow]
    report: EffectReport | None
    departments: list[DepartmentRow]


async def _principal(request: Request[Any, Any, Any]) -> Principal | None:
    principal = principal_of(request, muster_of(request).secret)
    if principal is not None and principal.role not in EFFECT_READERS:
        raise Problem(403, "forbidden", "problem.forbidden")
    return principal


async def report_view(muster: Muster, principal: Principal, params: dict[str, str]) -> ReportView:
    """The ranking, the chosen course's effect and the departments, inside the caller's scope."""
    org = await org_in_scope(muster, principal, params.get("org"))
    try:
        metric = Metric(params.get("metric", "output"))
        window = min(max(int(params.get("window_days", "30")), 7), 365)
    except ValueError as exc:
        raise Problem(422, "invalid-query", "problem.invalid_query") from exc
    named = await muster.store.afetch_one(
        "SELECT name FROM org_units WHERE code = :c", {"c": org.code}
    )

    def build() -> ReportView:
        tz = muster.settings.plant_tz
        ranking = course_ranking(muster.store, org.path, metric, tz, window)
        course = params.get("course") or (ranking[0].code if ranking else None)
        report = (
            cached_analyse(muster.store, EffectQuery(course, org.path, metric, window, plant_tz=tz))
            if course
            else None
        )
        return ReportView(
            org.code,
            str(named["name"]) if named else org.code,
            metric,
            window,
            ranking,
            report,
            by_department(muster.store, org.path, report),
        )

    return await asyncio.to_thread(build)


def _charts(view: ReportView, lang: str) -> dict[str, str]:
    better = view.metric.higher_is_better
    drawn = {
        "ranking": charts.effect_bars(
            [charts.EffectBar(r.name, r.effect.did, *r.effect.ci95) for r in view.ranking], better
        ),
        "participation": charts.rate_bars([(d.name, d.participation) for d in view.departments]),
        "attention": charts.rate_bars([(d.name, d.attention) for d in view.departments]),
    }
    names = {d.code: d.name for d in view.departments}
    if view.report is not None:
        drawn["departments"] = charts.effect_bars(
            [
                charts.EffectBar(names.get(g.key, g.label), g.effect.did, *g.effect.ci95)
                for g in view.report.groups["department"]
            ],
            better,
        )
        e = view.report.effect
        if None not in (e.before, e.after, e.control_before, e.control_after):
            drawn["before_after"] = charts.before_after(
                (e.before or 0.0, e.after or 0.0),
                (e.control_before or 0.0, e.control_after or 0.0),
                tuple(
                    t(k, lang)
                    for k in ("report.before", "report.after", "report.trained", "report.peers")
                ),  # type: ignore[arg-type]
            )
    return drawn


@get("/reports")
async def reports_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Which courses change output or defects: ranking, departments, the chosen course."""
    muster = muster_of(request)
    principal = await _principal(request)
    if principal is None:
        return login_redirect(request.url.path)
    lang = lang_of(request)
    params = dict(request.query_params)
    view = await report_view(muster, principal, params)
    query = "&".join(f"{k}={v}" for k, v in params.items() if k != "lang")
    page = render(
        "reports.html",
        lang,
        principal=principal,
        view=view,
        charts=_charts(view, lang),
        query=query,
        warning=" ".join(
            t(f"effect.warning.{code}", lang).format(**p) for code, p in view.report.warnings
        )
        if view.report
        else "",
    )
    response: Response[Any] = Response(page, media_type="text/html")
    if "lang" in params:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return response


@get("/reports/export/{fmt:str}")
async def reports_export(request: Request[Any, Any, Any], fmt: FromPath[str]) -> Response[Any]:
    """The same report as a file: `xlsx`, `csv` or `pdf`."""
    muster = muster_of(request)
    principal = await _principal(request)
    if principal is None:
        raise Problem(401, "login-required", "problem.login_required")
    if fmt not in EXPORTS:
        raise Problem(404, "unknown-export", "problem.invalid_body", formats=list(EXPORTS))
    lang = lang_of(request)
    view = await report_view(muster, principal, dict(request.query_params))
    data = ReportData.of(view, lang)
    media, write = EXPORTS[fmt]
    body = await asyncio.to_thread(write, data)
    await asyncio.to_thread(
        record_export,
        muster.app,
        "effect_report",
        fmt,
        dict(request.query_params),
        len(data.courses.rows) + len(data.departments.rows),
        str(view.org),
        f"user:{principal.login}",
    )
    name = f"muster-effect-{view.org}-{view.metric.value}.{fmt}"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


report_handlers = [reports_page, reports_export]
