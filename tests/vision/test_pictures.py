"""Pictures on the wall (``vision.headcount.pictures``): a face found unchanged at the same
place in the room's photos from other days is a picture; people, the same photo uploaded
again, and photos that cannot be compared are left alone. On made-up grey images: no models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.decode import decode_image, encode_jpeg, encode_png
from vision.geometry import Box
from vision.headcount import MemoryUse, RoomMemory, earlier_views
from vision.headcount.pictures import days_unchanged, days_used

PICTURES = [Box(60 + 150 * i, 40, 80, 80) for i in range(3)]
SEATS = [Box(200 + 200 * i, 300, 80, 80) for i in range(3)]


def _room(day: int, rng_wall: int = 5) -> NDArray[np.uint8]:
    """The same wall with three pictures every day; other people in the seats each day."""
    wall = np.random.default_rng(rng_wall).integers(60, 200, (500, 900), dtype=np.uint8)
    people = np.random.default_rng(100 + day)
    for seat in SEATS:
        wall[seat.y : seat.y + seat.h, seat.x : seat.x + seat.w] = people.integers(
            0, 255, (seat.h, seat.w), dtype=np.uint8
        )
    return wall


def test_pictures_are_unchanged_on_other_days_and_people_are_not() -> None:
    today = _room(0)
    memory = RoomMemory(today, [_room(1), _room(2)])
    assert memory.unchanged(PICTURES + SEATS) == [2, 2, 2, 0, 0, 0]
    assert memory.report == MemoryUse(same_place=2)


def test_the_same_photo_again_is_not_used() -> None:
    today = _room(0)
    memory = RoomMemory(today, [today.copy(), _room(1)])
    assert memory.unchanged(PICTURES + SEATS) == [1, 1, 1, 0, 0, 0]
    assert memory.report == MemoryUse(same_place=1, reuse=1)


def test_a_tablet_knocked_askew_is_lined_up_first() -> None:
    """A room photo as a tablet 40 px further left and 25 px higher, turned 1.5° and zoomed
    3% in takes it: lined up by the room's corners, its wall is found unchanged again."""
    photo = decode_image(
        (Path(__file__).parents[1] / "fixtures/vision/room_memory_before.jpg").read_bytes()
    )
    move = cv2.getRotationMatrix2D((960, 540), 1.5, 1.03)
    move[:, 2] += (-40, -25)
    askew = np.asarray(cv2.warpAffine(photo.gray, move, (1920, 1080)), np.uint8)
    wall = [Box(700 + 150 * i, 150, 100, 100) for i in range(1)]
    memory = RoomMemory(photo.gray, [askew])
    assert memory.unchanged(wall) == [1]
    assert memory.report == MemoryUse(lined_up=1)
    assert RoomMemory(photo.gray, []).unchanged(wall) == [0]


def test_another_shape_or_bytes_that_are_no_image_are_left_out() -> None:
    today = _room(0)
    square = encode_jpeg(np.dstack([_room(1)[:, :500]] * 3))
    views = earlier_views(
        [square, b"\xff\xd8 not a jpeg", encode_png(np.dstack([_room(2)] * 3))], today.shape
    )
    assert len(views) == 1
    memory = RoomMemory(today, views, left_out=2)
    assert memory.unchanged(PICTURES + SEATS) == [1, 1, 1, 0, 0, 0]
    assert memory.report == MemoryUse(same_place=1, left_out=2)


def test_which_days_are_used_and_how_many_show_each_box() -> None:
    same = [[True, True, False, False], [True, True, True, False], [False, False, False, True]]
    assert days_used(same) == [True, False, True]  # the second shows three in four: reuse
    assert days_unchanged(same, 4) == [1, 1, 0, 1]
    assert days_unchanged([], 3) == [0, 0, 0]
