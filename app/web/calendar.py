"""An employee's own sessions (`GET /api/v1/me/sessions`, for the phone page) and iCalendar
feeds per person and per org unit, which calendar apps fetch with a signed key in the URL
(they cannot log in)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from app.projections import queries
from app.stores.base import from_iso, iso
from app.web.auth import require_principal
from app.web.common import json_response, muster_of
from app.web.problems import Problem

PAST, AHEAD = timedelta(days=30), timedelta(days=180)
SESSION_COLUMNS = (
    "s.id, s.code, s.title, s.course, s.plant, s.room, s.trainer, s.starts_at, s.ends_at, s.status"
)


def feed_key(secret: bytes, kind: str, key: str) -> str:
    """The key that opens one feed (`person`/`org` and its code): signed, never guessable."""
    return hmac.new(secret, f"ical:{kind}:{key}".encode(), hashlib.sha256).hexdigest()[:32]


async def _person(store: Any, employee_no: str, now: datetime) -> list[dict[str, Any]]:
    """The sessions a person is on (roster or walk-in), 30 days back to 180 ahead."""
    return await store.afetch(
        f"SELECT {SESSION_COLUMNS}, a.status AS my_status, a.checked_in_at FROM sessions s "
        "JOIN attendance a ON a.session_id = s.id WHERE a.employee_no = :no "
        "AND s.starts_at < :end AND s.ends_at > :start ORDER BY s.starts_at",
        {"no": employee_no, "start": iso(now - PAST), "end": iso(now + AHEAD)},
    )


async def _org(store: Any, path: str, now: datetime) -> list[dict[str, Any]]:
    """The sessions anyone in the org unit's subtree is on the roster of."""
    return await store.afetch(
        f"SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id IN (SELECT a.session_id "
        "FROM attendance a JOIN employees e ON e.employee_no = a.employee_no "
        "JOIN org_units o ON o.code = e.org_unit WHERE o.path LIKE :prefix "
        "AND a.on_roster = 1) AND s.starts_at < :end AND s.ends_at > :start "
        "ORDER BY s.starts_at",
        {"prefix": path + "%", "start": iso(now - PAST), "end": iso(now + AHEAD)},
    )


@get("/api/v1/me/sessions")
async def my_sessions(request: Request[Any, Any, Any]) -> Response[Any]:
    """The logged-in employee's sessions from 30 days back to 180 ahead, with their own status,
    and the address of their calendar feed."""
    muster = muster_of(request)
    principal = require_principal(request)
    if not principal.employee_no:
        raise Problem(403, "forbidden", "problem.forbidden")
    rows = await _person(muster.store, principal.employee_no, datetime.now(UTC))
    key = feed_key(muster.secret, "person", principal.employee_no)
    return json_response(
        {
            "employee_no": principal.employee_no,
            "sessions": rows,
            "calendar": f"/ical/person/{principal.employee_no}.ics?key={key}",
        }
    )


@get("/api/v1/calendar")
async def org_calendar(request: Request[Any, Any, Any]) -> Response[Any]:
    """The calendar feed address of an org unit inside the caller's scope."""
    muster = muster_of(request)
    principal = require_principal(request)
    code = request.query_params.get("org") or principal.scope
    scope = await queries.scope_of(muster.store, principal.scope)
    org = await queries.scope_of(muster.store, code)
    if org is None or scope is None or not org.path.startswith(scope.path):
        raise Problem(403, "forbidden", "problem.forbidden")
    return json_response(
        {
            "org": code,
            "calendar": f"/ical/org/{code}.ics?key={feed_key(muster.secret, 'org', code)}",
        }
    )


@get("/ical/{kind:str}/{name:str}")
async def ical_feed(
    request: Request[Any, Any, Any], kind: FromPath[str], name: FromPath[str]
) -> Response[bytes]:
    """`/ical/person/E10001.ics?key=…` or `/ical/org/SZ1-WELD.ics?key=…` (text/calendar)."""
    muster = muster_of(request)
    code = name.removesuffix(".ics")
    given = request.query_params.get("key", "")
    if kind not in ("person", "org") or not hmac.compare_digest(
        given, feed_key(muster.secret, kind, code)
    ):
        raise Problem(403, "forbidden", "problem.forbidden")
    now = datetime.now(UTC)
    if kind == "person":
        rows = await _person(muster.store, code, now)
    else:
        org = await queries.scope_of(muster.store, code)
        if org is None:
            raise Problem(404, "unknown-org", "problem.unknown_org", org=code)
        rows = await _org(muster.store, org.path, now)
    return Response(
        ical(f"Muster · {code}", rows, now).encode(),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{code}.ics"'},
    )


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _stamp(value: str | datetime) -> str:
    moment = from_iso(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> list[str]:
    """RFC 5545: lines of at most 75 octets, continued with a leading space."""
    out, current = [], ""
    for char in line:
        if len((current + char).encode()) > (75 if not out else 74):
            out.append(current)
            current = ""
        current += char
    out.append(current)
    return [out[0], *(" " + part for part in out[1:])]


def ical(name: str, sessions: list[dict[str, Any]], now: datetime) -> str:
    """An iCalendar document of `sessions` (cancelled ones marked so calendars drop them)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Muster//Training sessions//ZH",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_text(name)}",
    ]
    for s in sessions:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{s['id']}@muster",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(s['starts_at'])}",
            f"DTEND:{_stamp(s['ends_at'])}",
            f"SUMMARY:{_text(s['title'])}",
            f"LOCATION:{_text(s['room'])}",
            f"DESCRIPTION:{_text(s['code'] + ' · ' + (s['trainer'] or ''))}",
            f"STATUS:{'CANCELLED' if s['status'] == 'cancelled' else 'CONFIRMED'}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(part for line in lines for part in _fold(line)) + "\r\n"


calendar_handlers = [my_sessions, org_calendar, ical_feed]
