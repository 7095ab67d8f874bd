"""Cheating scenarios through the public contract, on a plant set up with the command line
(`scenario_plant`): each check-in anomaly kind built as plant staff see it happen, found by
`GET /api/v1/anomalies` with its kind, check-in, person and evidence, beside an honest twin
that is not flagged; and the photo kinds, with cameras that write their time without a zone."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image

from app.adapters import Adapters
from app.bootstrap import Muster, build
from app.settings import Settings
from app.stores.base import from_iso
from tests import faces
from tests.conftest import BACKENDS, LiveServer, make_settings, wired_adapters
from tests.e2e.anomaly_support import counted_beside, settle
from tests.e2e.scenario_plant import Plant, SetUp, set_up_with_cli

SECRET = "test-secret-key-for-signing-tokens"  # make_settings' key: the commands sign alike


#: every scenario runs on SQLite and on PostgreSQL: the rules read the same projections on
#: both, but the plant's set-up by the command line, the imports, the conflicts, an offline
#: batch's reads and the device's contacts go through each store's own SQL
pytestmark = pytest.mark.parametrize("backend", BACKENDS)


@pytest.fixture
def queue_sync_grace_seconds() -> int:
    """How long a device heard live may take to send its queue (the default's 15 minutes)."""
    return 900


@pytest.fixture
def settings(
    backend: str, pg_schema: str, tmp_path: Path, queue_sync_grace_seconds: int
) -> Settings:
    # as `muster serve` runs by default: sessions open and close by the clock, staff roles
    # need two-factor on pages (scripts get their token with the password until enrolled)
    return make_settings(
        backend,
        tmp_path,
        pg_schema,
        session_clock=True,
        two_factor_roles=["hr", "plant_manager", "auditor", "admin"],
        vision_processes=0,
        queue_sync_grace_seconds=queue_sync_grace_seconds,
        **faces.LFW_FRIENDLY,
    )


@pytest.fixture
def adapters(settings: Settings, rooms: Path) -> Adapters:
    """The real face engine; room photos counted from the JSON written beside them."""
    return replace(wired_adapters(settings, "fake"), analyser=counted_beside(rooms))


@pytest.fixture
def setup(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> SetUp:
    env = {
        "MUSTER_STORE": settings.store,
        "MUSTER_STORE_SCHEMA": settings.store_schema,
        "MUSTER_VAR_DIR": str(tmp_path),
        "MUSTER_SECRET_KEY": SECRET,
        "MUSTER_VISION_PROCESSES": "0",
    }
    return set_up_with_cli(tmp_path, env, monkeypatch)


@pytest.fixture
def muster(setup: SetUp, settings: Settings, adapters: Adapters) -> Iterator[Muster]:
    """The server's system, built once the commands are done with the store."""
    wired = build(settings, adapters)
    yield wired
    wired.close()


@pytest.fixture
def plant(server: LiveServer, setup: SetUp) -> Plant:
    return Plant(server.url, setup)


def anomalies(server: LiveServer, plant: Plant, **query: Any) -> list[dict[str, Any]]:
    settle(server.muster)
    reply = httpx.get(f"{server.url}/api/v1/anomalies", params=query, headers=plant.auth(plant.hr))
    assert reply.status_code == 200, reply.text
    return list(reply.json()["anomalies"])


def about(found: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    """Each anomaly as (kind, the check-in it is about)."""
    return {(a["kind"], a.get("checkin_id")) for a in found}


# -- checkin_outside_window ------------------------------------------------------------------


def test_check_ins_long_before_or_after_a_session_are_kept_and_flagged(
    server: LiveServer, plant: Plant
) -> None:
    """A badge held to the tablet for a session three hours away, or one that ended an hour
    ago, is refused, kept, and flagged; arriving on time, late, or a few minutes before a
    session opens is honest."""
    early = plant.badge("tablet-a", "S-LATER", "E02")
    after = plant.badge("tablet-a", "S-DONE", "E03")
    for reply in (early, after):
        assert reply.status_code == 201, reply.text
        assert reply.json()["status"] == "rejected"
        assert "checkin_outside_window" in reply.json()["flags"]
    assert plant.badge("tablet-a", "S-NOW", "E01").json()["status"] == "accepted"
    assert plant.badge("tablet-b", "S-SOON", "E04").json()["status"] == "accepted"
    # a tablet offline during the session that ended syncs its queue now: honest; an item it
    # stamped now, after the end, is not
    now = datetime.now(UTC)
    synced, stamped_now = plant.batch(
        "tablet-a",
        [
            plant.queued("S-DONE", "E05", now - timedelta(minutes=95)),
            plant.queued("S-DONE", "E06", now),
        ],
        sent_at=now.isoformat(),
    )
    assert synced["status"] == "accepted", synced
    assert stamped_now["status"] == "rejected" and "type" not in stamped_now, stamped_now
    assert stamped_now["verdict"] == "rejected"  # what readers of the old refusal read
    found = anomalies(server, plant)
    assert about(found) == {
        ("checkin_outside_window", early.json()["checkin_id"]),
        ("checkin_outside_window", after.json()["checkin_id"]),
        ("checkin_outside_window", stamped_now["checkin_id"]),
    }
    by_person = {a["employee_id"]: a for a in found}
    assert by_person.keys() == {"E02", "E03", "E06"}
    assert by_person["E02"]["session_id"] == plant.sessions["S-LATER"]
    assert by_person["E03"]["session_id"] == plant.sessions["S-DONE"]
    assert by_person["E02"]["evidence"]["refused"] == "too_early"
    assert by_person["E03"]["evidence"]["refused"] == "session_closed"
    assert {a["severity"] for a in found} == {"medium"}


# -- device_room_mismatch --------------------------------------------------------------------


def test_a_tablet_of_another_room_or_plant_checking_in_is_a_device_room_mismatch(
    server: LiveServer, plant: Plant
) -> None:
    """Room B's tablet checks someone in to room A's session (accepted, flagged); plant 2's
    tablet tries too (refused as another plant's, kept, flagged). Room A's own tablet is
    honest."""
    other_room = plant.badge("tablet-b", "S-NOW", "E05")
    assert other_room.status_code == 201, other_room.text
    assert other_room.json()["status"] == "flagged"
    assert "device_room_mismatch" in other_room.json()["flags"]
    other_plant = plant.badge("tablet-p2", "S-NOW", "E06")
    assert other_plant.status_code == 403
    assert other_plant.json()["type"].endswith("/session-other-plant")
    assert other_plant.json()["flags"] == ["device_room_mismatch"]
    honest = plant.badge("tablet-a", "S-NOW", "E07")
    assert honest.json()["status"] == "accepted" and honest.json()["flags"] == []
    # by hand, with only the contract's fields (no reason): taken, nothing to look at
    by_hand = plant.check_in("tablet-a", "S-NOW", {"method": "manual", "employee_id": "E08"})
    assert by_hand.status_code == 201 and by_hand.json()["status"] == "accepted", by_hand.text
    found = anomalies(server, plant)
    assert about(found) == {
        ("device_room_mismatch", other_room.json()["checkin_id"]),
        ("device_room_mismatch", other_plant.json()["checkin_id"]),
    }
    assert {a["employee_id"] for a in found} == {"E05", "E06"}
    assert {a["session_id"] for a in found} == {plant.sessions["S-NOW"]}
    # the person refused at the wrong plant's tablet can still check in at the right one
    assert plant.badge("tablet-a", "S-NOW", "E06").json()["status"] == "accepted"


def test_one_room_typed_with_spaces_or_full_width_characters_is_one_room(
    server: LiveServer, plant: Plant
) -> None:
    """Room A's second tablet was added as "培训室　Ａ" (`muster devices add`); a session is
    imported for "培训室 A" at the time of S-NOW (in "培训室A"). The room is double-booked,
    and the tablets of room A check in to either session without `device_room_mismatch`;
    room B's tablet still is another room."""
    now = datetime.now(UTC)
    start, end = (now + timedelta(minutes=m) for m in (-5, 55))
    plant.import_sessions(
        "code,course_code,plant_code,room,starts_at,ends_at,trainer,roster\n"
        f"S-SPACED,SAFE,P1,培训室 A,{start.isoformat()},{end.isoformat()},王老师,W1\n"
    )
    spaced = plant.session_id("S-SPACED")
    plant.sessions["S-SPACED"] = spaced
    reply = httpx.get(
        f"{plant.url}/api/v1/conflicts",
        params={"session_id": spaced},
        headers=plant.auth(plant.hr),
    )
    assert reply.status_code == 200, reply.text
    booked = [c for c in reply.json()["conflicts"] if c["kind"] == "room_double_booked"]
    assert [c["with_session_id"] for c in booked] == [plant.sessions["S-NOW"]]
    wide_here = plant.badge("tablet-a-wide", "S-NOW", "E01")
    a_there = plant.badge("tablet-a", "S-SPACED", "E02")
    for reply in (wide_here, a_there):
        assert reply.status_code == 201 and reply.json()["flags"] == [], reply.text
    other_room = plant.badge("tablet-b", "S-SPACED", "E03")
    assert "device_room_mismatch" in other_room.json()["flags"]
    # the room's own tablet, whichever spelling it was added with, may show the room's QR
    assert plant.room_qr("tablet-a-wide", "S-SPACED")
    found = anomalies(server, plant)
    assert about(found) == {("device_room_mismatch", other_room.json()["checkin_id"])}


# -- device_clock_skew -----------------------------------------------------------------------


def test_a_device_clock_far_from_the_servers_is_flagged_but_an_offline_queue_is_not(
    server: LiveServer, plant: Plant
) -> None:
    now = datetime.now(UTC)
    skewed = plant.badge(
        "tablet-a", "S-NOW", "E01", device_time=(now - timedelta(minutes=30)).isoformat()
    )
    assert "device_clock_skew" in skewed.json()["flags"]
    honest = plant.badge("tablet-a", "S-NOW", "E02")
    assert honest.json()["flags"] == []
    # queued offline: stamped minutes ago, synced now, with or without the batch's sent_at
    with_sent_at = plant.batch(
        "tablet-a",
        [plant.queued("S-NOW", "E03", now - timedelta(minutes=4))],
        sent_at=datetime.now(UTC).isoformat(),
    )
    without = plant.batch("tablet-a", [plant.queued("S-NOW", "E04", now - timedelta(minutes=3))])
    # a queue stamped half an hour in the future: nothing can be queued later than it arrives
    future = plant.batch("tablet-a", [plant.queued("S-NOW", "E05", now + timedelta(minutes=30))])
    assert "device_clock_skew" not in with_sent_at[0]["flags"] + without[0]["flags"]
    assert "device_clock_skew" in future[0]["flags"]
    found = anomalies(server, plant)
    assert about(found) == {
        ("device_clock_skew", skewed.json()["checkin_id"]),
        ("device_clock_skew", future[0]["checkin_id"]),
    }
    skew = next(a for a in found if a["employee_id"] == "E01")
    assert skew["severity"] == "low" and skew["evidence"]["device_time"]


@pytest.mark.parametrize("queue_sync_grace_seconds", [8])
def test_a_late_batch_stamped_while_the_tablet_was_checking_people_in_live_is_not_believed(
    server: LiveServer, plant: Plant
) -> None:
    """Room A's tablet checks E01 in live. A queue it sends at once with an item stamped
    before that is an honest offline sync; so is one sent later with an item stamped after
    its last live check-in (it went offline). An item sent long after (here: more than the
    grace of 8 s) but stamped before the live check-in was not waiting in a queue: the
    tablet was online then. It is judged when it arrived and flagged `device_clock_skew`."""
    started = datetime.now(UTC)
    live = plant.badge("tablet-a", "S-NOW", "E01")
    assert live.json()["status"] == "accepted", live.text
    (honest_now,) = plant.batch(
        "tablet-a",
        [plant.queued("S-NOW", "E02", started - timedelta(minutes=3))],
        sent_at=datetime.now(UTC).isoformat(),
    )
    time.sleep(9)
    forged, after_last = plant.batch(
        "tablet-a",
        [
            plant.queued("S-NOW", "E03", started - timedelta(minutes=3)),
            plant.queued("S-NOW", "E04", datetime.now(UTC) - timedelta(seconds=2)),
        ],
        sent_at=datetime.now(UTC).isoformat(),
    )
    assert honest_now["status"] == "accepted" and honest_now["flags"] == ["offline_sync"]
    assert after_last["status"] == "accepted" and after_last["flags"] == [], after_last
    assert forged["status"] == "flagged", forged
    assert "device_clock_skew" in forged["flags"] and "offline_sync" not in forged["flags"]
    assert forged["server_time"] >= honest_now["server_time"]
    found = anomalies(server, plant)
    assert about(found) == {("device_clock_skew", forged["checkin_id"])}
    (flagged,) = found
    assert flagged["employee_id"] == "E03"
    assert flagged["evidence"]["device_online_at"]


@pytest.mark.parametrize("queue_sync_grace_seconds", [8])
def test_a_batch_the_tablets_own_traces_disprove_is_flagged_however_soon_it_comes(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """Decision 0137. Room A's tablet checks E01 in live, numbered 10. An item numbered 9
    (made before it) and stamped minutes earlier is its honest queue; one numbered 11 (made
    after it) but stamped before it is backdated, though sent at once. The room's second
    tablet never checks anyone in live: a room photo it sends from its queue proves nothing,
    one it uploads as it takes it shows it online, and an item stamped before that photo
    but sent after the grace (8 s here) was not waiting in a queue."""
    now = datetime.now(UTC)
    live = plant.badge("tablet-a", "S-NOW", "E01", device_seq=10)
    assert live.json()["status"] == "accepted", live.text
    stamped = now - timedelta(minutes=3)

    def numbered(no: str, seq: int) -> dict[str, Any]:
        return {**plant.queued("S-NOW", no, stamped), "device_seq": seq}

    sent_at = {"sent_at": datetime.now(UTC).isoformat()}
    (honest_queue,) = plant.batch("tablet-a", [numbered("E02", 9)], **sent_at)
    (backdated,) = plant.batch("tablet-a", [numbered("E03", 11)], **sent_at)
    queued_photo = camera_photo(rooms, "queued", stamped, 6)
    plant.photo("tablet-a-wide", "S-NOW", queued_photo, stamped)
    time.sleep(9)
    (offline_all_along,) = plant.batch(
        "tablet-a-wide",
        [plant.queued("S-NOW", "E04", stamped)],
        sent_at=datetime.now(UTC).isoformat(),
    )
    photo_at = datetime.now(UTC)
    plant.photo("tablet-a-wide", "S-NOW", camera_photo(rooms, "live", photo_at, 6), photo_at)
    time.sleep(9)
    (sent_too_late,) = plant.batch(
        "tablet-a-wide",
        [plant.queued("S-NOW", "E05", photo_at - timedelta(minutes=3))],
        sent_at=datetime.now(UTC).isoformat(),
    )
    for honest in (honest_queue, offline_all_along):
        assert honest["status"] == "accepted" and honest["flags"] == ["offline_sync"], honest
    for forged in (backdated, sent_too_late):
        assert forged["status"] == "flagged" and "device_clock_skew" in forged["flags"], forged
    found = anomalies(server, plant)
    assert about(found) == {
        ("device_clock_skew", backdated["checkin_id"]),
        ("device_clock_skew", sent_too_late["checkin_id"]),
    }
    by_person = {a["employee_id"]: a["evidence"] for a in found}
    assert by_person["E03"]["device_seq"] == 11
    assert by_person["E03"]["device_seq_heard_live"] == "10"
    assert from_iso(by_person["E03"]["device_online_at"]) >= now
    assert from_iso(by_person["E05"]["device_online_at"]) >= photo_at
    assert "device_seq_heard_live" not in by_person["E05"]


# -- proxy_suspected: one phone, two people --------------------------------------------------


def test_one_phone_checking_in_two_people_is_proxy_suspected(
    server: LiveServer, plant: Plant
) -> None:
    """E01's phone checks in E01, then E02 logs in on it and checks in too: E02's check-in is
    flagged. E03 on a phone of their own, and E01's phone in another session, are honest."""
    qr = plant.room_qr("tablet-a", "S-NOW")
    first = plant.phone("E01", "S-NOW", qr, "phone-of-e01")
    assert first.json()["status"] == "accepted", first.text
    borrowed = plant.phone("E02", "S-NOW", qr, "phone-of-e01")
    assert borrowed.status_code == 201 and borrowed.json()["status"] == "flagged"
    own = plant.phone("E03", "S-NOW", qr, "phone-of-e03")
    assert own.json()["status"] == "accepted" and own.json()["flags"] == []
    elsewhere = plant.phone("E01", "S-SOON", plant.room_qr("tablet-b", "S-SOON"), "phone-of-e01")
    assert elsewhere.json()["status"] == "accepted", elsewhere.text
    (proxy,) = anomalies(server, plant)
    assert (proxy["kind"], proxy["employee_id"]) == ("proxy_suspected", "E02")
    assert proxy["checkin_id"] == borrowed.json()["checkin_id"]
    assert proxy["session_id"] == plant.sessions["S-NOW"] and proxy["severity"] == "high"
    assert proxy["evidence"]["phone_id"] == "phone-of-e01"
    assert proxy["evidence"]["proxy_other_employee"] == "E01"


# -- face_mismatch and proxy_suspected: someone else's face for a badge -----------------------


def enrol(plant: Plant, no: str, selfies: list[bytes]) -> None:
    reply = httpx.post(
        f"{plant.url}/api/v1/face-enrolments",
        headers=plant.auth(plant.devices["tablet-a"]),
        data={"employee_id": no, "consent": "true"},
        files=[("file", (f"s{i}.jpg", s, "image/jpeg")) for i, s in enumerate(selfies)],
        timeout=120,
    )
    assert reply.status_code == 201, reply.text


def selfie(plant: Plant, data: bytes) -> str:
    reply = httpx.post(
        f"{plant.url}/api/v1/photos",
        headers=plant.auth(plant.devices["tablet-a"]),
        data={
            "session_id": plant.sessions["S-NOW"],
            "kind": "selfie",
            "client_event_id": str(uuid.uuid4()),
            "device_time": datetime.now(UTC).isoformat(),
        },
        files={"file": ("selfie.jpg", data, "image/jpeg")},
        timeout=60,
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["photo_id"])


def test_a_face_that_is_not_the_badge_holder_is_face_mismatch_and_proxy_suspected(
    server: LiveServer, plant: Plant
) -> None:
    """E01 (enrolled) stands at the kiosk with E02's badge (enrolled, another face), and
    again with E03's badge (never enrolled): both check-ins are flagged as the wrong face
    and as a proxy, naming E01. E01 with their own badge, and E04 (not enrolled) with a face
    nobody enrolled has, are honest."""
    enrol(plant, "E01", faces.astronaut_selfies())
    enrol(plant, "E02", [faces.lfw_person(1)])
    astronaut = selfie(plant, faces.astronaut_later())
    cheats = [
        plant.badge("tablet-a", "S-NOW", no, method="face", face_photo_id=astronaut)
        for no in ("E02", "E03")
    ]
    for reply in cheats:
        assert reply.status_code == 201, reply.text
        assert reply.json()["status"] == "flagged"
        assert {"face_mismatch", "proxy_suspected"} <= set(reply.json()["flags"])
    stranger = selfie(plant, faces.lfw_person(7))
    honest = [
        plant.badge("tablet-a", "S-NOW", "E01", method="face", face_photo_id=astronaut),
        plant.badge("tablet-a", "S-NOW", "E04", method="face", face_photo_id=stranger),
    ]
    for reply in honest:
        assert reply.json()["status"] == "accepted" and reply.json()["flags"] == [], reply.text
    found = anomalies(server, plant)
    ids = [r.json()["checkin_id"] for r in cheats]
    assert about(found) == {(k, i) for k in ("face_mismatch", "proxy_suspected") for i in ids}
    assert {a["employee_id"] for a in found} == {"E02", "E03"}
    proxies = [a for a in found if a["kind"] == "proxy_suspected"]
    assert {a["evidence"]["face_looks_like"] for a in proxies} == {"E01"}
    mismatch = next(a for a in found if a["kind"] == "face_mismatch" and a["employee_id"] == "E02")
    assert mismatch["evidence"]["face_check"] == "no_match"
    assert float(mismatch["evidence"]["face_distance"]) > 0


# -- the photo kinds -------------------------------------------------------------------------


def camera_photo(rooms: Path, name: str, wall_clock: datetime | None, people: int) -> bytes:
    """A room photo as a camera without a time zone writes it: its EXIF time is the wall
    clock it was set to, with no offset (``None``: no EXIF time at all). The fake analyser
    counts ``people`` in it."""
    image = Image.effect_noise((320, 240), 40 + len(name)).convert("RGB")
    exif = Image.Exif()
    if wall_clock is not None:
        exif.get_ifd(0x8769)[0x9003] = wall_clock.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, exif=exif)
    (rooms / f"{name}.jpg").write_bytes(out.getvalue())
    faces_ = [{"box": [10 + 24 * i, 40, 20, 20]} for i in range(people)]
    (rooms / f"{name}.json").write_text(json.dumps({"faces": faces_}))
    return out.getvalue()


def test_photo_cheats_are_flagged_whatever_zone_the_camera_clock_is_in(
    server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """Tablets that keep UTC, and cameras set to the plant's clock, write EXIF times without a
    zone: either reading that fits makes a photo honest. A photo taken an hour before, the
    same photo for another session (taken as its check-in opened: no time mismatch), one
    without a time and one with fewer people than checked in are each flagged with their
    kind."""
    for no in ("E01", "E02", "E03", "E04", "E05", "E06"):
        assert plant.badge("tablet-a", "S-NOW", no).status_code == 201
    now = datetime.now(UTC)
    shanghai = now.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    honest = [
        plant.photo("tablet-a", "S-NOW", camera_photo(rooms, "utc", now, 6), now),
        plant.photo("tablet-a", "S-NOW", camera_photo(rooms, "plant", shanghai, 6), now),
        plant.photo("tablet-a", "S-NOW", camera_photo(rooms, "no-device-time", shanghai, 6), None),
    ]
    earlier = camera_photo(rooms, "hour-before", now - timedelta(hours=1), 6)
    early = plant.photo("tablet-a", "S-NOW", earlier, now)
    reused = camera_photo(rooms, "reused", now, 6)
    first_use = plant.photo("tablet-a", "S-NOW", reused, now)
    assert plant.photo("tablet-b", "S-SOON", reused, now) == first_use
    bare = plant.photo("tablet-a", "S-NOW", camera_photo(rooms, "bare", None, 6), now)
    short = plant.photo("tablet-a", "S-NOW", camera_photo(rooms, "three", now, 3), now)
    found = anomalies(server, plant)
    kinds = {(a["kind"], a["photo_id"], a["session_id"]) for a in found}
    s_now, s_soon = plant.sessions["S-NOW"], plant.sessions["S-SOON"]
    assert kinds == {
        ("photo_time_mismatch", early, s_now),
        ("photo_reused", first_use, s_soon),
        ("photo_without_exif", bare, s_now),
        ("headcount_shortfall", short, s_now),
    }
    assert not {a["photo_id"] for a in found} & set(honest)
    reuse = next(a for a in found if a["kind"] == "photo_reused")
    assert reuse["evidence"]["first_session"] == s_now
    mismatch = next(a for a in found if a["kind"] == "photo_time_mismatch")
    assert mismatch["evidence"]["minutes_before_upload"] == 60
    shortfall = next(a for a in found if a["kind"] == "headcount_shortfall")
    assert (shortfall["evidence"]["checked_in"], shortfall["evidence"]["missing"]) == (6, 3)
