"""Login as the contract says: two-factor enrolment and codes (a used code is refused),
recovery codes, one answer for any wrong part, throttling, login CSRF, headers."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pyotp
import pytest

from app.services import two_factor
from app.settings import Settings
from tests.conftest import LiveServer, Plant, make_settings
from tests.support.forms import form_token

STAFF_2FA = ["hr", "plant_manager", "auditor", "admin"]


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    """The shipped default: these roles must enrol in two-factor."""
    return make_settings(backend, tmp_path, pg_schema, two_factor_roles=STAFF_2FA)


def token(server: LiveServer, login: str, password: str, totp: str | None = None) -> httpx.Response:
    body = {"login": login, "password": password, **({"totp": totp} if totp else {})}
    return httpx.post(f"{server.url}/api/v1/auth/token", json=body)


def code_of(uri: str, at: float | None = None) -> str:
    return pyotp.parse_uri(uri).at(at or time.time())  # type: ignore[union-attr]


def test_enrolled_login_needs_its_code_and_a_code_works_once(
    server: LiveServer, plant: Plant
) -> None:
    enrolment = two_factor.enrol(server.muster.app.credentials, "sz1")
    assert enrolment.uri.startswith("otpauth://totp/Muster:sz1?")
    assert token(server, "sz1", "sz1-password").status_code == 401
    code = code_of(enrolment.uri)
    first = token(server, "sz1", "sz1-password", code)
    assert first.status_code == 200, first.text
    replayed = token(server, "sz1", "sz1-password", code)
    assert replayed.status_code == 401
    with httpx.Client(headers={"Authorization": f"Bearer {first.json()['token']}"}) as api:
        assert api.get(f"{server.url}/api/v1/sessions").status_code == 200


def test_a_recovery_code_logs_in_once(server: LiveServer, plant: Plant) -> None:
    enrolment = two_factor.enrol(server.muster.app.credentials, "sz1")
    spare = enrolment.recovery_codes[3]
    assert token(server, "sz1", "sz1-password", spare).status_code == 200
    assert token(server, "sz1", "sz1-password", spare).status_code == 401


def test_wrong_password_and_wrong_code_get_the_same_answer(
    server: LiveServer, plant: Plant
) -> None:
    enrolment = two_factor.enrol(server.muster.app.credentials, "sz1")
    wrong_code = token(server, "sz1", "sz1-password", "000000")
    wrong_password = token(server, "sz1", "guess", code_of(enrolment.uri))
    unknown = token(server, "nobody", "guess", "123456")
    assert wrong_code.status_code == wrong_password.status_code == unknown.status_code == 401
    assert wrong_code.json() == wrong_password.json() == unknown.json()


def test_a_staff_login_enrols_on_the_pages_then_needs_its_code(
    server: LiveServer, plant: Plant
) -> None:
    # a script's token follows CONTRACT: the code is needed once the login has enrolled
    assert token(server, "sz1", "sz1-password").status_code == 200
    with httpx.Client(base_url=server.url, headers={"Origin": server.url}) as browser:
        login = browser.post("/login", data={"login": "sz1", "password": "sz1-password"})
        assert (
            login.status_code in (302, 303) and login.headers["location"] == "/account/two-factor"
        )
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "muster_session=" in cookie
        assert browser.get("/api/v1/sessions").status_code == 401  # only enrolment is open
        page = browser.get("/account/two-factor")
        assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
        uri = re.search(r"(otpauth://totp/[^<\s]+)", page.text)
        assert uri is not None
        done = browser.post(
            "/account/two-factor",
            data={
                "code": code_of(uri.group(1).replace("&amp;", "&")),
                "_csrf_token": form_token(page.text),
            },
        )
        assert done.status_code in (302, 303), done.text
        assert browser.get("/api/v1/sessions").status_code == 200
    later = code_of(uri.group(1).replace("&amp;", "&"), time.time() + 30)
    assert token(server, "sz1", "sz1-password").status_code == 401  # enrolled: code needed
    assert token(server, "sz1", "sz1-password", later).status_code == 200


def test_repeated_failures_are_slowed_then_refused_with_retry_after(
    server: LiveServer, plant: Plant
) -> None:
    answers = [token(server, "sz1", f"guess-{n}") for n in range(11)]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert answers[10].status_code == 429
    assert int(answers[10].headers["retry-after"]) > 0
    # even the right password waits now; other logins from this address still may
    assert token(server, "sz1", "sz1-password").status_code == 429
    assert token(server, "auditor", "guess").status_code == 401


def test_another_site_cannot_post_the_login_form(server: LiveServer, plant: Plant) -> None:
    foreign = httpx.post(
        f"{server.url}/login",
        data={"login": "hr", "password": "hr-password"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert "muster_session" not in foreign.headers.get("set-cookie", "")


@pytest.mark.parametrize("path", ["/login", "/api/v1/sessions", "/no/such/page"])
def test_every_response_carries_the_security_headers(
    server: LiveServer, plant: Plant, path: str
) -> None:
    reply = httpx.get(f"{server.url}{path}")
    csp = reply.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"]
