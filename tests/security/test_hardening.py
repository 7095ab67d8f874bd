"""Hardening: every form and API call that rides on the session cookie is refused from
another site and, when it names no origin at all, without its session's form token; `Bearer`
clients need no token; and `muster serve` with a certificate serves HTTPS only, with HSTS and a
Secure cookie."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

import httpx
import pytest

from app.tls import self_signed
from app.web.permissions import PERMISSIONS
from app.web.security import CREDENTIAL_POSTS
from tests.conftest import LiveServer, Plant, free_port
from tests.support.forms import form_token


@pytest.fixture
def backend() -> str:
    return "sqlite"  # limits, headers and TLS live in the web layer, the same on both stores


# -- cross-site requests ---------------------------------------------------------------------

UNSAFE = sorted(
    (method, re.sub(r"\{[^}]+\}", "x", path))
    for method, path in PERMISSIONS
    if method in ("POST", "PUT", "PATCH", "DELETE")
)


@pytest.fixture
def cookie(server: LiveServer, plant: Plant) -> str:
    login = httpx.post(
        f"{server.url}/login",
        data={"login": "hr", "password": "hr-password"},
        headers={"Origin": server.url},
    )
    assert login.status_code in (302, 303), login.text
    return str(login.cookies["muster_session"])


@pytest.mark.parametrize(("method", "path"), UNSAFE)
def test_every_form_and_call_with_the_session_cookie_is_refused_from_another_site(
    server: LiveServer, cookie: str, method: str, path: str
) -> None:
    for origin in ("https://evil.example", "null"):
        reply = httpx.request(
            method,
            f"{server.url}{path}",
            cookies={"muster_session": cookie},
            headers={"Origin": origin},
            data={"x": "1"},
        )
        assert reply.status_code == 403, (origin, reply.text)
        assert reply.json()["type"].endswith("/cross-site-request")
    # a page of the site itself gets past this check (to whatever the route then says)
    same = httpx.request(
        method,
        f"{server.url}{path}",
        cookies={"muster_session": cookie},
        headers={"Origin": server.url},
        data={"x": "1"},
    )
    assert "cross-site-request" not in same.text


def _page_token(server: LiveServer, cookie: str) -> str:
    """The form token a page hands its forms and htmx requests (the same one)."""
    page = httpx.get(f"{server.url}/alerts", cookies={"muster_session": cookie})
    assert page.status_code == 200, page.text
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([0-9a-f]+)"\}\'', page.text)
    assert header is not None and header.group(1) == form_token(page.text)
    return header.group(1)


class Forged(TypedDict, total=False):
    """A post's body as a browser on another site can send it without a preflight."""

    data: dict[str, str]
    files: dict[str, tuple[str, bytes, str]]
    content: bytes
    headers: dict[str, str]


@pytest.mark.parametrize(
    "path", [p for m, p in UNSAFE if m == "POST" and p not in CREDENTIAL_POSTS]
)
def test_every_form_post_with_the_session_cookie_needs_its_form_token_without_an_origin(
    server: LiveServer, cookie: str, path: str
) -> None:
    method = "POST"
    token = _page_token(server, cookie)
    other = _page_token(server, _log_in(server, "sz1", "sz1-password"))
    url = f"{server.url}{path}"
    jar = {"muster_session": cookie}
    forged: list[Forged] = [
        {"data": {"x": "1"}},
        {"files": {"file": ("x.csv", b"x\n", "text/csv")}},
        {"content": b"x=1", "headers": {"Content-Type": "text/plain"}},
        {"content": b""},
    ]
    for body in forged:
        for sent in ({}, {"X-CSRFToken": other}, {"X-CSRFToken": "0" * 64}):
            reply = httpx.request(
                method,
                url,
                cookies=jar,
                headers={**body.get("headers", {}), **sent},
                data=body.get("data"),
                files=body.get("files"),
                content=body.get("content"),
            )
            assert reply.status_code == 403, (body, sent, reply.text)
            assert reply.headers["content-type"].startswith("application/problem+json")
            assert reply.json()["type"].endswith("/form-token")
    # the page's token, as htmx sends it or as a form field, gets past this check
    by_header = httpx.request(
        method, url, cookies=jar, headers={"X-CSRFToken": token}, data={"x": "1"}
    )
    by_field = httpx.request(method, url, cookies=jar, data={"x": "1", "_csrf_token": token})
    for reply in (by_header, by_field):
        assert "form-token" not in reply.text and "cross-site-request" not in reply.text


@pytest.mark.parametrize(
    ("method", "path"),
    [(m, p) for m, p in UNSAFE if not (m == "POST" and p in CREDENTIAL_POSTS)],
)
def test_calls_no_other_site_can_send_without_a_preflight_need_no_form_token(
    server: LiveServer, cookie: str, method: str, path: str
) -> None:
    """A JSON body, PUT, PATCH or DELETE from another site's page needs a CORS preflight that
    Muster never grants, so a script holding the cookie may send them without the token (the
    route then answers for itself)."""
    jar = {"muster_session": cookie}
    reply = httpx.request(method, f"{server.url}{path}", cookies=jar, json={"x": "1"})
    assert "form-token" not in reply.text and "cross-site-request" not in reply.text
    if method != "POST":
        bare = httpx.request(method, f"{server.url}{path}", cookies=jar)
        assert "form-token" not in bare.text


def _log_in(server: LiveServer, login: str, password: str) -> str:
    reply = httpx.post(f"{server.url}/login", data={"login": login, "password": password})
    assert reply.status_code in (302, 303), reply.text
    return str(reply.cookies["muster_session"])


def test_bearer_clients_and_logins_need_no_form_token(
    server: LiveServer, plant: Plant, cookie: str
) -> None:
    """Tablets and scripts send no token (contract), even from a browser holding a cookie."""
    jar = {"muster_session": cookie}
    token = httpx.post(
        f"{server.url}/api/v1/auth/token",
        json={"login": "hr", "password": "hr-password"},
        cookies=jar,
    )
    assert token.status_code == 200, token.text
    staff = {"Authorization": f"Bearer {token.json()['token']}"}
    device = {"Authorization": f"Bearer {plant.p1_token}"}
    checkin = {
        "client_event_id": "7d7c2a52-3c3f-4a63-9d59-0b7f6f9d2f01",
        "session_id": plant.session_id,
        "method": "badge",
        "badge_uid": next(iter(plant.badges.values())),
        "device_time": "2026-01-01T08:00:00+08:00",
        "device_seq": 1,
    }
    reply = httpx.post(f"{server.url}/api/v1/checkins", json=checkin, headers=device, cookies=jar)
    assert reply.status_code in (200, 201), reply.text
    revoked = httpx.delete(f"{server.url}/api/v1/auth/token", headers=staff, cookies=jar)
    assert revoked.status_code == 204, revoked.text
    again = httpx.post(f"{server.url}/login", data={"login": "hr", "password": "hr-password"})
    assert again.status_code in (302, 303), again.text


# -- HTTPS -----------------------------------------------------------------------------------


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`muster serve` in its own process with a generated certificate."""
    cert, key = self_signed(tmp_path / "tls", "127.0.0.1")
    port = free_port()
    env = {
        **os.environ,
        "MUSTER_STORE": f"sqlite:///{tmp_path / 'tls.db'}",
        "MUSTER_VAR_DIR": str(tmp_path),
        "MUSTER_SECRET_KEY": "tls-test",
        "MUSTER_TLS_CERT": str(cert),
        "MUSTER_TLS_KEY": str(key),
        "MUSTER_VISION_PROCESSES": "0",
    }
    setup = [sys.executable, "-m", "app.cli"]
    users = [*setup, "users", "add", "tls-hr", "--role", "hr", "--scope", "G"]
    subprocess.run(
        [*setup, "import", "org", str(_org_file(tmp_path))], env=env, check=True, timeout=120
    )
    added = subprocess.run(users, env=env, check=True, timeout=120, capture_output=True, text=True)
    password = added.stdout.strip().split()[-1]
    serving = subprocess.Popen(
        [*setup, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/login", verify=str(cert), timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or serving.poll() is not None:
                    raise
                time.sleep(0.3)
        (tmp_path / "password").write_text(password)
        yield url, cert
    finally:
        serving.terminate()
        serving.wait(timeout=30)


def _org_file(directory: Path) -> Path:
    path = directory / "org.csv"
    path.write_text("code,name,kind,parent_code\nG,Group,group,\nP1,Plant 1,plant,G\n")
    return path


def test_muster_serve_with_a_certificate_serves_https_only_with_hsts(
    https_server: tuple[str, Path], tmp_path: Path
) -> None:
    url, cert = https_server
    with httpx.Client(base_url=url, verify=str(cert)) as browser:
        page = browser.get("/login")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"].startswith("max-age=")
        login = browser.post(
            "/login",
            data={"login": "tls-hr", "password": (tmp_path / "password").read_text()},
            headers={"Origin": url},
        )
        assert login.status_code in (302, 303), login.text
        cookie = login.headers["set-cookie"].lower()
        assert "muster_session=" in cookie and "secure" in cookie and "httponly" in cookie
    with pytest.raises(httpx.HTTPError):  # no plain HTTP on the same port
        httpx.get(url.replace("https://", "http://") + "/login", timeout=5)
