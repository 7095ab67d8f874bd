"""The role × route matrix: every registered route is in the permissions table, and every
role gets exactly what the table says (a guard refusal says `"refused_by": "permissions"`)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from app.bootstrap import build
from app.domain.access import Role
from app.web.app import create_app
from app.web.permissions import PERMISSIONS
from tests.conftest import LiveServer, Plant, make_settings

ANONYMOUS = "anonymous"


def test_every_route_is_in_the_permissions_table(tmp_path: Path) -> None:
    muster = build(make_settings("sqlite", tmp_path, "public"))
    try:
        app = create_app(muster, start_projections=False)
        missing = [
            f"{method} {route.path}"
            for route in app.routes
            for method in sorted((getattr(route, "methods", None) or {"WS"}) - {"OPTIONS", "HEAD"})
            if (method, route.path) not in PERMISSIONS
        ]
    finally:
        muster.close()
    assert not missing, (
        "routes missing from PERMISSIONS in app/web/permissions.py (say which roles may call "
        "them): " + ", ".join(missing)
    )


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_each_role_gets_what_the_table_says_on_every_route(
    server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    for role in Role.ALL:
        employee = "E01" if role == Role.EMPLOYEE else None
        muster.app.add_user(f"matrix-{role}", role, "G", "t", "matrix-pw", employee_no=employee)
    assert muster.runner.wait_until_caught_up(30)
    tokens: dict[str, str | None] = {ANONYMOUS: None}
    for role in Role.ALL:
        reply = httpx.post(
            f"{server.url}/api/v1/auth/token",
            json={"login": f"matrix-{role}", "password": "matrix-pw"},
        )
        assert reply.status_code == 200, reply.text
        tokens[role] = reply.json()["token"]
    wrong: list[str] = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        # the routes that end a login's sessions go last: every token stops after them
        ending = {("DELETE", "/api/v1/auth/token"), ("POST", "/logout")}
        for (method, path), rule in sorted(
            PERMISSIONS.items(), key=lambda kv: (kv[0] in ending, kv[0])
        ):
            if method == "WS":
                continue
            for who, token in tokens.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                reply = client.request(method, concrete(path), headers=headers, json={})
                refused = (reply.status_code in (401, 403) and '"permissions"' in reply.text) or (
                    reply.status_code == 302 and reply.headers["location"].startswith("/login?")
                )
                allowed = rule.anonymous if who == ANONYMOUS else who in rule.roles
                if allowed == refused:
                    wrong.append(f"{who} {method} {path}: {reply.status_code} {reply.text[:80]}")
    assert not wrong, "the guard disagrees with PERMISSIONS:\n" + "\n".join(wrong)
