"""Request limits per device, login and address: over one, a request is answered 429 with
Retry-After, and the others are not held up."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.conftest import LiveServer, Plant, make_settings


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the limits live in the web layer, the same on both stores


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    return make_settings(
        backend,
        tmp_path,
        pg_schema,
        rate_device_per_s=1.0,
        rate_device_burst=3,
        rate_login_per_s=1.0,
        rate_login_burst=4,
        rate_address_per_s=1.0,
        rate_address_burst=40,
        rate_limit_loopback=True,
    )


def _check_in(server: LiveServer, token: str, plant: Plant, employee: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/checkins",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "client_event_id": str(uuid.uuid4()),
            "session_id": plant.session_id,
            "method": "badge",
            "badge_uid": plant.badges[employee],
        },
    )


def test_a_device_a_login_and_an_address_over_their_limits_get_429_with_retry_after(
    server: LiveServer, plant: Plant
) -> None:
    answers = [_check_in(server, plant.p1_token, plant, f"E0{n}") for n in range(1, 5)]
    assert [a.status_code for a in answers[:3]] == [201, 201, 201]
    refused = answers[3]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["type"].endswith("/rate-limited")
    # another tablet is not held up by the first one
    assert _check_in(server, plant.p2_token, plant, "E15").status_code != 429

    token = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "hr", "password": "hr-password"}
    ).json()["token"]
    reads = [
        httpx.get(f"{server.url}/api/v1/sessions", headers={"Authorization": f"Bearer {token}"})
        for _ in range(5)
    ]
    assert [r.status_code for r in reads] == [200] * 4 + [429]

    # the address: 40 requests at once, then one a second
    english = {"Accept-Language": "en"}
    answers = [httpx.get(f"{server.url}/login", headers=english) for _ in range(60)]
    limited = next(a for a in answers if a.status_code == 429)
    assert "Too many requests" in limited.json()["detail"]
    time.sleep(int(limited.headers["retry-after"]) + 0.1)
    assert httpx.get(f"{server.url}/login").status_code == 200


def test_a_scanner_hammering_unknown_routes_is_limited_like_any_other_caller(
    server: LiveServer, plant: Plant
) -> None:
    english = {"Accept-Language": "en"}
    probes = [
        httpx.request(method, f"{server.url}/{path}-{n}", headers=english)
        for n in range(30)
        for method, path in (("GET", "wp-admin"), ("POST", ".env"))
    ]
    assert {p.status_code for p in probes[:40]} == {404}  # the address's burst of 40
    limited = next(p for p in probes if p.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["type"].endswith("/rate-limited")
    assert "Too many requests" in limited.json()["detail"]
    # the same address is held up on real routes too, until its bucket refills
    assert httpx.get(f"{server.url}/login").status_code == 429
    time.sleep(int(limited.headers["retry-after"]) + 1.1)  # two requests' worth refilled
    assert httpx.get(f"{server.url}/login").status_code == 200
    assert httpx.get(f"{server.url}/no-such-page").status_code == 404
