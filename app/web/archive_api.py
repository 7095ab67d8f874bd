"""An employee's own archive for the phone page: `GET /api/v1/me/effect` (JSON) and
`GET /m/effect` (an HTML fragment with the curves, for the page to include)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get

from app.analysis.archive import Archive, employee_archive
from app.web import charts
from app.web.common import json_response, lang_of, muster_of
from app.web.i18n import t
from app.web.kiosk import employee_of_principal
from app.web.render import render


async def _archive(request: Request[Any, Any, Any]) -> Archive:
    employee_no = employee_of_principal(request)
    muster = muster_of(request)
    return await asyncio.to_thread(
        employee_archive, muster.store, employee_no, muster.settings.plant_tz
    )


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


@get("/api/v1/me/effect")
async def get_my_effect(request: Request[Any, Any, Any]) -> Response[Any]:
    """The logged-in employee's sessions (with the room's heads-up share) and, per course
    attended, their own daily figures before and after it."""
    archive = await _archive(request)
    return json_response(
        {
            "employee_no": archive.employee_no,
            "sessions": [
                {
                    "session_id": s["id"],
                    "code": s["code"],
                    "course": s["course"],
                    "course_name": s["course_name"],
                    "starts_at": s["starts_at"],
                    "status": s["status"],
                    "checked_in_at": s["checked_in_at"],
                    "attention_share": _rounded(s["attention"]),
                }
                for s in archive.sessions
            ],
            "courses": [
                {
                    "course": c.course,
                    "name": c.name,
                    "trained_on": c.trained_on,
                    "output_before": _rounded(c.mean(0, "output")),
                    "output_after": _rounded(c.mean(1, "output")),
                    "defect_rate_before": _rounded(c.mean(0, "defect_rate")),
                    "defect_rate_after": _rounded(c.mean(1, "defect_rate")),
                    "days": [
                        {
                            "date": d.day,
                            "output": _rounded(d.output),
                            "defect_rate": _rounded(d.defect_rate),
                        }
                        for d in c.days
                    ],
                }
                for c in archive.courses
            ],
        }
    )


@get("/m/effect")
async def my_effect_fragment(request: Request[Any, Any, Any]) -> Response[str]:
    """The same as an HTML fragment: one curve per course, the training day marked."""
    archive = await _archive(request)
    lang = lang_of(request)
    curves = [
        (
            c,
            charts.daily_curve(
                [d.output for d in c.days],
                next((i for i, d in enumerate(c.days) if d.day >= c.trained_on), 0),
                t("report.trained_on", lang),
            ),
        )
        for c in archive.courses
    ]
    tz = muster_of(request).settings.plant_tz
    html = render("_my_effect.html", lang, tz=tz, archive=archive, curves=curves)
    return Response(html, media_type="text/html")


archive_handlers = [get_my_effect, my_effect_fragment]
