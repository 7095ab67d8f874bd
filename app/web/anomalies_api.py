"""`GET /api/v1/anomalies` and `POST /api/v1/anomalies/{id}/resolution` (CONTRACT.md)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError
from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter

from app.application import Training
from app.domain.access import Role
from app.domain.anomaly import Anomaly, AnomalyAlreadyResolved, Resolution
from app.domain.evidence_rules import AnomalyKind
from app.projections import anomaly_queries
from app.projections.anomaly_queries import MAX_LIMIT, AnomalyFilter
from app.projections.visibility import Viewer, viewer_of
from app.stores.base import iso
from app.web.auth import require_principal
from app.web.common import json_response, muster_of
from app.web.contract import ProblemDetails
from app.web.problems import Problem

Status = Literal["open", "confirmed", "dismissed"]
Kind = Literal[
    "photo_time_mismatch",
    "photo_reused",
    "photo_without_exif",
    "headcount_shortfall",
    "checkin_outside_window",
    "device_room_mismatch",
    "device_clock_skew",
    "proxy_suspected",
    "face_mismatch",
    "selfie_spoof_suspected",
]
assert set(Kind.__args__) == {k.value for k in AnomalyKind}  # type: ignore[attr-defined]
#: who may confirm or dismiss an anomaly: staff who follow up on training, not auditors
RESOLVERS = frozenset({Role.ADMIN, Role.HR, Role.DEPT_HEAD, Role.TRAINER, Role.PLANT_MANAGER})


class AnomalyResolutionView(msgspec.Struct, kw_only=True):
    """Who closed it, when and why."""

    resolved_at: str
    resolved_by: str
    reason: str


class AnomalyView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One anomaly: what, how serious, its subject, when it was raised, and the evidence."""

    id: str
    kind: str
    severity: str
    status: str
    session_id: str
    employee_id: str | None = None
    checkin_id: str | None = None
    photo_id: str | None = None
    raised_at: str
    evidence: dict[str, Any]
    resolution: AnomalyResolutionView | None = None


class AnomalyList(msgspec.Struct, kw_only=True):
    """Oldest first; page on with `after=<the last id>`."""

    anomalies: list[AnomalyView]


class ResolutionRequest(msgspec.Struct, kw_only=True):
    """A person's verdict: `confirmed` (it happened) or `dismissed` (it did not), and why."""

    outcome: Literal["confirmed", "dismissed"]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


def anomaly_view(row: dict[str, Any]) -> AnomalyView:
    """The wire form of an anomaly row."""
    resolution = None
    if row["resolved_at"]:
        resolution = AnomalyResolutionView(
            resolved_at=row["resolved_at"],
            resolved_by=row["resolved_by"],
            reason=row["resolution_reason"] or "",
        )
    return AnomalyView(
        id=row["id"],
        kind=row["kind"],
        severity=row["severity"],
        status=row["status"],
        session_id=row["session_id"],
        employee_id=row["employee_id"],
        checkin_id=row["checkin_id"],
        photo_id=row["photo_id"],
        raised_at=row["raised_at"],
        evidence=row["evidence"],
        resolution=resolution,
    )


async def _viewer(request: Request[Any, Any, Any]) -> tuple[str, Viewer]:
    muster = muster_of(request)
    principal = require_principal(request)
    viewer = await viewer_of(muster.store, principal.scope, principal.employee_no)
    if viewer is None or principal.role == Role.EMPLOYEE:
        raise Problem(403, "forbidden", "problem.forbidden")
    return principal.role, viewer


PROBLEMS = {
    401: ResponseSpec(ProblemDetails, description="login required"),
    403: ResponseSpec(ProblemDetails, description="not allowed"),
    422: ResponseSpec(ProblemDetails, description="a query or body that does not fit"),
}


@get("/api/v1/anomalies", responses=PROBLEMS)
async def get_anomalies(
    request: Request[Any, Any, Any],
    session_id: str | None = None,
    status: Status | None = None,
    kind: Kind | None = None,
    after: Annotated[str | None, Parameter(max_length=64)] = None,
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
) -> Response[AnomalyList]:
    """Anomalies in the caller's plants, every status unless filtered, oldest first."""
    muster = muster_of(request)
    _, viewer = await _viewer(request)
    wanted = AnomalyFilter(session_id, status, kind, None, after, limit)
    rows = await anomaly_queries.find_anomalies(muster.store, viewer, wanted)
    if rows is None:
        raise Problem(
            422, "invalid-query", "problem.invalid_query", errors=[f"after: no anomaly {after}"]
        )
    return json_response(AnomalyList(anomalies=[anomaly_view(r) for r in rows]))


@post(
    "/api/v1/anomalies/{anomaly_id:str}/resolution",
    status_code=200,
    responses={
        **PROBLEMS,
        404: ResponseSpec(ProblemDetails, description="no such anomaly in the caller's plants"),
        409: ResponseSpec(ProblemDetails, description="confirmed or dismissed already"),
    },
)
async def post_resolution(
    request: Request[Any, Any, Any],
    anomaly_id: FromPath[str],
    data: JSONBody[ResolutionRequest],
) -> Response[AnomalyView]:
    """Confirm or dismiss an anomaly, with a reason (staff whose scope holds it)."""
    muster = muster_of(request)
    role, viewer = await _viewer(request)
    if role not in RESOLVERS:
        raise Problem(403, "forbidden", "problem.forbidden")
    row = await anomaly_queries.anomaly(muster.store, viewer, anomaly_id)
    if row is None:
        raise Problem(404, "unknown-anomaly", "problem.unknown_anomaly", anomaly_id=anomaly_id)
    outcome = Resolution.CONFIRMED if data.outcome == "confirmed" else Resolution.DISMISSED
    actor = f"user:{require_principal(request).login}"
    at = await asyncio.to_thread(
        resolve_anomaly, muster.app, UUID(row["id"]), outcome, data.reason, actor
    )
    # answered from what was just recorded: the read model follows a moment later
    resolved = {
        **row,
        "status": outcome,
        "resolved_at": iso(at),
        "resolved_by": actor,
        "resolution_reason": data.reason,
    }
    return json_response(anomaly_view(resolved))


def resolve_anomaly(
    app: Training, anomaly_id: UUID, outcome: str, reason: str, actor: str
) -> datetime:
    """Record the verdict (the API's and the review queue's); a concurrent one means
    looking again (and being refused)."""
    for _attempt in range(3):
        anomaly: Anomaly = app.repository.get(anomaly_id)
        anomaly.resolve(outcome, reason, actor=actor)
        try:
            app.save(anomaly)
        except IntegrityError:
            continue
        return anomaly.modified_on
    raise AnomalyAlreadyResolved(anomaly_status="unknown")


anomaly_handlers = [get_anomalies, post_resolution]
