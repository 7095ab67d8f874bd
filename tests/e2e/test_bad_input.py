"""Bad input never gives a 500 (issue 24, finding 5): each request below once did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import LiveServer, Plant
from tests.e2e.test_api import assert_problem, badge, device, login


def post_raw(server: LiveServer, token: str, path: str, raw: bytes) -> httpx.Response:
    with device(server, token) as tablet:
        return tablet.post(path, content=raw, headers={"content-type": "application/json"})


@pytest.mark.parametrize("path", ["/api/v1/checkins", "/api/v1/checkins/batch"])
def test_invalid_utf8_is_a_problem(server: LiveServer, plant: Plant, path: str) -> None:
    raw = b'{"client_event_id": "\xff\xfe", "session_id": "x", "method": "badge"}'
    assert_problem(post_raw(server, plant.p1_token, path, raw), 400, "invalid-json")


@pytest.mark.parametrize("path", ["/api/v1/checkins", "/api/v1/checkins/batch"])
def test_absurd_nesting_is_a_problem(server: LiveServer, plant: Plant, path: str) -> None:
    raw = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_problem(post_raw(server, plant.p1_token, path, raw), 400, "invalid-json")


@pytest.mark.parametrize(
    "device_time",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+14:00",
        "2026-12-07T08:00:00",  # no offset
        (datetime.now(UTC) + timedelta(days=400)).isoformat(),
        "yesterday",
    ],
)
def test_one_bad_device_time_fails_only_its_own_item(
    server: LiveServer, plant: Plant, device_time: str
) -> None:
    items = [badge(plant, "E01"), badge(plant, "E02", device_time=device_time), badge(plant, "E03")]
    with device(server, plant.p1_token) as tablet:
        reply = tablet.post("/api/v1/checkins/batch", json={"items": items})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r.get("status") for r in results[::2]] == ["accepted", "accepted"]
    assert results[1]["status"] == 422 and results[1]["type"].endswith("invalid-body")


@pytest.mark.parametrize("sent_at", ["9999-12-31T23:59:59-23:59", "2026-12-07T08:00:00"])
def test_an_impossible_sent_at_refuses_the_batch_and_stores_nothing(
    server: LiveServer, plant: Plant, sent_at: str
) -> None:
    with device(server, plant.p1_token) as tablet:
        reply = tablet.post(
            "/api/v1/checkins/batch", json={"items": [badge(plant, "E04")], "sent_at": sent_at}
        )
    assert_problem(reply, 422, "invalid-body")
    assert server.muster.runner.wait_until_caught_up(10)
    row = server.muster.store.fetch_one(
        "SELECT checked_in FROM sessions WHERE id = :id", {"id": plant.session_id}
    )
    assert row == {"checked_in": 0}


def test_a_single_check_in_with_a_far_device_time_is_a_problem(
    server: LiveServer, plant: Plant
) -> None:
    with device(server, plant.p1_token) as tablet:
        reply = tablet.post(
            "/api/v1/checkins", json=badge(plant, "E05", device_time="0001-01-01T00:00:00+14:00")
        )
    assert_problem(reply, 422, "invalid-body")


@pytest.mark.parametrize(
    "query",
    [
        "after=9223372036854775808",
        "after=-1",
        "limit=99999999999999999999999",
        "after=abc",
    ],
)
def test_event_paging_out_of_range_is_a_problem(
    server: LiveServer, plant: Plant, query: str
) -> None:
    with login(server, "auditor", "auditor-password") as auditor:
        assert_problem(auditor.get(f"/api/v1/events?{query}"), 422, "invalid-query")


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01T00:00:00%2B14:00",
        "to=9999-12-31T23:59:59-23:59",
        "from=9999-12-31T23:59:59%2B00:00",
        "from=not-a-time",
    ],
)
def test_session_times_out_of_range_are_a_problem(
    server: LiveServer, plant: Plant, query: str
) -> None:
    with login(server, "hr", "hr-password") as hr:
        assert_problem(hr.get(f"/api/v1/sessions?{query}"), 422, "invalid-query")


def test_a_17_mb_upload_is_413(server: LiveServer, plant: Plant) -> None:
    with device(server, plant.p1_token) as tablet:
        reply = tablet.post(
            "/api/v1/photos",
            files={"file": ("big.jpg", b"\xff\xd8" + b"\0" * (17 * 1024 * 1024), "image/jpeg")},
            data={"session_id": plant.session_id, "kind": "room", "client_event_id": "big-1"},
        )
    assert_problem(reply, 413, "body-too-large")


def test_a_too_large_check_in_body_is_413(server: LiveServer, plant: Plant) -> None:
    raw = b'{"client_event_id": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    assert_problem(post_raw(server, plant.p1_token, "/api/v1/checkins", raw), 413, "body-too-large")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/anomalies?limit=0",
        "/api/v1/anomalies?kind=weird",
        "/api/v1/alerts?rule=weird",
        "/api/v1/effect?course=SAFE&window_days=0",
        "/api/v1/effect",
        "/api/v1/compliance?org=P1&state=weird",
        "/api/v1/sessions?from=yesterday",
        "/api/v1/conflicts",
    ],
)
def test_a_bad_query_says_a_query_parameter_is_invalid(
    server: LiveServer, plant: Plant, path: str
) -> None:
    """Every invalid-query problem says so in words (not that the body was malformed)."""
    with login(server, "hr", "hr-password") as hr:
        body = assert_problem(hr.get(path, headers={"Accept-Language": "en"}), 422, "invalid-query")
    assert body["detail"] == "A query parameter is invalid"
