"""YuNet (OpenCV's face detector, model file in vision/detectors/data/yunet) with the real model on
real images: it loads offline and only as the shipped file, finds a portrait's face with its
landmarks, and in a bundled synthetic room it counts a person whose head is turned 50° away that
HOG, Haar and BlazeFace all miss; run on the mirrored photo too, it counts a head turned 48° it
misses the right way round. Also: the synthetic renderer draws left and right turns alike."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from skimage import data

from app.demo.synthetic import turn_head
from vision.detectors.yunet import MODEL, MODEL_SHA256, YuNet, mirrored
from vision.geometry import Box, iou
from vision.headcount.detect import (
    CLOSE_UP,
    CloseUp,
    DetectConfig,
    Detection,
    FaceCandidate,
    close_up,
    second_look,
)
from vision.identity.engine import DlibFaceEngine
from vision.room.analysis import ANALYSER_VERSION, DlibRoomAnalyzer

from .heads import counted_everyone, missed_the_turned_head, on_head, room_fixture


def test_the_model_ships_in_the_repo_with_its_licence(face_engine: DlibFaceEngine) -> None:
    assert MODEL.is_file() and MODEL.stat().st_size < 300_000
    assert "MIT License" in (MODEL.parent / "LICENSE").read_text()
    assert face_engine.models.yunet is not None


def test_an_altered_or_foreign_model_file_is_refused(tmp_path: Path) -> None:
    altered = tmp_path / "yunet.onnx"
    shutil.copy(MODEL, altered)
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(FileNotFoundError, match="sha256"):
        YuNet.load(altered, MODEL_SHA256)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a network" * 100)
    with pytest.raises(FileNotFoundError, match="did not load"):
        YuNet.load(garbage, sha256=None)
    with pytest.raises(FileNotFoundError, match="missing"):
        YuNet.load(tmp_path / "absent.onnx")


def test_yunet_finds_the_portrait_face_and_its_landmarks(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8]
) -> None:
    hits = face_engine.models.yunet.detect(astronaut, 0.5)
    assert len(hits) == 1
    hit = hits[0]
    assert hit.score > 0.9
    assert on_head(hit.box, [160, 55, 140, 140])  # Eileen Collins' face in the 512×512 portrait
    (rx, ry), (lx, ly), (nx, ny), (mrx, mry), (mlx, mly) = hit.landmarks
    assert rx < nx < lx and mrx < nx < mlx  # nose between the eyes and the mouth corners
    assert max(ry, ly) < ny < min(mry, mly)  # eyes above the nose above the mouth


def test_yunet_finds_nothing_in_a_photo_of_no_one(face_engine: DlibFaceEngine) -> None:
    rng = np.random.default_rng(3)
    wall = np.asarray(rng.normal(128, 20, (720, 1280, 3)).clip(0, 255), dtype=np.uint8)
    assert face_engine.models.yunet.detect(wall, 0.5) == []


@pytest.fixture(scope="module")
def turned_away() -> tuple[bytes, list[dict[str, Any]]]:
    """room_turned_away.jpg: 1920×1080, five people (seed-9 room 12 of bench/vision_eval.py at
    commit 688c369, before its LFW crops were centred), the middle one's head turned 50° to the
    image's left; the JSON beside it has the truth."""
    return room_fixture("room_turned_away.jpg")


def test_a_head_turned_away_is_counted_only_with_yunet(
    face_engine: DlibFaceEngine,
    room_analyzer: DlibRoomAnalyzer,
    turned_away: tuple[bytes, list[dict[str, Any]]],
) -> None:
    photo, truth = turned_away
    without = DlibRoomAnalyzer(face_engine.models, DetectConfig(yunet=False))
    try:  # HOG, Haar and BlazeFace miss the turned head
        missed_the_turned_head(without.analyse(photo), truth)
    finally:
        without.close()

    after = room_analyzer.analyse(photo)
    assert counted_everyone(after, truth).detectors == ("yunet",)
    assert after.attentive == 4
    assert after.analyser == ANALYSER_VERSION == "dlib-hog+haar+blazeface+yunet/16"
    payload = after.to_payload()
    assert ["yunet"] in [face["detectors"] for face in payload["faces"]]


@pytest.mark.parametrize(("yaw", "pitch"), [(45.0, 0.0), (30.0, 0.0), (40.0, 20.0)])
def test_a_head_turned_left_is_the_mirror_image_of_one_turned_right(
    astronaut_head: NDArray[np.uint8], lfw: list[NDArray[np.uint8]], yaw: float, pitch: float
) -> None:
    for face in (astronaut_head, lfw[3]):
        mirrored = np.ascontiguousarray(face[:, ::-1])
        left = turn_head(face, yaw=-yaw, pitch=pitch)
        right_of_mirror = turn_head(mirrored, yaw=yaw, pitch=pitch)[:, ::-1]
        assert np.array_equal(left, right_of_mirror)
        assert not np.array_equal(left, face)


@pytest.mark.parametrize("shape", [(1, 1, 3), (10, 10, 3), (2, 3000, 3), (3000, 2, 3)])
def test_tiny_and_sliver_images_find_no_one_without_failing(
    face_engine: DlibFaceEngine, shape: tuple[int, int, int]
) -> None:
    for _ in range(20):  # OpenCV once answered a sliver with a box far outside it
        assert face_engine.models.yunet.detect(np.full(shape, 128, np.uint8), 0.1) == []


def _candidate(box: Box) -> FaceCandidate:
    """A face HOG and Haar agreed on (confirmed), which YuNet did not see in the whole photo."""
    return FaceCandidate(
        box, (Detection(box, -0.5, "hog"), Detection(box, 3.0, "haar_frontal")), confirmed=True
    )


def _maybe(box: Box) -> FaceCandidate:
    """A faint HOG window alone: not confirmed, a "maybe" until the second look."""
    return FaceCandidate(box, (Detection(box, -0.9, "hog"),), confirmed=False)


@pytest.fixture(scope="module")
def poster_room(astronaut: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The portrait (Eileen Collins' face at about 228,112 89×110) beside a page of print."""
    page = np.dstack([data.text()] * 3)  # printed text: what posters on the wall look like
    room = np.full((600, 1100, 3), 150, np.uint8)
    room[50:562, 50:562] = astronaut
    room[100:272, 650:1098] = page
    return room


FACE = Box(228, 112, 89, 110)


def test_a_second_look_keeps_a_real_face_and_drops_a_poster(
    face_engine: DlibFaceEngine, poster_room: NDArray[np.uint8]
) -> None:
    face, poster = _candidate(FACE), _candidate(Box(700, 150, 60, 60))
    config = DetectConfig()
    assert close_up(face_engine.models, poster_room, face.box, config).score > 0.8
    assert close_up(face_engine.models, poster_room, poster.box, config).score < 0.1
    # The poster HOG and Haar agreed on is not even a "maybe": it is not in the list at all.
    assert second_look(face_engine.models, poster_room, [face, poster], config) == [face]
    seen = FaceCandidate(poster.box, (Detection(poster.box, 0.6, "yunet"),), confirmed=True)
    assert second_look(face_engine.models, poster_room, [seen], config) == [seen]  # YuNet's own


def test_a_maybe_yunet_sees_clearly_close_up_is_counted(
    face_engine: DlibFaceEngine, poster_room: NDArray[np.uint8]
) -> None:
    (counted,) = second_look(face_engine.models, poster_room, [_maybe(FACE)], DetectConfig())
    assert counted.confirmed and counted.box == FACE
    # What YuNet saw on the close-up is kept: its landmarks sit on the face (they tell where it
    # looks).
    look = next(d for d in counted.detections if d.detector == "yunet")
    assert look.variant == CLOSE_UP and len(look.landmarks) == 5
    assert all(FACE.contains(point) for point in look.landmarks)
    # With promotion switched off it stays a "maybe" (close-up score 0.1–0.8 does the same).
    (doubt,) = second_look(
        face_engine.models, poster_room, [_maybe(FACE)], DetectConfig(promote_look=1.1)
    )
    assert not doubt.confirmed


def test_maybes_on_a_counted_face_or_on_no_face_are_dropped(
    face_engine: DlibFaceEngine, poster_room: NDArray[np.uint8]
) -> None:
    counted = FaceCandidate(FACE, (Detection(FACE, 0.9, "yunet"),), confirmed=True)
    shifted = _maybe(Box(240, 125, 80, 95))  # a second window on the same face
    inner = _maybe(Box(250, 140, 50, 50))  # a smaller one inside it
    wall = _maybe(Box(900, 400, 70, 70))  # bare wall
    config = DetectConfig()
    for again in (shifted, inner):  # YuNet sees the counted face on both close-ups ...
        assert close_up(face_engine.models, poster_room, again.box, config).score > 0.9
    # ... which is one person, already counted; the wall is no one.
    found = second_look(face_engine.models, poster_room, [counted, shifted, inner, wall], config)
    assert found == [counted]


def test_a_window_over_several_small_faces_is_not_counted_as_one(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8]
) -> None:
    """A big faint window over four small faces: YuNet finds a small face near its centre on
    the close-up, but not one as wide as the window, so the window is no person."""
    small = cv2.resize(astronaut[40:215, 140:305], (36, 38), interpolation=cv2.INTER_AREA)
    room = np.full((400, 400, 3), 140, np.uint8)
    for y, x in ((150, 150), (150, 200), (200, 150), (200, 200)):
        room[y : y + 38, x : x + 36] = small
    window = _maybe(Box(150, 150, 86, 88))
    config = DetectConfig()
    seen = close_up(face_engine.models, room, window.box, config)
    assert seen.score >= config.promote_look and seen.box is not None
    assert seen.box.w < window.box.w / 2
    assert [f.confirmed for f in second_look(face_engine.models, room, [window], config)] == [False]


@pytest.mark.parametrize("name", ["room_turned_away.jpg", "room_turned_heads.jpg"])
def test_room_photos_list_no_maybe_where_no_one_sits(
    room_analyzer: DlibRoomAnalyzer, name: str
) -> None:
    photo, truth = room_fixture(name)
    result = room_analyzer.analyse(photo)
    # Before the second look sifted them, a faint HOG window on a shirt made this "5–6 people".
    assert result.headcount == result.headcount_max == len(truth) == 5


def test_a_second_look_at_the_edge_of_the_photo_does_not_fail(face_engine: DlibFaceEngine) -> None:
    wall = np.full((300, 400, 3), 128, np.uint8)
    for box in (Box(0, 0, 30, 30), Box(380, 280, 40, 40), Box(399, 299, 1, 1)):
        assert close_up(face_engine.models, wall, box, DetectConfig()) == CloseUp(0.0, None)


def test_yunet_on_the_mirror_image_finds_the_same_face_and_landmarks(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8]
) -> None:
    """What YuNet finds on the mirrored photo is put back on the photo: the same box, and each
    landmark on the same feature (the mirror swaps the eyes and the mouth corners)."""
    yunet = face_engine.models.yunet
    (direct,) = yunet.detect(astronaut, 0.5)
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    (back,) = mirrored(yunet.detect(flipped, 0.5), astronaut.shape[1])
    assert iou(direct.box, back.box) > 0.85
    eyes = float(np.hypot(*np.subtract(direct.landmarks[0], direct.landmarks[1])))
    for there, here in zip(direct.landmarks, back.landmarks, strict=True):
        assert float(np.hypot(*np.subtract(there, here))) < 0.2 * eyes


def test_a_head_turned_left_that_yunet_sees_only_mirrored_is_counted(
    face_engine: DlibFaceEngine, room_analyzer: DlibRoomAnalyzer
) -> None:
    """room_turned_left.jpg: five people, the middle one's head turned 48° to the left. YuNet
    scores it too low on the photo and high on the photo mirrored; no other detector counts it."""
    photo, truth = room_fixture("room_turned_left.jpg")
    one_way = DlibRoomAnalyzer(face_engine.models, DetectConfig(yunet_mirror=False))
    try:
        missed_the_turned_head(one_way.analyse(photo), truth)
    finally:
        one_way.close()
    found = counted_everyone(room_analyzer.analyse(photo), truth)
    assert found.detectors == ("yunet",)
