"""Cheating caught, honesty left alone: each anomaly kind built through the public contract
(device check-ins, photo uploads, `GET /api/v1/anomalies`), with an honest twin that is not
flagged. Room photos are counted by the fake analyser from the JSON written beside them."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from PIL import Image

from app.domain.anomaly import Anomaly
from tests.conftest import LiveServer, Plant
from tests.e2e.anomaly_support import (  # noqa: F401  (adapters: a fixture)
    adapters,
    anomalies,
    badge_in,
    room_photo,
    settle,
    staff_token,
    upload_photo,
)

NOW = datetime.now(UTC)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the rules read the same projections on both stores (test_anomaly_rules)


def kinds(found: list[dict[str, Any]]) -> list[str]:
    return sorted(a["kind"] for a in found)


def of_kind(server: LiveServer, kind: str, **query: Any) -> list[dict[str, Any]]:
    return anomalies(server, kind=kind, **query)


# -- photo_time_mismatch -------------------------------------------------------------------


def test_a_photo_taken_an_hour_earlier_is_flagged_and_one_taken_now_is_not(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    early = room_photo(rooms, "early", taken=NOW - timedelta(hours=1), people=0, seed=1)
    honest = room_photo(rooms, "honest", taken=NOW, people=0, seed=2)
    cheat = upload_photo(server, plant.p1_token, early, plant.session_id, NOW)
    upload_photo(server, plant.p1_token, honest, plant.session_id, NOW + timedelta(seconds=20))
    (flagged,) = of_kind(server, "photo_time_mismatch")
    assert flagged["photo_id"] == cheat and flagged["session_id"] == plant.session_id
    assert flagged["severity"] == "high" and flagged["status"] == "open"
    assert flagged["evidence"]["minutes_before_upload"] == 60


def test_yesterdays_photo_is_flagged_even_with_yesterdays_device_time_but_an_offline_sync_is_not(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """A tablet offline for a while syncs a photo it took during the session: its device
    time is when it took it, and nothing is flagged. A photo of the day before, sent with the
    day before's device time, is far from the session's check-ins."""
    badge_in(server, plant.p1_token, plant.session_id, plant.badges["E01"])
    during = NOW - timedelta(minutes=3)
    synced = room_photo(rooms, "synced", taken=during, people=1, seed=3)
    upload_photo(server, plant.p1_token, synced, plant.session_id, during)
    yesterday = NOW - timedelta(days=1)
    old = room_photo(rooms, "yesterday", taken=yesterday, people=1, seed=4)
    cheat = upload_photo(server, plant.p1_token, old, plant.session_id, yesterday)
    (flagged,) = of_kind(server, "photo_time_mismatch")
    assert flagged["photo_id"] == cheat
    assert flagged["evidence"]["minutes_outside_session"] < -23 * 60


# -- photo_reused --------------------------------------------------------------------------


def jpeg_copy(data: bytes, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).resize(size).save(out, format="JPEG", quality=60)
    return out.getvalue()


def test_a_photo_used_again_for_another_session_is_flagged_as_reused(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """The same bytes, and a smaller recompressed copy, uploaded for later sessions: both
    are reuse, naming the session the photo was first used for. Another photo of its own for
    the later session is not."""
    original = room_photo(rooms, "original", taken=NOW, people=0, seed=5)
    first = upload_photo(server, plant.p1_token, original, plant.session_id, NOW)
    again = upload_photo(server, plant.p1_token, original, plant.later_session_id, NOW)
    assert again == first
    other_room = session_in_room_b(server, plant)
    copy = upload_photo(server, plant.p1_token, jpeg_copy(original, (240, 180)), other_room, NOW)
    own = room_photo(rooms, "own", taken=NOW, people=0, seed=6)
    upload_photo(server, plant.p1_token, own, plant.later_session_id, NOW)
    found = of_kind(server, "photo_reused")
    by_session = {a["session_id"]: a for a in found}
    assert set(by_session) == {plant.later_session_id, other_room}
    same = by_session[plant.later_session_id]
    assert same["photo_id"] == first
    assert same["evidence"]["first_session"] == plant.session_id
    looks = by_session[other_room]
    assert looks["photo_id"] == copy
    assert [n["photo_id"] for n in looks["evidence"]["looks_like"]] == [first]


def session_in_room_b(server: LiveServer, plant: Plant) -> str:
    """A session of 培训室A's tablet's plant starting now in another room (the tablet may
    upload for any session of its plant)."""
    sid = server.muster.app.schedule_session(
        "S-NOW-B",
        "SAFE",
        "P1",
        "培训室A",
        "刘工",
        NOW - timedelta(minutes=5),
        NOW + timedelta(hours=1),
        ["E09"],
        "test",
    )
    assert server.muster.runner.wait_until_caught_up(10)
    return str(sid)


# -- photo_without_exif --------------------------------------------------------------------


def test_a_room_photo_without_exif_is_a_low_severity_anomaly(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    bare = upload_photo(
        server,
        plant.p1_token,
        room_photo(rooms, "bare", taken=None, people=0),
        plant.session_id,
        NOW,
    )
    with_exif = room_photo(rooms, "with", taken=NOW, people=0, seed=7)
    upload_photo(server, plant.p1_token, with_exif, plant.session_id, NOW)
    (flagged,) = of_kind(server, "photo_without_exif")
    assert (flagged["photo_id"], flagged["severity"]) == (bare, "low")
    assert kinds(anomalies(server)) == ["photo_without_exif"]


# -- headcount_shortfall -------------------------------------------------------------------


def check_in_many(server: LiveServer, plant: Plant, n: int) -> None:
    for k in range(1, n + 1):
        badge_in(server, plant.p1_token, plant.session_id, plant.badges[f"E{k:02d}"])


def test_fewer_people_in_the_photo_than_checked_in_is_a_headcount_shortfall(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    check_in_many(server, plant, 8)
    now = datetime.now(UTC)
    photo = room_photo(rooms, "five", taken=now, people=5, seed=8)
    photo_id = upload_photo(server, plant.p1_token, photo, plant.session_id, now)
    (flagged,) = of_kind(server, "headcount_shortfall")
    assert flagged["session_id"] == plant.session_id and flagged["photo_id"] == photo_id
    assert flagged["evidence"] | {"photo_id": photo_id} == {
        "checked_in": 8,
        "headcount": 5,
        "headcount_max": 5,
        "missing": 3,
        "photo_id": photo_id,
    }
    assert "employee_id" not in flagged and "checkin_id" not in flagged


def test_each_photo_showing_too_few_people_is_its_own_headcount_shortfall(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """Two photos of one session, each with fewer people than checked in: two anomalies, one
    per photo; a third photo with everyone in it adds none, and analysing again adds none."""
    check_in_many(server, plant, 8)
    now = datetime.now(UTC)
    five = room_photo(rooms, "five-again", taken=now, people=5, seed=12)
    four = room_photo(rooms, "four", taken=now, people=4, seed=13)
    full = room_photo(rooms, "all-eight", taken=now, people=8, seed=14)
    ids = [upload_photo(server, plant.p1_token, p, plant.session_id, now) for p in (five, four)]
    upload_photo(server, plant.p1_token, full, plant.session_id, now)
    settle(server.muster)
    found = of_kind(server, "headcount_shortfall")
    assert sorted(a["photo_id"] for a in found) == sorted(ids)
    assert {a["session_id"] for a in found} == {plant.session_id}
    assert sorted(a["evidence"]["missing"] for a in found) == [3, 4]


def test_a_shortfall_raised_for_the_whole_session_before_is_not_raised_again_for_its_photo(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """Until 2026-12-07 a session had at most one `headcount_shortfall`, named by the session
    alone. Its photo analysed again raises nothing more; another photo still does."""
    check_in_many(server, plant, 8)
    now = datetime.now(UTC)
    first = room_photo(rooms, "first-short", taken=now, people=5, seed=15)
    first_id = hashlib.sha256(first).hexdigest()
    earlier = Anomaly(
        kind="headcount_shortfall",
        subject=plant.session_id,
        severity="high",
        session_id=UUID(plant.session_id),
        employee_id=None,
        checkin_id=None,
        photo_id=first_id,
        evidence={"checked_in": 8, "headcount": 5, "headcount_max": 5, "missing": 3},
        actor="rules",
    )
    server.muster.app.save(earlier)
    upload_photo(server, plant.p1_token, first, plant.session_id, now)
    second = room_photo(rooms, "second-short", taken=now, people=4, seed=16)
    second_id = upload_photo(server, plant.p1_token, second, plant.session_id, now)
    settle(server.muster)
    found = of_kind(server, "headcount_shortfall")
    assert sorted(a["photo_id"] for a in found) == sorted([first_id, second_id])


def test_a_full_room_or_one_person_hidden_is_no_shortfall(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    check_in_many(server, plant, 8)
    now = datetime.now(UTC)
    seven = room_photo(rooms, "seven", taken=now, people=7, seed=9)
    upload_photo(server, plant.p1_token, seven, plant.session_id, now)
    eight = room_photo(rooms, "eight", taken=now, people=8, seed=10)
    upload_photo(server, plant.p1_token, eight, plant.session_id, now)
    assert anomalies(server) == []


def test_people_who_arrive_after_the_photo_do_not_make_it_short(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """The kiosk photographs the room as the first three have checked in; five more come
    after. The photo is judged with the three."""
    check_in_many(server, plant, 3)
    taken = datetime.now(UTC)
    photo = room_photo(rooms, "early-three", taken=taken, people=3, seed=11)
    upload_photo(server, plant.p1_token, photo, plant.session_id, taken)
    for k in range(4, 9):
        badge_in(server, plant.p1_token, plant.session_id, plant.badges[f"E{k:02d}"])
    assert anomalies(server) == []


# -- check-in flags ------------------------------------------------------------------------


def test_a_check_in_from_a_device_with_a_wrong_clock_is_device_clock_skew(
    server: LiveServer, plant: Plant
) -> None:
    skewed = badge_in(
        server,
        plant.p1_token,
        plant.session_id,
        plant.badges["E01"],
        device_time=(NOW - timedelta(minutes=30)).isoformat(),
    )
    badge_in(
        server,
        plant.p1_token,
        plant.session_id,
        plant.badges["E02"],
        device_time=datetime.now(UTC).isoformat(),
    )
    (flagged,) = anomalies(server)
    assert flagged["kind"] == "device_clock_skew"
    assert (flagged["checkin_id"], flagged["employee_id"]) == (skewed, "E01")
    assert flagged["evidence"]["device_time"].startswith(
        (NOW - timedelta(minutes=30)).date().isoformat()
    )


# -- the API -------------------------------------------------------------------------------


@pytest.fixture
def flagged_in_both_plants(server: LiveServer, plant: Plant, rooms: Path) -> list[str]:
    """Three photos without EXIF in plant 1, one in plant 2: their anomalies' ids."""
    for n in range(3):
        bare = room_photo(rooms, f"bare-{n}", taken=None, people=0, seed=20 + n)
        upload_photo(server, plant.p1_token, bare, plant.session_id, NOW)
    bare = room_photo(rooms, "bare-p2", taken=None, people=0, seed=30)
    upload_photo(server, plant.p2_token, bare, plant.other_plant_session_id, NOW)
    return [a["id"] for a in anomalies(server)]


def test_anomalies_page_oldest_first_after_the_last_id_seen(
    server: LiveServer, plant: Plant, flagged_in_both_plants: list[str]
) -> None:
    every = flagged_in_both_plants
    assert len(every) == 4
    first_two = anomalies(server, limit=2)
    assert [a["id"] for a in first_two] == every[:2]
    rest = anomalies(server, after=first_two[-1]["id"])
    assert [a["id"] for a in rest] == every[2:]
    assert anomalies(server, after=every[-1]) == []
    assert [a["id"] for a in anomalies(server, session_id=plant.other_plant_session_id)] == [
        every[3]
    ]
    assert anomalies(server, status="confirmed") == []
    assert anomalies(server, kind="photo_reused") == []


def test_anomalies_are_scoped_to_the_callers_plants(
    server: LiveServer, plant: Plant, flagged_in_both_plants: list[str]
) -> None:
    sz1 = staff_token(server, "sz1", "sz1-password")
    seen = anomalies(server, token=sz1)
    assert len(seen) == 3 and {a["session_id"] for a in seen} == {plant.session_id}
    hidden = httpx.get(
        f"{server.url}/api/v1/anomalies",
        params={"after": flagged_in_both_plants[3]},
        headers={"Authorization": f"Bearer {sz1}"},
    )
    assert hidden.status_code == 422  # an id it may not see is no id at all
    assert httpx.get(f"{server.url}/api/v1/anomalies").status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "lots"},
        {"status": "closed"},
        {"kind": "late"},
        {"after": "not-an-id"},
        {"after": "x" * 5000},
    ],
)
def test_bad_anomaly_queries_are_clear_problems(
    server: LiveServer, plant: Plant, query: dict[str, str]
) -> None:
    reply = httpx.get(
        f"{server.url}/api/v1/anomalies",
        params=query,
        headers={"Authorization": f"Bearer {staff_token(server)}"},
    )
    assert reply.status_code in (400, 422), reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")


def resolve(server: LiveServer, anomaly_id: str, token: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/anomalies/{anomaly_id}/resolution",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_staff_confirm_or_dismiss_an_anomaly_once_with_a_reason(
    server: LiveServer, plant: Plant, flagged_in_both_plants: list[str]
) -> None:
    hr = staff_token(server)
    first, second, _, in_p2 = flagged_in_both_plants
    done = resolve(server, first, hr, outcome="confirmed", reason="screenshot sent by chat")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "confirmed"
    assert done.json()["resolution"]["reason"] == "screenshot sent by chat"
    again = resolve(server, first, hr, outcome="dismissed", reason="changed my mind")
    assert again.status_code == 409 and again.json()["type"].endswith("anomaly-already-resolved")
    assert resolve(server, second, hr, outcome="dismissed", reason="").status_code == 422
    assert resolve(server, second, hr, outcome="maybe", reason="x").status_code == 422
    sz1 = staff_token(server, "sz1", "sz1-password")
    assert resolve(server, in_p2, sz1, outcome="dismissed", reason="x").status_code == 404
    auditor = staff_token(server, "auditor", "auditor-password")
    assert resolve(server, second, auditor, outcome="dismissed", reason="x").status_code == 403
    assert resolve(server, "0" * 8, hr, outcome="dismissed", reason="x").status_code == 404
    confirmed = anomalies(server, status="confirmed")
    assert [a["id"] for a in confirmed] == [first]
    assert confirmed[0]["resolution"]["resolved_by"] == "user:hr"
    assert [a["id"] for a in anomalies(server, status="open")] == flagged_in_both_plants[1:]
