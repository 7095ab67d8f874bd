"""Alerts on the web: `GET /api/v1/alerts` (the contract), acknowledging one, and the inbox
page. A caller sees the alerts they receive and those about anything inside their scope."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from app.alerts import queries as alert_queries
from app.domain.alerts import AlertRule
from app.projections import queries
from app.web.alert_text import describe
from app.web.auth import Principal, principal_of, require_principal
from app.web.common import (
    decode_json,
    html_page,
    json_response,
    lang_of,
    login_redirect,
    muster_of,
)
from app.web.problems import Problem
from app.web.render import render

#: roles that see only what is addressed to them, whatever their scope
OWN_ONLY_ROLES = frozenset({"employee"})


class AlertSubject(msgspec.Struct, omit_defaults=True):
    org_code: str | None = None
    session_id: str | None = None
    device: str | None = None
    employee_no: str | None = None
    course: str | None = None


class AlertOut(msgspec.Struct, omit_defaults=True):
    """One alert as the contract lists it (plus `title`, `plant`, `facts`, `acknowledged_*`)."""

    id: str
    rule: str
    status: Literal["open", "acknowledged", "resolved"]
    subject: AlertSubject
    recipients: list[str]
    raised_at: str
    detail: str
    title: str
    plant: str | None = None
    facts: dict[str, Any] = {}
    resolved_at: str | None = None
    resolved_reason: str | None = None
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None


class AlertsReply(msgspec.Struct):
    alerts: list[AlertOut]


class AcknowledgeRequest(msgspec.Struct, kw_only=True):
    note: str = ""


async def _scope_path(request: Request[Any, Any, Any], principal: Principal) -> str | None:
    if principal.role in OWN_ONLY_ROLES:
        return None
    scope = await queries.scope_of(muster_of(request).store, principal.scope)
    return scope.path if scope else None


async def visible_alerts(
    request: Request[Any, Any, Any], principal: Principal, lang: str, **filters: str | None
) -> list[AlertOut]:
    """The caller's alerts, worded in `lang`."""
    views = await alert_queries.alerts_for(
        muster_of(request).store,
        principal.login,
        await _scope_path(request, principal),
        **filters,  # type: ignore[arg-type]
    )
    out = []
    for view in views:
        title, detail = describe(view, lang)
        out.append(msgspec.convert({**view, "title": title, "detail": detail}, AlertOut))
    return out


def _filter(request: Request[Any, Any, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise Problem(
            422,
            "invalid-query",
            "problem.invalid_query",
            errors=[f"{name} must be one of {', '.join(allowed)}"],
        )
    return value


@get("/api/v1/alerts")
async def get_alerts(request: Request[Any, Any, Any]) -> Response[AlertsReply]:
    """Alerts for the caller (`status`, `rule` and `session_id` narrow them), newest first."""
    principal = require_principal(request, muster_of(request).secret)
    alerts = await visible_alerts(
        request,
        principal,
        lang_of(request),
        status=_filter(request, "status", alert_queries.STATUSES),
        rule=_filter(request, "rule", tuple(AlertRule)),
        session_id=request.query_params.get("session_id") or None,
    )
    return json_response(AlertsReply(alerts))


async def _acknowledge(
    request: Request[Any, Any, Any], principal: Principal, alert_id: str, note: str
) -> bool:
    muster = muster_of(request)
    try:
        UUID(alert_id)
    except ValueError as exc:
        raise Problem(404, "unknown-alert", "problem.unknown_alert", alert_id=alert_id) from exc
    if not await alert_queries.alert_visible(
        muster.store, alert_id, principal.login, await _scope_path(request, principal)
    ):
        raise Problem(404, "unknown-alert", "problem.unknown_alert", alert_id=alert_id)
    done = await asyncio.to_thread(
        muster.app.acknowledge_alert, UUID(alert_id), principal.login, note[:500], datetime.now(UTC)
    )
    if done is None:
        raise Problem(404, "unknown-alert", "problem.unknown_alert", alert_id=alert_id)
    if done:
        await asyncio.to_thread(muster.runner.wait_until_caught_up, 5.0)
    return done


@post("/api/v1/alerts/{alert_id:str}/acknowledge", status_code=200)
async def post_acknowledge(
    request: Request[Any, Any, Any], alert_id: FromPath[str]
) -> Response[Any]:
    """Acknowledge an open alert (`{"note": "..."}` optional): the others see who took it.
    An alert already acknowledged or resolved answers 409."""
    principal = require_principal(request, muster_of(request).secret)
    raw = await decode_json(request, 16 * 1024) if await request.body() else {}
    try:
        body = msgspec.convert(raw, AcknowledgeRequest)
    except msgspec.ValidationError as exc:
        raise Problem(422, "invalid-body", "problem.invalid_body", errors=[str(exc)]) from exc
    if not await _acknowledge(request, principal, alert_id, body.note):
        raise Problem(409, "alert-not-open", "problem.alert_not_open", alert_id=alert_id)
    return json_response({"id": alert_id, "status": "acknowledged"})


@get("/alerts")
async def inbox_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """The inbox: open alerts first, then the day's acknowledged and resolved ones."""
    muster = muster_of(request)
    principal = principal_of(request, muster.secret)
    if principal is None:
        return login_redirect("/alerts")
    lang = lang_of(request)
    status = request.query_params.get("status") or None
    if status not in (None, *alert_queries.STATUSES):
        status = None
    alerts = await visible_alerts(request, principal, lang, status=status)
    alerts.sort(key=lambda a: (a.status != "open", a.status != "acknowledged"))
    tz = muster.settings.plant_tz
    page = render("alerts.html", lang, tz=tz, principal=principal, alerts=alerts, status=status)
    return html_page(request, page, lang)


@post("/alerts/{alert_id:str}/acknowledge")
async def acknowledge_form(request: Request[Any, Any, Any], alert_id: FromPath[str]) -> Redirect:
    principal = principal_of(request, muster_of(request).secret)
    if principal is None:
        return login_redirect("/alerts")
    await _acknowledge(request, principal, alert_id, "")
    return Redirect("/alerts")


alert_handlers = [get_alerts, post_acknowledge, inbox_page, acknowledge_form]
