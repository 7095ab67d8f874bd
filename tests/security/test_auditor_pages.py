"""The auditor's pages: the trail by person, session, device and time (paged, inside the
auditor's subtree, without secrets), and a session as it stood at an instant — which equals
what the live views showed at that instant."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import LiveServer, Plant
from tests.e2e.anomaly_support import anomalies, badge_in, settle, staff_token


def _get(server: LiveServer, token: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{server.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


def _sections(html: str, *ids: str) -> dict[str, str]:
    found = {}
    for section in ids:
        match = re.search(rf'<section id="{section}".*?</section>', html, re.S)
        assert match is not None, f"no section {section}"
        found[section] = match.group(0)
    return found


def _without_anomalies(html: str) -> str:
    """A session body without its anomaly list (the as-of page lists them once, in its own
    table), white space folded."""
    html = re.sub(r'<h2 id="session-anomalies-title".*?</ol>', "", html, flags=re.S)
    return re.sub(r"\s+", " ", html)


BOARD = ("board-sessions", "board-departments", "board-latest")


def test_a_session_as_of_an_instant_is_what_the_live_views_showed_then(
    server: LiveServer, plant: Plant
) -> None:
    hr, auditor = staff_token(server), staff_token(server, "auditor", "auditor-password")
    sid = plant.session_id
    skewed = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    badge_in(server, plant.p1_token, sid, plant.badges["E01"], device_time=skewed)
    badge_in(server, plant.p1_token, sid, plant.badges["E09"])
    (flagged,) = anomalies(server, hr, session_id=sid)
    settle(server.muster)
    live_attendance = _get(server, hr, f"/api/v1/sessions/{sid}/attendance").json()
    live_anomalies = anomalies(server, hr, session_id=sid)
    live_session = _sections(_get(server, hr, f"/sessions/{sid}").text, "session-body")
    live_board = _sections(_get(server, hr, "/plants/P1/wallboard").text, *BOARD)
    time.sleep(0.05)
    then = datetime.now(UTC)
    time.sleep(0.05)

    # afterwards: two more check-ins, and the anomaly is dismissed
    for employee in ("E02", "E03"):
        badge_in(server, plant.p1_token, sid, plant.badges[employee])
    resolved = httpx.post(
        f"{server.url}/api/v1/anomalies/{flagged['id']}/resolution",
        json={"outcome": "dismissed", "reason": "device clock was reset"},
        headers={"Authorization": f"Bearer {hr}"},
    )
    assert resolved.status_code == 200, resolved.text
    settle(server.muster)
    assert _get(server, hr, f"/api/v1/sessions/{sid}/attendance").json() != live_attendance

    replayed = _get(server, auditor, "/api/v1/audit/as-of", session_id=sid, at=then.isoformat())
    assert replayed.status_code == 200, replayed.text
    view = replayed.json()
    assert view["session"] == live_attendance
    assert view["anomalies"] == live_anomalies
    assert [a["status"] for a in view["anomalies"]] == ["open"]
    assert view["wallboard"]["checked_in"] == 2

    page = _get(server, auditor, "/audit/as-of", session=sid, at=then.isoformat())
    assert page.status_code == 200, page.text
    replayed_body = _sections(page.text, "session-body")["session-body"]
    assert _without_anomalies(replayed_body) == _without_anomalies(live_session["session-body"])
    assert 'id="session-anomalies"' not in page.text
    listed = re.findall(r'<tr class="anomaly-(\w+)" data-anomaly="([^"]+)"', page.text)
    assert listed == [(a["status"], a["id"]) for a in live_anomalies]
    assert _sections(page.text, *BOARD) == live_board

    now = _get(server, auditor, "/api/v1/audit/as-of", session_id=sid, at=_now()).json()
    assert now["session"]["checked_in"] == 4
    assert [a["status"] for a in now["anomalies"]] == ["dismissed"]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _entries(
    server: LiveServer, token: str, before: int | None = None, **query: Any
) -> list[dict[str, Any]]:
    """Every page of the trail for `query` (older than `before`), following the `older`
    cursor."""
    found: list[dict[str, Any]] = []
    while True:
        params = {**query, **({"before": before} if before else {})}
        reply = _get(server, token, "/api/v1/audit/history", **params)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        found.extend(body["entries"])
        if body["older"] is None:
            return found
        before = body["older"]


def test_the_trail_by_person_session_device_and_time_in_pages(
    server: LiveServer, plant: Plant
) -> None:
    auditor = staff_token(server, "auditor", "auditor-password")
    badge_in(server, plant.p1_token, plant.session_id, plant.badges["E01"])
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    badge_in(server, plant.p1_token, plant.session_id, plant.badges["E02"])
    badge_in(server, plant.p2_token, plant.other_plant_session_id, plant.badges["E16"])
    settle(server.muster)

    everything = _entries(server, auditor, limit=200)
    # alerts may be raised meanwhile: the pages are read below the same newest entry
    top = everything[0]["position"] + 1
    everything = _entries(server, auditor, before=top, limit=200)
    paged = _entries(server, auditor, before=top, limit=7)
    assert [e["position"] for e in paged] == [e["position"] for e in everything]
    assert len(paged) > 14 and paged == sorted(paged, key=lambda e: -e["position"])

    person = _entries(server, auditor, person="E01")
    assert {e["event"] for e in person} >= {"EmployeeHired", "EmployeeCheckedIn"}
    assert all(
        e["employee_no"] == "E01" or e["record"]["state"].get("employee_no") == "E01"
        for e in person
    )
    by_device = _entries(server, auditor, device="tablet-p1")
    checked_in = [e for e in by_device if e["event"] == "EmployeeCheckedIn"]
    assert sorted(e["employee_no"] for e in checked_in) == ["E01", "E02"]
    by_session = _entries(server, auditor, session="S-NOW")
    assert {e["session_id"] for e in by_session} == {plant.session_id}
    assert "SessionScheduled" in {e["event"] for e in by_session}
    later = _entries(server, auditor, **{"from": middle.isoformat()})
    assert {e["employee_no"] for e in later if e["event"] == "EmployeeCheckedIn"} == {
        "E02",
        "E16",
    }

    # nothing secret in any entry, and an auditor of plant 2 sees plant 2 only
    text = str(everything)
    assert "password_hash" not in text and "token_hash" not in text and "$argon2" not in text
    server.muster.app.add_user("auditor-p2", "auditor", "P2", "test", password="p2-password")
    settle(server.muster)
    p2 = staff_token(server, "auditor-p2", "p2-password")
    assert _entries(server, p2, session="S-NOW") == []
    seen = {e["session_id"] for e in _entries(server, p2) if e["session_id"]}
    assert seen == {plant.other_plant_session_id}
    refused = _get(server, p2, "/api/v1/audit/as-of", session_id=plant.session_id, at=_now())
    assert refused.status_code == 404


def test_the_trail_page_filters_and_links_to_the_state_then(
    server: LiveServer, plant: Plant
) -> None:
    auditor = staff_token(server, "auditor", "auditor-password")
    badge_in(server, plant.p1_token, plant.session_id, plant.badges["E05"])
    settle(server.muster)
    page = _get(server, auditor, "/audit", person="E05", lang="en")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-position="\d+" data-event="(\w+)"', page.text)
    assert "EmployeeCheckedIn" in rows and "EmployeeHired" in rows
    assert "/audit/as-of?session=" in page.text
    bad = _get(server, auditor, "/audit", **{"from": "yesterday"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text
    hr = _get(server, staff_token(server), "/audit")
    assert hr.status_code == 403


def test_as_of_answers_are_kept_per_viewer_and_a_later_event_does_not_change_them(
    server: LiveServer, plant: Plant
) -> None:
    auditor = staff_token(server, "auditor", "auditor-password")
    server.muster.app.add_user("auditor-w1", "auditor", "W1", "test", password="w1-password")
    sid, kept = plant.session_id, server.muster.as_of_views
    badge_in(server, plant.p1_token, sid, plant.badges["E01"])
    badge_in(server, plant.p1_token, sid, plant.badges["E09"])
    settle(server.muster)
    time.sleep(0.05)
    then = datetime.now(UTC).isoformat()
    time.sleep(0.05)

    first = _get(server, auditor, "/api/v1/audit/as-of", session_id=sid, at=then).json()
    assert first["session"]["checked_in"] == 2 and len(kept) == 1
    badge_in(server, plant.p1_token, sid, plant.badges["E02"])  # a later event
    settle(server.muster)
    again = _get(server, auditor, "/api/v1/audit/as-of", session_id=sid, at=then)
    assert again.json() == first and len(kept) == 1  # answered from what was kept
    page = _get(server, auditor, "/audit/as-of", session=sid, at=then)
    assert page.status_code == 200 and len(kept) == 1  # the page shares the answer
    kept.clear()  # replayed afresh, the log up to then gives that same answer
    assert _get(server, auditor, "/api/v1/audit/as-of", session_id=sid, at=then).json() == first

    # an auditor of one workshop gets its own answer, not the whole plant's
    w1 = staff_token(server, "auditor-w1", "w1-password")
    mine = _get(server, w1, "/api/v1/audit/as-of", session_id=sid, at=then).json()
    assert len(kept) == 2
    assert "E01" in str(mine["session"]) and "E09" not in str(mine["session"])
    assert "E09" in str(first["session"])
    assert _get(server, auditor, "/api/v1/audit/as-of", session_id=sid, at=then).json() == first
