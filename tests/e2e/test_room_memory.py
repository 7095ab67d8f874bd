"""Pictures on the wall through the app, with the real analyser in its worker process: a room
photo is analysed together with photos of the same room from other sessions; a face found
unchanged in them is set aside as a picture, never on a person and never counted, and HR sees
why each face was counted or not. Counts are checked against the truth beside each fixture
(within one, and inside the range the page shows), not pinned."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from numpy.typing import NDArray

from app.web import pages
from tests.conftest import LiveServer, Plant
from tests.e2e.test_photo_page import staff
from tests.e2e.test_photos import token, upload
from tests.integration.test_room_memory import session_in
from vision.decode import decode_image, encode_jpeg
from vision.headcount import Reason

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


def truth_of(name: str) -> list[list[int]]:
    """The people's head boxes beside a fixture photo."""
    faces = json.loads((FIXTURES / name).with_suffix(".json").read_text())["faces"]
    return [f["box"] for f in faces]


def holds(analysis: dict[str, Any], heads: list[list[int]]) -> None:
    """The count is within one of the people in the photo, the range the page shows holds the
    count, every face says why it was counted or not, and a picture is on nobody's head."""
    low = analysis.get("headcount_min", analysis["headcount"])
    assert abs(analysis["headcount"] - len(heads)) <= 1, (analysis["headcount"], len(heads))
    assert low <= analysis["headcount"] <= analysis["headcount_max"]
    reasons = {r.value for r in Reason}
    for face in analysis["faces"]:
        assert face["reason"] in reasons
        if face["reason"] == Reason.PICTURE:
            assert not face["confirmed"]
            assert not any(on_box(face, head) for head in heads), face


def taken_askew(rgb: NDArray[np.uint8], dx: float, dy: float, turn: float, zoom: float) -> bytes:
    """The room as a camera moved by (dx, dy) pixels, turned ``turn`` degrees and zoomed
    ``zoom`` times takes it; the new edges show the room mirrored."""
    height, width = rgb.shape[:2]
    move = cv2.getRotationMatrix2D((width / 2, height / 2), turn, zoom)
    move[:, 2] += (dx, dy)
    out = cv2.warpAffine(rgb, move, (width, height), borderMode=cv2.BORDER_REFLECT)
    return encode_jpeg(np.ascontiguousarray(out, np.uint8), 90)


def test_a_room_photo_compared_with_another_day_counts_within_one_and_says_why(
    server: LiveServer, plant: Plant
) -> None:
    _, after = photograph_the_room_twice(server, plant, "培训室A", hours_between=12)
    analysis = after["analysis"]
    holds(analysis, truth_of("room_memory_after.jpg"))
    assert analysis["room_memory_photos"] == 1
    zh, en = evidence_pages(server, after["photo_id"])
    assert 'data-reason="' in en and "Counted:" in en and "计入" in zh


def test_the_rooms_first_photo_is_counted_again_once_the_room_has_another(
    server: LiveServer, plant: Plant
) -> None:
    first_id, _ = photograph_the_room_twice(server, plant, "培训室A", hours_between=24)
    first = analysed(server, first_id, again=True)["analysis"]
    assert first["room_memory_photos"] == 1 and first["revises"]["room_memory_photos"] == 0
    holds(first, truth_of("room_memory_before.jpg"))


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
    """`sure_cup_day1–3.jpg` (``photograph_days``). Returns the three photos' ids."""
    return photograph_days(server, plant, "sure_cup", 3)


def test_a_face_two_other_sessions_show_unchanged_is_a_picture_not_a_person(
    server: LiveServer, plant: Plant
) -> None:
    ids = photograph_the_sure_cup(server, plant)
    day2 = compared_with(server, ids[1], 2)
    holds(day2, truth_of("sure_cup_day2.jpg"))
    cup = json.loads((FIXTURES / "sure_cup_day2.json").read_text())["cup"]
    assert not any(f["confirmed"] for f in day2["faces"] if on_box(f, cup))


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


def test_a_photo_from_a_tablet_knocked_askew_is_lined_up_and_the_page_says_so(
    server: LiveServer, plant: Plant
) -> None:
    photo = photograph_a_knocked_tablet(server, plant)
    analysis = photo["analysis"]
    holds(analysis, truth_of("room_memory_after.jpg"))
    assert analysis["room_memory"]["lined_up"] == 1
    _, en = evidence_pages(server, photo["photo_id"])
    assert "1 lined up: camera moved" in en


@pytest.mark.parametrize(
    ("room", "hours_between"),
    [("培训室A", 2), ("培训室B", 13)],
    ids=["same-room-2h-before", "other-room-13h-before"],
)
def test_a_photo_of_the_same_people_minutes_before_or_of_another_room_is_not_compared(
    server: LiveServer, plant: Plant, room: str, hours_between: float
) -> None:
    """A photo of the same room two hours before may show the same people in the same seats,
    and one of another room shows other walls: neither is used, no face is set aside as a
    picture, and the first photo is not analysed again."""
    first_id, after = photograph_the_room_twice(server, plant, room, hours_between)
    analysis = after["analysis"]
    holds(analysis, truth_of("room_memory_after.jpg"))
    assert not any(f["reason"] == Reason.PICTURE for f in analysis["faces"])
    with staff(server, "hr", "hr-password") as client:
        html = client.get(f"/photos/{after['photo_id']}/evidence?lang=en").text
    assert "Picture on the wall" not in html and "Set aside as pictures" not in html
    assert '<dd id="photo-memory"><span class="muted">none yet</span></dd>' in html
    assert server.muster.analysis is not None
    assert server.muster.analysis.wait_until_idle(60)  # no analysis left in flight
    assert server.muster.runner.wait_until_caught_up(10)
    first = analysed(server, first_id)["analysis"]
    assert first["room_memory_photos"] == 0 and "revises" not in first


def test_faces_of_older_analyses_say_why_from_what_they_stored() -> None:
    """Analyses recorded before faces carried a reason: a counted face reads "counted", an
    uncounted one "possible face", a picture "picture"; the numbering follows the rows."""
    old = {
        "faces": [
            {"box": [400, 100, 50, 50], "confirmed": True, "attentive": True},
            {"box": [100, 110, 50, 50], "confirmed": False, "attentive": False},
            {"box": [100, 300, 50, 50], "confirmed": False, "attentive": False, "static": True},
        ]
    }
    new = {"faces": [{**old["faces"][0], "reason": "detectors_agree", "in_doubt": True}]}
    assert [(f["n"], f["how"], f["reason"]) for f in pages._faces_view(old)] == [
        (1, "maybe", "possible_face"),
        (2, "front", "counted"),
        (3, "static", "picture"),
    ]
    ((face,),) = [pages._faces_view(new)]
    assert (face["how"], face["reason"], face["in_doubt"]) == ("front", "detectors_agree", True)
