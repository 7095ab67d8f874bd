"""The auditor's pages: the audit trail by person, session, device and time, and a session as
it stood at a chosen instant (attendance, anomalies, the wallboard), with the same in JSON.

Both keep to the caller's org subtree and never show a secret (`app.audit.log`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response, get

from app.audit.history import HistoryFilter, HistoryPage, history
from app.audit.replay import SessionAsOf, session_as_of
from app.projections.visibility import Viewer, viewer_of
from app.web.anomalies_api import anomaly_view
from app.web.auth import Principal, require_principal
from app.web.common import (
    html_page,
    json_response,
    lang_of,
    muster_of,
    parse_instant,
    query_int,
)
from app.web.i18n import t, tf
from app.web.problems import Problem
from app.web.render import render

#: event names offered in the filter (any other may be typed)
COMMON_EVENTS = (
    "EmployeeCheckedIn",
    "CheckInRejected",
    "PhotoStored",
    "PhotoAnalysed",
    "AnomalyFlagged",
    "AnomalyResolved",
    "AlertRaised",
    "AlertAcknowledged",
    "SessionScheduled",
    "SessionStarted",
    "SessionEnded",
    "EmployeeHired",
    "EmployeeDetailsChanged",
    "UserAdded",
    "DeviceRegistered",
    "AuditExported",
    "PhotoOriginalPurged",
    "PersonErased",
)


class BadInstant(ValueError):
    """A time in a page's form that is not one."""


def local_instant(value: str | None, tz: ZoneInfo) -> datetime | None:
    """A form's time: `2026-12-07T10:05[:30]` is the plant's wall clock; with an offset it is
    that instant. Empty: None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInstant(value) from None
    if not 1900 <= parsed.year <= 3000:  # far from datetime's overflow when converted
        raise BadInstant(value)
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def _local_input(moment: datetime | None, tz: ZoneInfo) -> str:
    """The value of a `datetime-local` input for `moment`."""
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S") if moment else ""


async def _auditor(request: Request[Any, Any, Any]) -> tuple[Principal, Viewer]:
    principal = require_principal(request)
    viewer = await viewer_of(muster_of(request).store, principal.scope, principal.employee_no)
    if viewer is None:
        raise Problem(403, "forbidden", "problem.forbidden")
    return principal, viewer


def _filter(request: Request[Any, Any, Any], tz: ZoneInfo, limit: int) -> HistoryFilter:
    q = request.query_params
    after = q.get("after")
    before = q.get("before")
    return HistoryFilter(
        person=(q.get("person") or "").strip() or None,
        session=(q.get("session") or "").strip() or None,
        device=(q.get("device") or "").strip() or None,
        event=(q.get("event") or "").strip() or None,
        actor=(q.get("actor") or "").strip() or None,
        start=local_instant(q.get("from"), tz),
        end=local_instant(q.get("to"), tz),
        before=int(before) if before and before.isdigit() else None,
        after=int(after) if after and after.isdigit() else None,
        limit=limit,
    )


async def _history(
    request: Request[Any, Any, Any], viewer: Viewer, wanted: HistoryFilter
) -> HistoryPage:
    muster = muster_of(request)
    return await asyncio.to_thread(
        history, muster.store, muster.app.recorder, muster.app.mapper, viewer.scope.path, wanted
    )


def _page(request: Request[Any, Any, Any], **cursor: int) -> str:
    """The address of the same filtered history at another cursor."""
    kept = {
        k: v for k, v in request.query_params.items() if k not in ("before", "after", "lang") and v
    }
    return "/audit?" + urlencode({**kept, **cursor})


@get("/audit")
async def audit_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The audit trail, newest first, narrowed by person, session, device, event, actor and
    time; each entry opens its event's content and, for a session, the state at that time."""
    principal, viewer = await _auditor(request)
    muster = muster_of(request)
    lang = lang_of(request)
    tz = muster.settings.plant_tz
    error = None
    try:
        wanted = _filter(request, tz, query_int(request, "limit", 50, low=1, high=200))
        found = await _history(request, viewer, wanted)
    except BadInstant as bad:
        error = tf("audit.bad_time", lang, {"value": str(bad)[:64]})
        wanted, found = HistoryFilter(), HistoryPage([], None, None)
    entries = [
        {**e, "content": json.dumps(e["record"]["state"], ensure_ascii=False, indent=1)}
        if e["record"]
        else {**e, "content": ""}
        for e in found.entries
    ]
    page = render(
        "audit.html",
        lang,
        principal=principal,
        wanted=wanted,
        form={
            **{k: request.query_params.get(k) or "" for k in ("person", "session", "device")},
            **{k: request.query_params.get(k) or "" for k in ("event", "actor")},
            "from": _local_input(wanted.start, tz),
            "to": _local_input(wanted.end, tz),
        },
        entries=entries,
        older=_page(request, before=found.older) if found.older else None,
        newer=_page(request, after=found.newer) if found.newer else None,
        events=COMMON_EVENTS,
        scope=viewer.scope.code,
        tz=tz,
        zone=muster.settings.plant_timezone,
        error=error,
    )
    return html_page(request, page, lang)


@get("/api/v1/audit/history")
async def audit_history_api(request: Request[Any, Any, Any]) -> Response[Any]:
    """The audit page's entries as JSON: `person`, `session`, `device`, `event`, `actor`,
    `from`, `to` (ISO 8601), `before`/`after` (cursors), `limit` ≤ 200."""
    _, viewer = await _auditor(request)
    now = datetime.now(UTC)
    q = request.query_params
    wanted = HistoryFilter(
        person=q.get("person") or None,
        session=q.get("session") or None,
        device=q.get("device") or None,
        event=q.get("event") or None,
        actor=q.get("actor") or None,
        start=parse_instant(q.get("from"), now, "from") if q.get("from") else None,
        end=parse_instant(q.get("to"), now, "to") if q.get("to") else None,
        before=query_int(request, "before", 0) or None,
        after=query_int(request, "after", 0) or None,
        limit=query_int(request, "limit", 50, low=1, high=200),
    )
    found = await _history(request, viewer, wanted)
    return json_response({"entries": found.entries, "older": found.older, "newer": found.newer})


async def _as_of(
    request: Request[Any, Any, Any], viewer: Viewer, session: str, at: datetime
) -> SessionAsOf | None:
    muster = muster_of(request)
    row = await muster.store.afetch_one(
        "SELECT id FROM sessions WHERE id = :s OR code = :s ORDER BY id LIMIT 1", {"s": session}
    )
    if row is None:
        return None
    return await session_as_of(muster, at, row["id"], viewer)


@get("/audit/as-of")
async def as_of_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """A session as it stood at a chosen instant: its page, its anomalies with the status
    they had then, and its plant's wallboard, all replayed from the event log."""
    principal, viewer = await _auditor(request)
    muster = muster_of(request)
    lang = lang_of(request)
    tz = muster.settings.plant_tz
    session = (request.query_params.get("session") or "").strip()
    raw_at = request.query_params.get("at") or ""
    error, view, at = None, None, None
    try:
        at = local_instant(raw_at, tz)
    except BadInstant:
        error = tf("audit.bad_time", lang, {"value": raw_at[:64]})
    if session and at is not None:
        view = await _as_of(request, viewer, session, at)
        if view is None:
            error = t("audit.as_of.unknown", lang)
    elif not error:
        error = t("audit.as_of.pick", lang)
    page = render(
        "audit_as_of.html",
        lang,
        principal=principal,
        form={"session": session, "at": _local_input(at, tz) if at else raw_at},
        view=view,
        session=view.session if view else None,
        board=view.wallboard if view else None,
        now=at,
        oob=False,
        anomalies_apart=True,
        history_url="/audit?" + urlencode({"session": session}),
        tz=tz,
        zone=muster.settings.plant_timezone,
        error=error,
    )
    response = html_page(request, page, lang)
    response.status_code = 200 if view or not session else 404
    return response


@get("/api/v1/audit/as-of")
async def as_of_api(request: Request[Any, Any, Any]) -> Response[Any]:
    """`?session_id=&at=ISO8601`: the session (as `/api/v1/sessions/{id}/attendance`), its
    anomalies (as `/api/v1/anomalies?session_id=`) and its plant's wallboard, at `at`."""
    _, viewer = await _auditor(request)
    session = request.query_params.get("session_id") or ""
    at = parse_instant(request.query_params.get("at"), datetime.now(UTC), "at")
    view = await _as_of(request, viewer, session, at) if session else None
    if view is None:
        raise Problem(404, "unknown-session", "problem.unknown_session", session_id=session)
    body = asdict(view)
    body["as_of"] = at.isoformat()
    del body["instant"]
    body["anomalies"] = [anomaly_view(a) for a in view.anomalies]  # as /api/v1/anomalies
    return json_response(body)


audit_page_handlers = [audit_page, audit_history_api, as_of_page, as_of_api]
