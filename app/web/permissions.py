"""Who may do what: one table, enforced for every route by one Litestar guard.

Each route (method and path as Litestar registers it) names the roles that may call it.
`OPEN` routes need no login (the login form, static files, the API description, the shells of
the kiosk and phone pages). `DEVICE` routes are also open to callers without a login, because
a check-in device proves itself with its device token in the handler; logins calling them must
have a listed role. Scopes (which plants, which people) are then the queries' business
(`app.projections.visibility`). A route missing here is refused to everyone, and
`tests/security/test_permissions.py` fails naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from app.domain.access import Role
from app.web.auth import principal_of
from app.web.problems import Problem

EMPLOYEE, INTEGRATION = Role.EMPLOYEE, Role.INTEGRATION
TRAINER, DEPT_HEAD, HR = Role.TRAINER, Role.DEPT_HEAD, Role.HR
PLANT_MANAGER, AUDITOR, ADMIN = Role.PLANT_MANAGER, Role.AUDITOR, Role.ADMIN

#: staff who read what happens in their scope
STAFF = frozenset({TRAINER, DEPT_HEAD, HR, PLANT_MANAGER, AUDITOR, ADMIN})
#: staff who act on it (auditors only read)
ACTING_STAFF = STAFF - {AUDITOR}
#: who may change the training plan (every staff member may look at it)
PLANNERS = frozenset({HR, DEPT_HEAD, PLANT_MANAGER, ADMIN})
#: every person who logs in (an integration login is a job, not a person)
PEOPLE = STAFF | {EMPLOYEE}
EVERY_LOGIN = frozenset(Role.ALL)


@dataclass(frozen=True)
class Rule:
    """Roles that may call a route; `anonymous`: also callers without a login."""

    roles: frozenset[str]
    anonymous: bool = False


OPEN = Rule(EVERY_LOGIN, anonymous=True)


def DEVICE(*roles: str) -> Rule:
    """A device-token route; logins with `roles` may call it too."""
    return Rule(frozenset(roles), anonymous=True)


def ROLES(*groups: frozenset[str] | str) -> Rule:
    roles: set[str] = set()
    for group in groups:
        roles |= {group} if isinstance(group, str) else set(group)
    return Rule(frozenset(roles))


PERMISSIONS: dict[tuple[str, str], Rule] = {
    # logging in
    ("GET", "/login"): OPEN,
    ("POST", "/login"): OPEN,
    ("POST", "/logout"): OPEN,
    ("POST", "/api/v1/auth/token"): OPEN,
    ("DELETE", "/api/v1/auth/token"): ROLES(EVERY_LOGIN),
    ("GET", "/account/two-factor"): ROLES(EVERY_LOGIN),
    ("POST", "/account/two-factor"): ROLES(EVERY_LOGIN),
    # devices, kiosks and phones
    ("POST", "/api/v1/checkins"): DEVICE(EMPLOYEE),
    ("POST", "/api/v1/checkins/batch"): DEVICE(EMPLOYEE),
    ("POST", "/api/v1/photos"): DEVICE(EMPLOYEE),
    ("POST", "/api/v1/face-enrolments"): DEVICE(EMPLOYEE),
    ("DELETE", "/api/v1/face-enrolments/{employee_id:str}"): DEVICE(EMPLOYEE, HR, ADMIN),
    ("GET", "/api/v1/kiosk"): DEVICE(),
    ("GET", "/api/v1/sessions/{session_id:str}/qr"): DEVICE(*STAFF),
    ("GET", "/sessions/{session_id:str}/qr"): DEVICE(*STAFF),
    ("POST", "/api/v1/qr-codes/resolve"): ROLES(PEOPLE),
    ("GET", "/api/v1/me/employee"): ROLES(EMPLOYEE),
    ("GET", "/kiosk"): OPEN,
    ("GET", "/m"): OPEN,
    ("GET", "/sw.js"): OPEN,
    # reading what happened
    ("GET", "/api/v1/sessions"): ROLES(STAFF),
    ("GET", "/api/v1/sessions/{session_id:str}/attendance"): ROLES(STAFF),
    ("GET", "/api/v1/photos/{photo_id:str}"): ROLES(STAFF),
    ("GET", "/photos/{photo_id:str}"): ROLES(STAFF),
    ("GET", "/api/v1/conflicts"): ROLES(STAFF),
    ("GET", "/api/v1/compliance"): ROLES(STAFF),
    ("GET", "/api/v1/compliance/export"): ROLES(STAFF),
    ("GET", "/api/v1/effect"): ROLES(STAFF),
    ("GET", "/api/v1/events"): ROLES(AUDITOR, ADMIN),
    ("GET", "/api/v1/audit/history"): ROLES(AUDITOR, ADMIN),
    ("GET", "/api/v1/audit/as-of"): ROLES(AUDITOR, ADMIN),
    ("GET", "/api/v1/alerts"): ROLES(PEOPLE),
    ("GET", "/api/v1/anomalies"): ROLES(STAFF),
    ("POST", "/api/v1/anomalies/{anomaly_id:str}/resolution"): ROLES(ACTING_STAFF),
    ("GET", "/api/v1/calendar"): ROLES(PEOPLE),
    ("GET", "/api/v1/me/sessions"): ROLES(EMPLOYEE),
    ("GET", "/api/v1/me/effect"): ROLES(EMPLOYEE),
    ("GET", "/api/v1/me/notices"): ROLES(EMPLOYEE),
    # a calendar feed proves itself with the key in its address
    ("GET", "/ical/{kind:str}/{name:str}"): OPEN,
    ("POST", "/api/v1/alerts/{alert_id:str}/acknowledge"): ROLES(ACTING_STAFF),
    # pages
    ("GET", "/"): ROLES(PEOPLE),
    ("GET", "/plants/{plant:str}/wallboard"): ROLES(STAFF),
    ("GET", "/sessions/{session_id:str}"): ROLES(STAFF),
    ("GET", "/photos/{photo_id:str}/evidence"): ROLES(STAFF),
    ("GET", "/alerts"): ROLES(PEOPLE),
    ("POST", "/alerts/{alert_id:str}/acknowledge"): ROLES(ACTING_STAFF),
    ("GET", "/live"): ROLES(STAFF),
    ("GET", "/review"): ROLES(STAFF),
    ("GET", "/audit"): ROLES(AUDITOR, ADMIN),
    ("GET", "/audit/as-of"): ROLES(AUDITOR, ADMIN),
    ("POST", "/review/resolve"): ROLES(ACTING_STAFF),
    ("GET", "/compliance"): ROLES(STAFF),
    ("GET", "/plans/concurrent"): ROLES(STAFF),
    ("GET", "/plans"): ROLES(STAFF),
    ("GET", "/plans/sessions/new"): ROLES(STAFF),
    ("GET", "/plans/sessions/{session_id:str}"): ROLES(STAFF),
    ("GET", "/reports"): ROLES(STAFF),
    ("GET", "/reports/export/{fmt:str}"): ROLES(STAFF),
    ("GET", "/reports/custom"): ROLES(STAFF),
    ("POST", "/reports/custom"): ROLES(STAFF),
    ("GET", "/m/effect"): ROLES(EMPLOYEE),
    ("WS", "/ws/live"): ROLES(PEOPLE),
    # changing the plant's data
    ("POST", "/api/v1/imports/{kind:str}"): ROLES(HR, ADMIN),
    # the planner: HR and department heads plan (their plant managers and admins too)
    ("POST", "/plans/sessions"): ROLES(PLANNERS),
    ("POST", "/plans/sessions/{session_id:str}"): ROLES(PLANNERS),
    ("POST", "/plans/sessions/{session_id:str}/cancel"): ROLES(PLANNERS),
    ("GET", "/api/v1/imports/{kind:str}/template"): OPEN,  # empty column headers only
    ("POST", "/api/v1/metrics"): ROLES(INTEGRATION, ADMIN),
    # files and the API description
    ("GET", "/static/{file_path:path}"): OPEN,
    **{
        ("GET", path): OPEN
        for path in (
            "/schema",
            "/schema/openapi.json",
            "/schema/openapi.yml",
            "/schema/openapi.yaml",
            "/schema/rapidoc",
            "/schema/redoc",
            "/schema/swagger",
            "/schema/elements",
            "/schema/oauth2-redirect.html",
            "/schema/{path:str}",
        )
    },
}


class LoginFirst(Exception):
    """A page asked for without a login: the browser is sent to the login form."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def login_first(_: Request[Any, Any, Any], exc: LoginFirst) -> Response[Any]:
    """The login form, coming back to the page afterwards."""
    return Redirect(f"/login?next={quote(exc.path)}")


#: `/ws/live` scopes that mirror a page only some roles may open need that page's roles (the
#: others are open to whoever may use the socket, inside their org subtree)
LIVE_SCOPES: dict[str, Rule] = {
    "board": PERMISSIONS[("GET", "/live")],  # HR's live board
}


def live_scope_permitted(role: str, scope: str) -> bool:
    """Whether `role` may follow the live scope `scope` (`kind:key`)."""
    rule = LIVE_SCOPES.get(scope.partition(":")[0])
    return rule is None or role in rule.roles


def _bare(path: str) -> str:
    """`/sessions/{session_id:str}` and `/sessions/{session_id}` name the same route."""
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


_BY_BARE_PATH = {(method, _bare(path)): rule for (method, path), rule in PERMISSIONS.items()}


def route_key(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str, str]:
    """(method, path template) of the route a request matched."""
    method = "WS" if connection.scope["type"] == "websocket" else connection.scope["method"]
    template = connection.scope.get("path_template") or connection.scope["path"]
    return ("GET" if method == "HEAD" else method, _bare(template))


def permitted(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The guard on every route: the caller's role must be in the route's row."""
    key = route_key(connection)
    if key[0] == "OPTIONS":
        return
    rule = _BY_BARE_PATH.get(key)
    principal = principal_of(connection)
    if rule is not None and principal is None and rule.anonymous:
        return
    if principal is None:
        if key[0] == "GET" and not key[1].startswith(("/api/", "/ws/")):
            raise LoginFirst(connection.url.path)
        raise Problem(401, "login-required", "problem.login_required", refused_by="permissions")
    if rule is None or principal.role not in rule.roles:
        raise Problem(403, "forbidden", "problem.forbidden", refused_by="permissions")
