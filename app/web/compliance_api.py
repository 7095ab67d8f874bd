"""`GET /api/v1/compliance?org=CODE` and its CSV/XLSX export."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get

from app.audit.export import record_export
from app.domain.compliance import CourseState
from app.projections import queries
from app.services.absentees import missed_in
from app.services.compliance import MatrixFilter, matrix
from app.web.auth import require_principal
from app.web.common import json_response, lang_of, muster_of
from app.web.i18n import t
from app.web.problems import Problem
from app.web.render import plant_time
from app.web.spreadsheets import spreadsheet

#: a cell starting with one of these is a formula to a spreadsheet (`=cmd|' /C calc'!A0`)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> str:
    """A cell as text no spreadsheet runs: a leading formula character gets a `'` before it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def compliance_of(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The matrix the caller asked for (org defaults to their own scope), inside their scope."""
    muster = muster_of(request)
    principal = require_principal(request, muster.secret)
    scope = await queries.scope_of(muster.store, principal.scope)
    code = request.query_params.get("org") or principal.scope
    org = await queries.scope_of(muster.store, code)
    if org is None:
        raise Problem(404, "unknown-org", "problem.unknown_org", org=code)
    if scope is None or not org.path.startswith(scope.path):
        raise Problem(403, "forbidden", "problem.forbidden")
    state = request.query_params.get("state")
    if state is not None and state not in set(CourseState):
        raise Problem(422, "invalid-query", "problem.invalid_query", errors=[f"state: {state}"])
    only = MatrixFilter(
        course=request.query_params.get("course") or None,
        state=CourseState(state) if state else None,
        position=request.query_params.get("position") or None,
    )
    now = datetime.now(UTC)
    today = plant_time(now, muster.settings.plant_tz).date()
    result = await asyncio.to_thread(
        matrix,
        muster.store,
        org.code,
        org.path,
        today,
        muster.settings.compliance_due_soon_days,
        only,
    )
    # who missed a session and has not made it up, with the next one of the course (extension)
    absentees = await asyncio.to_thread(missed_in, muster.store, org.path, today, now)
    if only.course:
        absentees = [a for a in absentees if a["course"] == only.course]
    result["absentees"] = absentees
    return result


@get("/api/v1/compliance")
async def get_compliance(request: Request[Any, Any, Any]) -> Response[Any]:
    """Person × required course: done, due soon, overdue or never (filter: course, state,
    position)."""
    return json_response(await compliance_of(request))


def table(result: dict[str, Any], lang: str) -> list[list[str]]:
    """The matrix as spreadsheet lines (header first), every cell neutralised."""
    courses: Sequence[str] = result["courses"]
    header = [t(f"ui.compliance.{c}", lang) for c in ("employee_no", "name", "org", "position")]
    lines = [header + list(courses)]
    for row in result["rows"]:
        cells = []
        for course in courses:
            cell = row["cells"].get(course)
            if cell is None:
                cells.append("")
                continue
            word = t(f"ui.compliance.state.{cell['state']}", lang)
            cells.append(f"{word} {cell['due_on']}" if cell["due_on"] else word)
        fixed = [row["employee_no"], row["name"], row["org_code"], row["position_code"]]
        lines.append(fixed + cells)
    return [[neutralised(v) for v in line] for line in lines]


@get("/api/v1/compliance/export")
async def export_compliance(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The matrix as CSV (UTF-8 with BOM, for Excel) or XLSX (`format=xlsx`)."""
    result = await compliance_of(request)
    lines = table(result, lang_of(request))
    fmt = request.query_params.get("format")
    response = spreadsheet(lines, f"compliance-{result['org']}", fmt)
    await asyncio.to_thread(
        record_export,
        muster_of(request).app,
        "compliance",
        "xlsx" if fmt == "xlsx" else "csv",
        dict(request.query_params),
        len(lines) - 1,
        str(result["org"]),
        f"user:{require_principal(request).login}",
    )
    return response


compliance_handlers = [get_compliance, export_compliance]
