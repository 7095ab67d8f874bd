"""Room memory through the app, with the real analyser in its worker process: a room photo is
analysed together with photos of the same room from other sessions, so the espresso-cup poster
on the wall is set aside as a picture instead of counted, and HR sees it so marked; and the
room's first photo, analysed with nothing to compare with, is counted again once there is."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.web import pages
from tests.conftest import LiveServer, Plant
from tests.e2e.test_photo_page import staff
from tests.e2e.test_photos import token, upload
from tests.integration.test_room_memory import session_in
from tests.vision.test_memory import taken_askew
from vision.decode import decode_image

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vision"
CUP = json.loads((FIXTURES / "room_memory_after.json").read_text())["cup"]


pytestmark = pytest.mark.vision("real")  # the real analyser in its vision process


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the query runs on both stores in tests/integration/test_room_memory.py


def analysed(server: LiveServer, photo_id: str, again: bool = False) -> dict[str, Any]:
    """The photo as the API shows it, once its analysis is recorded (``again``: once it has
    been analysed again with room memory)."""
    hr = {"Authorization": "Bearer " + token(server, "hr", "hr-password")}
    deadline = time.monotonic() + 90  # the first job loads the models in the worker
    while True:
        photo: dict[str, Any] = httpx.get(
            f"{server.url}/api/v1/photos/{photo_id}", headers=hr
        ).json()
        done = photo["status"] != "stored" and (not again or "revises" in photo["analysis"])
        if done or time.monotonic() > deadline:
            assert photo["status"] == "analysed", photo
            assert not again or "revises" in photo["analysis"], photo["analysis"]
            return photo
        time.sleep(0.3)


def evidence_pages(server: LiveServer, photo_id: str) -> tuple[str, str]:
    """The photo's evidence page as HR reads it, in Chinese and in English."""
    with staff(server, "hr", "hr-password") as client:
        zh = client.get(f"/photos/{photo_id}/evidence").text
        en = client.get(f"/photos/{photo_id}/evidence?lang=en").text
    return zh, en


def photograph_turned_heads(server: LiveServer, plant: Plant) -> tuple[str, dict[str, Any]]:
    """`turned_heads_day1.jpg` and, a day later in the same room, `turned_heads_day2.jpg`
    (``photograph_the_room_twice``): two faint turned heads on the first day."""
    photos = ("turned_heads_day1.jpg", "turned_heads_day2.jpg")
    return photograph_the_room_twice(server, plant, "培训室A", 24, photos)


def on_box(face: dict[str, Any], box: list[int]) -> bool:
    x, y, w, h = face["box"]
    cx, cy, cw, ch = box
    return cx <= x + w / 2 <= cx + cw and cy <= y + h / 2 <= cy + ch


def on_cup(face: dict[str, Any]) -> bool:
    return on_box(face, CUP)


def photograph_the_room_twice(
    server: LiveServer,
    plant: Plant,
    room: str,
    hours_between: float,
    photos: tuple[str, str] = ("room_memory_before.jpg", "room_memory_after.jpg"),
) -> tuple[str, dict[str, Any]]:
    """`room_memory_before.jpg` for a session in `room` starting `hours_between` hours before
    a session in 培训室A, analysed; then `room_memory_after.jpg` for that session (or the
    two ``photos``): the first photo's id and the API's view of the second, analysed."""
    starts = datetime.now(UTC) - timedelta(minutes=5)
    first = session_in(server.muster, "S-DAY1", room, starts - timedelta(hours=hours_between))
    second = session_in(server.muster, "S-DAY2", "培训室A", starts)
    assert server.muster.runner.wait_until_caught_up(10)
    before = (FIXTURES / photos[0]).read_bytes()
    reply = upload(server, plant.p1_token, before, first, "day-1")
    assert reply.status_code == 201, reply.text
    first_id = reply.json()["photo_id"]
    first_analysis = analysed(server, first_id)["analysis"]
    assert first_analysis["faces"] and first_analysis["room_memory_photos"] == 0
    after = (FIXTURES / photos[1]).read_bytes()
    reply = upload(server, plant.p1_token, after, second, "day-2")
    assert reply.status_code == 201, reply.text
    return first_id, analysed(server, reply.json()["photo_id"])


def test_the_cup_poster_an_earlier_session_also_shows_is_not_counted(
    server: LiveServer, plant: Plant
) -> None:
    """Nine people, and a cup poster the detectors count as a tenth: with the room's photo
    from a session 12 hours before, the poster is a picture (not counted, not a "maybe"), and
    the evidence page says so."""
    _, after = photograph_the_room_twice(server, plant, "培训室A", hours_between=12)
    analysis = after["analysis"]
    assert (analysis["headcount"], analysis["headcount_max"]) == (9, 9)
    assert analysis["room_memory_photos"] == 1 and "revises" not in analysis
    assert after["headcount"] == 9  # the read model the session page shows
    static = [f for f in analysis["faces"] if f["static"]]
    assert len(static) == 1 and on_cup(static[0]) and not static[0]["confirmed"]
    assert all(f["static"] is False for f in analysis["faces"] if not on_cup(f))
    zh, en = evidence_pages(server, after["photo_id"])
    assert zh.count('class="face static"') == 1
    assert "墙上的图片：本教室其他场次的照片同一位置也有" in zh
    assert "Picture on the wall: in a photo of another session too" in en
    assert '<dd id="photo-memory">1</dd>' in en
    assert '<span class="key static"></span>Picture on the wall (not counted)' in en
    assert '<dt>Set aside as pictures</dt><dd id="photo-pictures">1</dd>' in en
    assert '<span class="value" id="photo-headcount">9</span>' in en
    # Every face numbered once, the picture among them, in reading order.
    numbers = [int(n) for n in re.findall(r'<tr class="\w+" data-face="(\d+)"', en)]
    assert numbers == list(range(1, len(analysis["faces"]) + 1))


def test_the_rooms_first_photo_is_counted_again_once_the_room_has_another(
    server: LiveServer, plant: Plant
) -> None:
    """The first day's photo had nothing to compare with: 17 counted and 3 "maybes" (17–20,
    18 people). Once the next day's photo is stored, it is analysed again with it: the two
    "maybes" on pictures are set aside (17–18), and the page says what it was before."""
    first_id, _ = photograph_the_room_twice(server, plant, "培训室A", hours_between=12)
    first = analysed(server, first_id, again=True)
    analysis = analysis_of_first = first["analysis"]
    assert analysis["revises"] == {
        "headcount": 17,
        "headcount_max": 20,
        "analyser": analysis["analyser"],
        "room_memory_photos": 0,
    }
    assert (analysis["headcount"], analysis["headcount_max"]) == (17, 18)
    assert (first["headcount"], first["headcount_max"]) == (17, 18)  # the read model
    assert analysis["room_memory_photos"] == 1
    assert sum(1 for f in analysis_of_first["faces"] if f["static"]) == 2
    zh, en = evidence_pages(server, first_id)
    assert '<span class="value" id="photo-headcount">17–18</span>' in en
    assert (
        '<dt>Counted again</dt><dd id="photo-revised">was 17–20 before comparing with other '
        "sessions</dd>"
    ) in en
    assert "原为 17–20（对比其他场次照片前）" in zh
    assert '<dt>Set aside as pictures</dt><dd id="photo-pictures">2</dd>' in en


def test_faint_turned_heads_are_counted_once_the_next_day_shows_the_rooms_walls(
    server: LiveServer, plant: Plant
) -> None:
    """Day one alone reads 10–12 for 11 people: two turned heads are "maybes" and a poster
    is counted. Day two's photo shows the poster is a picture and the heads are not: day one
    is counted again, 11, and HR sees which faces were counted that way and what it read."""
    first_id, second = photograph_turned_heads(server, plant)
    assert second["analysis"]["headcount"] == 15
    first = analysed(server, first_id, again=True)["analysis"]
    assert first["revises"]["headcount"] == 10 and first["revises"]["headcount_max"] == 12
    assert (first["headcount"], first["headcount_max"]) == (11, 11)
    assert sum(f["promoted"] for f in first["faces"]) == 2
    assert sum(f["static"] for f in first["faces"]) == 1
    with staff(server, "hr", "hr-password") as client:
        en = client.get(f"/photos/{first_id}/evidence?lang=en").text
    assert '<span class="value" id="photo-headcount">11</span>' in en
    assert "was 10–12 before comparing with other sessions" in en
    assert en.count("Counted: faint, but no picture (other sessions differ here)") == 2


def compared_with(server: LiveServer, photo_id: str, photos: int) -> dict[str, Any]:
    """The photo's analysis once it has been analysed again with ``photos`` other photos of
    the room to compare with."""
    deadline = time.monotonic() + 90
    while True:
        analysis: dict[str, Any] = analysed(server, photo_id)["analysis"]
        if analysis["room_memory_photos"] == photos or time.monotonic() > deadline:
            assert analysis["room_memory_photos"] == photos, analysis
            return analysis
        time.sleep(0.3)


def photograph_days(
    server: LiveServer,
    plant: Plant,
    stem: str,
    days: int,
    after_each: Callable[[int, list[str]], None] = lambda k, ids: None,
) -> list[str]:
    """`{stem}_day1.jpg` … for sessions in 培训室A a day apart, each analysed before the next
    is stored (day k's first analysis compares with the k − 1 before it), ``after_each`` called
    with the day's index and the ids so far. Returns the photos' ids."""
    starts = datetime.now(UTC) - timedelta(minutes=5)
    sessions = [
        session_in(server.muster, f"S-DAY{k + 1}", "培训室A", starts - timedelta(days=days - 1 - k))
        for k in range(days)
    ]
    assert server.muster.runner.wait_until_caught_up(10)
    ids: list[str] = []
    for k, session_id in enumerate(sessions):
        photo = (FIXTURES / f"{stem}_day{k + 1}.jpg").read_bytes()
        reply = upload(server, plant.p1_token, photo, session_id, f"day-{k + 1}")
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["photo_id"])
        first = analysed(server, ids[-1])["analysis"]
        assert first["room_memory_photos"] == k and "revises" not in first
        after_each(k, ids)
    return ids


def photograph_the_sure_cup(server: LiveServer, plant: Plant) -> list[str]:
    """`sure_cup_day1–3.jpg` (``photograph_days``): day 2's first analysis compares with day 1
    only, and counts the cup (14). Returns the three photos' ids."""

    def day2_counts_the_cup(k: int, ids: list[str]) -> None:
        if k == 1:
            first = analysed(server, ids[-1])["analysis"]
            assert (first["headcount"], first["headcount_max"]) == (14, 14)

    return photograph_days(server, plant, "sure_cup", 3, day2_counts_the_cup)


def test_a_cup_three_detectors_see_is_set_aside_once_a_third_session_shows_it(
    server: LiveServer, plant: Plant
) -> None:
    """Three days of one room; the cup poster is on its wall every day. On day 2 three
    detectors see the cup as a face, so day 1's photo alone does not make it a picture: 14
    for 13 people. Once day 3's photo is stored, day 2 is analysed again with both: the cup
    is set aside, 13, and the page says what it read with one other session. Day 1 is
    analysed again twice (with day 2, then with both); day 3 had both from the start."""
    ids = photograph_the_sure_cup(server, plant)
    day1, day2, day3 = (compared_with(server, photo_id, 2) for photo_id in ids)
    assert (day2["headcount"], day2["headcount_max"]) == (13, 13)
    assert day2["revises"] == {
        "headcount": 14,
        "headcount_max": 14,
        "analyser": day2["analyser"],
        "room_memory_photos": 1,
    }
    cup = json.loads((FIXTURES / "sure_cup_day2.json").read_text())["cup"]
    on_the_cup = [f for f in day2["faces"] if on_box(f, cup)]
    assert [(f["static"], f["confirmed"]) for f in on_the_cup] == [(True, False)]
    assert day1["revises"]["room_memory_photos"] == 1 and "revises" not in day3
    zh, en = evidence_pages(server, ids[1])
    assert '<dd id="photo-revised">was 14 with 1 compared</dd>' in en
    assert "原为 14（当时对比 1 个场次）" in zh
    assert '<dd id="photo-memory">2</dd>' in en
    assert '<span class="value" id="photo-headcount">13</span>' in en


def test_a_coin_two_sessions_hid_is_set_aside_once_a_fourth_session_shows_it(
    server: LiveServer, plant: Plant
) -> None:
    """Four days of one room (`spoon_coin_day1–4.jpg`), each photo stored after the one
    before is analysed. On day 1, two detectors see a coin on a poster that the people of
    days 2 and 3 hide. Day 1 is counted again as each later day arrives, until it has three
    other sessions to compare with (decision 0115): with days 2 and 3 it still reads 10 for
    8 people; once day 4 shows the coin, 9, and the coin is drawn as a picture."""

    def day1_still_counts_the_coin(k: int, ids: list[str]) -> None:
        if k == 2:
            assert compared_with(server, ids[0], 2)["headcount"] == 10

    ids = photograph_days(server, plant, "spoon_coin", 4, day1_still_counts_the_coin)
    day1 = compared_with(server, ids[0], 3)
    assert (day1["headcount"], day1["headcount_max"]) == (9, 9)
    assert day1["revises"]["headcount"] == 10 and day1["revises"]["room_memory_photos"] == 2
    coin = json.loads((FIXTURES / "spoon_coin_day1.json").read_text())["coin"]
    assert [(f["static"], f["confirmed"]) for f in day1["faces"] if on_box(f, coin)] == [
        (True, False)
    ]
    _, en = evidence_pages(server, ids[0])
    assert '<dd id="photo-revised">was 10 with 2 compared</dd>' in en
    assert '<dd id="photo-memory">3</dd>' in en


def photograph_a_knocked_tablet(server: LiveServer, plant: Plant) -> dict[str, Any]:
    """`room_memory_before.jpg` as a tablet 40 px further left and 25 px higher, turned 1.5°
    and zoomed 3% in takes it, for a session a day before one in 培训室A, analysed; then
    `room_memory_after.jpg` for that session: the API's view of it, analysed."""
    starts = datetime.now(UTC) - timedelta(minutes=5)
    day1 = session_in(server.muster, "S-DAY1", "培训室A", starts - timedelta(hours=24))
    day2 = session_in(server.muster, "S-DAY2", "培训室A", starts)
    assert server.muster.runner.wait_until_caught_up(10)
    before = decode_image((FIXTURES / "room_memory_before.jpg").read_bytes()).rgb
    reply = upload(server, plant.p1_token, taken_askew(before, -40, -25, 1.5, 1.03), day1, "d-1")
    assert reply.status_code == 201, reply.text
    analysed(server, reply.json()["photo_id"])
    after = (FIXTURES / "room_memory_after.jpg").read_bytes()
    reply = upload(server, plant.p1_token, after, day2, "d-2")
    assert reply.status_code == 201, reply.text
    return analysed(server, reply.json()["photo_id"])


def test_a_tablet_knocked_askew_between_sessions_still_finds_the_poster(
    server: LiveServer, plant: Plant
) -> None:
    """The day before, the tablet hung elsewhere (``photograph_a_knocked_tablet``). Its photo
    is lined up with today's: the cup poster is set aside (9 for 9 people), and the page says
    the photo compared was lined up because the camera moved, so whoever looks after the
    tablets can see it was knocked."""
    photo = photograph_a_knocked_tablet(server, plant)
    analysis = photo["analysis"]
    assert (analysis["headcount"], analysis["headcount_max"]) == (9, 9)
    assert [f["static"] for f in analysis["faces"] if on_cup(f)] == [True]
    assert analysis["room_memory"] == {
        "same_place": 0,
        "lined_up": 1,
        "not_lined_up": 0,
        "reuse": 0,
        "left_out": 0,
    }
    zh, en = evidence_pages(server, photo["photo_id"])
    assert '<dd id="photo-memory">1<span class="memory-note" data-memory="lined_up">' in en
    assert "1 lined up: camera moved" in en
    assert "1 张已对齐（相机移动过）" in zh
    assert '<span class="value" id="photo-headcount">9</span>' in en


def test_a_turned_head_two_detectors_box_apart_is_counted_and_the_page_says_who_saw_it(
    server: LiveServer, plant: Plant
) -> None:
    """`offset_boxes_earlier.jpg` the day before, then `offset_boxes.jpg` (19 people) in
    培训室A. On the head turned 48°, BlazeFace's box is the face and YuNet saw the same head
    only faintly, boxed apart. With the day before showing no picture there, it counts: 18
    (the head turned 44° is still missed), and the page lists YuNet as having seen it
    faintly, in both languages (decision 0116)."""
    photos = ("offset_boxes_earlier.jpg", "offset_boxes.jpg")
    _, photo = photograph_the_room_twice(server, plant, "培训室A", 24, photos)
    analysis = photo["analysis"]
    assert analysis["headcount"] == 18 and analysis["room_memory_photos"] == 1
    turned = json.loads((FIXTURES / "offset_boxes.json").read_text())["turned"]
    (face,) = [f for f in analysis["faces"] if on_box(f, turned)]
    assert face["promoted"] and face["detectors"] == ["blaze"] and "yunet" in face["faintly"]
    zh, en = evidence_pages(server, photo["photo_id"])
    assert 'BlazeFace<span class="muted faintly"> · faintly: ' in en
    assert "弱检出：" in zh
    assert '<span class="value" id="photo-headcount">18</span>' in en


@pytest.mark.parametrize(
    ("room", "hours_between"),
    [("培训室A", 2), ("培训室B", 13)],
    ids=["same-room-2h-before", "other-room-13h-before"],
)
def test_without_an_earlier_photo_of_the_room_the_cup_is_still_counted(
    server: LiveServer, plant: Plant, room: str, hours_between: float
) -> None:
    """A photo of the same room two hours before may show the same people in the same seats,
    and one of another room shows other walls: neither is used, and the cup counts as a face;
    nor is the first photo analysed again."""
    first_id, after = photograph_the_room_twice(server, plant, room, hours_between)
    analysis = after["analysis"]
    assert analysis["headcount"] == 10
    assert not any(f["static"] for f in analysis["faces"])
    assert any(on_cup(f) and f["confirmed"] for f in analysis["faces"])
    with staff(server, "hr", "hr-password") as client:
        html = client.get(f"/photos/{after['photo_id']}/evidence?lang=en").text
    assert "Picture on the wall" not in html and "Set aside as pictures" not in html
    assert '<dd id="photo-memory"><span class="muted">none yet</span></dd>' in html
    assert server.muster.analysis is not None
    assert server.muster.analysis.wait_until_idle(60)  # no analysis left in flight
    assert server.muster.runner.wait_until_caught_up(10)
    first = analysed(server, first_id)["analysis"]
    assert first["room_memory_photos"] == 0 and "revises" not in first


def test_faces_analysed_before_room_memory_read_as_before() -> None:
    """Analyses recorded before room memory have no "static": none of their faces is a
    picture, and the numbering still follows the rows."""
    old = {
        "faces": [
            {"box": [400, 100, 50, 50], "confirmed": True, "attentive": True},
            {"box": [100, 110, 50, 50], "confirmed": False, "attentive": False},
            {"box": [100, 300, 50, 50], "confirmed": True, "attentive": False},
        ]
    }
    new = {"faces": [{**old["faces"][0], "static": False}, {**old["faces"][1], "static": True}]}
    assert [(f["n"], f["how"], f["static"]) for f in pages._faces_view(old)] == [
        (1, "maybe", False),
        (2, "front", False),
        (3, "away", False),
    ]
    assert [(f["n"], f["how"]) for f in pages._faces_view(new)] == [(1, "static"), (2, "front")]
    assert not any(f["faintly"] for f in pages._faces_view(old))
