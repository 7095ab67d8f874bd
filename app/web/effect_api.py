"""Metrics in (`POST /api/v1/metrics`, for ERP/MES jobs) and training effect out
(`GET /api/v1/effect`), as CONTRACT.md names them."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post

from app.analysis.effect import GROUPINGS, EffectQuery, EffectReport, analyse
from app.analysis.windows import Metric
from app.bootstrap import Muster
from app.domain.access import Role
from app.domain.metrics import DailyFigures
from app.projections import queries
from app.services.metrics import LineProblem, MetricsLine
from app.web.auth import Principal, require_principal
from app.web.common import decode_json, json_response, lang_of, muster_of
from app.web.effect_views import effect_body
from app.web.i18n import tf
from app.web.problems import Problem

MAX_METRICS = 5000
#: roles whose jobs may send production figures
METRICS_WRITERS = (Role.INTEGRATION, Role.ADMIN)
#: roles that see effect analyses (an employee sees only their own, under /me)
EFFECT_READERS = (
    Role.ADMIN,
    Role.HR,
    Role.PLANT_MANAGER,
    Role.DEPT_HEAD,
    Role.AUDITOR,
    Role.TRAINER,
)

Figure = Annotated[float, msgspec.Meta(ge=0)]


class MetricsItem(msgspec.Struct, kw_only=True):
    """One line: an employee's figures for a day from a source system."""

    employee_no: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    date: Annotated[str, msgspec.Meta(min_length=10, max_length=10)]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    output_units: Figure | None = None
    defects: Figure | None = None
    hours: Figure | None = None


class MetricsBatch(msgspec.Struct, kw_only=True):
    """`POST /api/v1/metrics`: up to 5,000 lines."""

    items: list[Any]


class MetricsItemProblem(msgspec.Struct):
    """Why item `index` (0-based) was not recorded: `code` is stable, `reason` in words."""

    index: int
    field: str
    code: str
    reason: str
    employee_no: str | None = None
    date: str | None = None


class MetricsReply(msgspec.Struct):
    """What the batch did; lines with problems were not recorded, the others were."""

    received: int
    recorded: int
    corrected: int
    unchanged: int
    rejected: int
    problems: list[MetricsItemProblem]


def _principal(request: Request[Any, Any, Any], roles: tuple[str, ...]) -> Principal:
    principal = require_principal(request, muster_of(request).secret)
    if principal.role not in roles:
        raise Problem(403, "forbidden", "problem.forbidden")
    return principal


def _field_of(error: msgspec.ValidationError) -> str:
    """The field a line's validation error is about (msgspec words it "… - at `$.hours`", or
    "Object missing required field `source`"); `item` when it names none."""
    text = str(error)
    if "at `$." in text:
        return text.rpartition("at `$.")[2].rstrip("`").split("[")[0] or "item"
    missing = "missing required field `"
    if missing in text:
        return text.partition(missing)[2].rstrip("`") or "item"
    return "item"


def _said(item: Any, key: str) -> str | None:
    """What a line that did not parse said its `key` was, if it said it as text."""
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def _parse_items(
    raw: list[Any],
) -> tuple[list[tuple[int, MetricsLine]], list[LineProblem], dict[int, tuple[str | None, ...]]]:
    lines: list[tuple[int, MetricsLine]] = []
    problems: list[LineProblem] = []
    unparsed: dict[int, tuple[str | None, ...]] = {}
    for index, item in enumerate(raw):
        try:
            parsed = msgspec.convert(item, MetricsItem)
        except msgspec.ValidationError as exc:
            problems.append(LineProblem(index, _field_of(exc), "invalid", str(exc)))
            unparsed[index] = (_said(item, "employee_no"), _said(item, "date"))
            continue
        figures = DailyFigures(parsed.output_units, parsed.defects, parsed.hours)
        lines.append(
            (
                index,
                MetricsLine(
                    parsed.employee_no.strip(), parsed.date, parsed.source.strip(), figures
                ),
            )
        )
    return lines, problems, unparsed


@post("/api/v1/metrics", status_code=200)
async def post_metrics(request: Request[Any, Any, Any]) -> MetricsReply:
    """Production figures from an ERP/MES job (integration role). Idempotent per employee,
    date and source; a changed figure is recorded as a correction."""
    muster = muster_of(request)
    principal = _principal(request, METRICS_WRITERS)
    raw = await decode_json(request, 8 * 1024 * 1024)
    try:
        batch = msgspec.convert(raw, MetricsBatch)
    except msgspec.ValidationError as exc:
        raise Problem(422, "invalid-body", "problem.invalid_body", errors=[str(exc)]) from exc
    if len(batch.items) > MAX_METRICS:
        raise Problem(413, "batch-too-large", "problem.metrics_too_many", max_items=MAX_METRICS)
    indexed, problems, unparsed = _parse_items(batch.items)
    lines = [line for _, line in indexed]
    outcome = await asyncio.to_thread(muster.metrics.record, lines, f"user:{principal.login}")
    problems += [
        LineProblem(indexed[p.index][0], p.field, p.reason, p.value) for p in outcome.problems
    ]
    by_index = dict(indexed)
    lang = lang_of(request)

    def reason(p: LineProblem) -> str:
        words = tf(f"metrics.problem.{p.reason}", lang, {"value": p.value})
        return f"{words}: {p.value}" if p.reason == "invalid" else words

    return MetricsReply(
        received=len(batch.items),
        recorded=outcome.recorded,
        corrected=outcome.corrected,
        unchanged=outcome.unchanged,
        rejected=len(problems),
        problems=[
            MetricsItemProblem(
                p.index,
                p.field,
                p.reason,
                reason(p),
                *(
                    (by_index[p.index].employee_no, by_index[p.index].day)
                    if p.index in by_index
                    else unparsed.get(p.index, (None, None))
                ),
            )
            for p in sorted(problems, key=lambda p: p.index)
        ],
    )


async def org_in_scope(muster: Muster, principal: Principal, code: str | None) -> queries.Scope:
    """The org unit `code` (the caller's own by default) if it lies in the caller's subtree."""
    scope = await queries.scope_of(muster.store, principal.scope)
    org = await queries.scope_of(muster.store, code or principal.scope)
    if scope is None or org is None or not org.path.startswith(scope.path):
        raise Problem(403, "forbidden", "problem.forbidden")
    return org


async def effect_query(muster: Muster, principal: Principal, params: dict[str, str]) -> EffectQuery:
    """An effect query from request parameters, inside the caller's org subtree."""
    course = params.get("course", "").strip()
    if not course:
        raise Problem(422, "invalid-query", "problem.invalid_query", errors=["course is required"])
    found = await muster.store.afetch_one("SELECT code FROM courses WHERE code = :c", {"c": course})
    if found is None:
        raise Problem(404, "unknown-course", "problem.unknown_course", course=course)
    org = await org_in_scope(muster, principal, params.get("org"))
    try:
        metric = Metric(params.get("metric", "output"))
        window = int(params.get("window_days", "30"))
    except ValueError as exc:
        raise Problem(
            422,
            "invalid-query",
            "problem.invalid_query",
            errors=["metric is output or defect_rate; window_days is a whole number"],
        ) from exc
    if not 7 <= window <= 365:
        raise Problem(
            422, "invalid-query", "problem.invalid_query", errors=["window_days is 7 to 365"]
        )
    return EffectQuery(
        course=course,
        org_path=org.path,
        metric=metric,
        window_days=window,
        plant_tz=muster.settings.plant_tz,
    )


async def run_effect(muster: Muster, query: EffectQuery) -> EffectReport:
    """The analysis, off the event loop (SQL sums, then numpy/scipy)."""
    return await asyncio.to_thread(analyse, muster.store, query)


@get("/api/v1/effect")
async def get_effect(request: Request[Any, Any, Any]) -> Response[Any]:
    """Difference-in-differences of a course on output or defect rate (relative, with a
    bootstrap 95% interval), its conversion rate, and a warning when samples are small.
    `by=session|department|person` adds the same per group."""
    muster = muster_of(request)
    principal = _principal(request, EFFECT_READERS)
    params = dict(request.query_params)
    query = await effect_query(muster, principal, params)
    by = params.get("by")
    if by is not None and by not in GROUPINGS:
        raise Problem(
            422, "invalid-query", "problem.invalid_query", errors=[f"by is one of {GROUPINGS}"]
        )
    report = await run_effect(muster, query)
    org = params.get("org") or principal.scope
    return json_response(effect_body(report, org, lang_of(request), by))


effect_handlers = [post_metrics, get_effect]
