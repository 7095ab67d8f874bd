"""Pure pieces: geometry and NMS, Hamming distance, matching thresholds, messages, the attention
rule and its YuNet cue, the working scale, and merging detections into faces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.detectors import Detection
from vision.forensics.hashes import hamming
from vision.geometry import (
    Box,
    group_same_faces,
    iou,
    non_max_suppression,
    same_face,
)
from vision.headcount import CountPolicy, count_faces
from vision.identity.matching import Thresholds, decide, identify, verify
from vision.messages import LOCALES, MESSAGES, message
from vision.room.analysis import working_scale
from vision.room.attention import FrontCue, HeadPose, front_cue, is_attentive

boxes = st.builds(
    Box,
    st.integers(0, 500),
    st.integers(0, 500),
    st.integers(1, 200),
    st.integers(1, 200),
)
hashes = st.integers(0, 2**64 - 1)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Box(0, 0, 10, 10), Box(0, 0, 10, 10), 1.0),
        (Box(0, 0, 10, 10), Box(10, 0, 10, 10), 0.0),
        (Box(0, 0, 10, 10), Box(5, 0, 10, 10), 50 / 150),
        (Box(0, 0, 10, 10), Box(100, 100, 5, 5), 0.0),
    ],
)
def test_iou_table(a: Box, b: Box, expected: float) -> None:
    assert iou(a, b) == pytest.approx(expected)


@given(boxes, boxes)
def test_iou_is_symmetric_and_bounded(a: Box, b: Box) -> None:
    assert iou(a, b) == pytest.approx(iou(b, a))
    assert 0.0 <= iou(a, b) <= 1.0


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_faces() -> None:
    found = [Box(10, 10, 50, 50), Box(12, 11, 50, 50), Box(200, 10, 50, 50), Box(14, 14, 44, 44)]
    scores = [0.5, 0.9, 0.3, 0.1]
    assert sorted(non_max_suppression(found, scores)) == [1, 2]


def test_a_haar_box_around_a_hog_box_is_the_same_face_but_a_tiny_box_inside_is_not() -> None:
    hog = Box(100, 100, 80, 80)
    assert same_face(hog, Box(92, 88, 100, 100))
    assert not same_face(Box(0, 0, 400, 400), Box(10, 10, 30, 30))


@given(st.lists(st.tuples(boxes, st.floats(-2, 2)), max_size=25))
def test_nms_result_has_no_duplicates_and_keeps_the_top_score(
    items: list[tuple[Box, float]],
) -> None:
    found = [b for b, _ in items]
    scores = [s for _, s in items]
    kept = non_max_suppression(found, scores)
    for i in kept:
        for j in kept:
            assert i == j or not same_face(found[i], found[j])
    if items:
        assert max(scores) in [scores[i] for i in kept]
    # Every dropped box is the same face as a kept box with a score at least as high.
    for i in set(range(len(found))) - set(kept):
        assert any(same_face(found[i], found[k]) and scores[k] >= scores[i] for k in kept)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [(0, 0, 0), (0b1011, 0b0001, 2), (2**64 - 1, 0, 64), (0xF0F0, 0x0F0F, 16)],
)
def test_hamming_table(a: int, b: int, distance: int) -> None:
    assert hamming(a, b) == distance


@given(hashes, hashes, hashes)
def test_hamming_is_a_metric(a: int, b: int, c: int) -> None:
    assert hamming(a, a) == 0
    assert hamming(a, b) == hamming(b, a)
    assert hamming(a, c) <= hamming(a, b) + hamming(b, c)


def test_hamming_refuses_negative_hashes() -> None:
    with pytest.raises(ValueError):
        hamming(-1, 0)


@pytest.mark.parametrize(
    ("distance", "decision"),
    [(0.0, "match"), (0.5, "match"), (0.55, "unsure"), (0.6, "unsure"), (0.61, "no_match")],
)
def test_decision_bands(distance: float, decision: str) -> None:
    assert decide(distance, Thresholds(accept=0.5, reject=0.6)) == decision


@given(st.floats(0, 2), st.floats(0, 2))
def test_decision_is_monotone_in_distance(d1: float, d2: float) -> None:
    rank = {"match": 0, "unsure": 1, "no_match": 2}
    near, far = sorted((d1, d2))
    assert rank[decide(near)] <= rank[decide(far)]


def test_thresholds_refuse_an_inverted_band() -> None:
    with pytest.raises(ValueError):
        Thresholds(accept=0.7, reject=0.6)


def _vec(*head: float) -> np.ndarray:
    v = np.zeros(128)
    v[: len(head)] = head
    return v


def test_verify_uses_the_nearest_of_several_templates() -> None:
    result = verify(_vec(0.3), [_vec(2.0), _vec(0.1)])
    assert result.decision == "match"
    assert result.distance == pytest.approx(0.2)


def test_identify_prefers_the_roster_then_searches_the_plant() -> None:
    roster = {"a": [_vec(1.0)], "b": [_vec(0, 1.0)]}
    plant = {**roster, "c": [_vec(0, 0, 1.0)]}
    assert identify(_vec(0.95), roster, plant).employee_id == "a"
    assert identify(_vec(0.95), roster, plant).scope == "roster"
    outsider = identify(_vec(0, 0, 0.9), roster, plant)
    assert (outsider.decision, outsider.employee_id, outsider.scope) == ("match", "c", "plant")
    nobody = identify(_vec(5.0, 5.0), roster, plant)
    assert (nobody.decision, nobody.employee_id) == ("no_match", None)


def test_identify_is_unsure_when_two_people_are_equally_close() -> None:
    roster = {"twin1": [_vec(0.2)], "twin2": [_vec(-0.2)]}
    found = identify(_vec(0.0), roster)
    assert found.decision == "unsure"


def test_every_reason_has_both_languages() -> None:
    for reason, texts in MESSAGES.items():
        assert set(LOCALES) <= set(texts), reason
        assert all(texts[locale].strip() for locale in LOCALES)
    assert message("face_blurred", "en").startswith("The photo is blurred")
    assert message("face_blurred") == MESSAGES["face_blurred"]["zh-CN"]
    assert message("no_such_reason", "en") == MESSAGES["job_failed"]["en"]


# YuNet's landmarks: right eye, left eye (image left, right), nose tip, mouth corners.
FRONTAL = [(40.0, 50.0), (80.0, 50.0), (60.0, 72.0), (45.0, 90.0), (75.0, 90.0)]
TURNED = [(40.0, 50.0), (80.0, 50.0), (78.0, 72.0), (60.0, 90.0), (85.0, 90.0)]
BOWED = [(40.0, 50.0), (80.0, 50.0), (60.0, 86.0), (45.0, 97.0), (75.0, 97.0)]
LOOKS_FRONT = HeadPose(yaw=0.02, pitch=0.7, roll=0.0, eye_ratio=0.0)


@pytest.mark.parametrize(
    ("points", "score", "attentive"),
    [
        (FRONTAL, 0.92, True),
        (TURNED, 0.92, False),  # nose tip 0.45 eye distances to the side
        (BOWED, 0.92, False),  # nose tip 0.9 eye distances below the eyes
        (FRONTAL, 0.6, False),  # YuNet barely sure: heads turned or bowed score low
    ],
)
def test_the_yunet_cue_can_veto_attention(
    points: list[tuple[float, float]], score: float, attentive: bool
) -> None:
    cue = front_cue(points, score)
    assert is_attentive(LOOKS_FRONT, ("hog", "yunet"), turned=False, cue=cue) is attentive
    # Without a cue (YuNet did not see the face) the 5-point pose alone decides.
    assert is_attentive(LOOKS_FRONT, ("hog",), turned=False) is True


@pytest.mark.parametrize(
    ("points", "detectors", "attentive"),
    [
        (FRONTAL, ("blaze", "yunet"), True),  # only the neural detectors saw it: YuNet's cue
        (TURNED, ("blaze", "yunet"), False),  # ... looking aside
        (FRONTAL, ("blaze", "hog", "yunet"), False),  # HOG's turned-head filters saw it
    ],
)
def test_a_face_the_frontal_detectors_missed_is_attentive_by_yunets_landmarks(
    points: list[tuple[float, float]], detectors: tuple[str, ...], attentive: bool
) -> None:
    """Small faces in a crowd that only BlazeFace and YuNet saw used to be 'not looking at the
    front' for want of a frontal detector; YuNet's landmarks say where they look."""
    cue = front_cue(points, 0.93)
    assert is_attentive(LOOKS_FRONT, detectors, True, cue=cue) is attentive


def test_front_cue_measures_in_eye_distances_whatever_the_face_size() -> None:
    small = front_cue(TURNED, 0.9)
    big = front_cue([(x * 3, y * 3) for x, y in TURNED], 0.9)
    assert small == pytest.approx(big)
    assert small.yaw == pytest.approx(0.45)
    assert front_cue([(5.0, 5.0)] * 5, 0.9) == FrontCue(0.0, 0.0, 0.9)  # degenerate: no crash


@pytest.mark.parametrize(
    ("point", "inside"),
    [((15.0, 15.0), True), ((10.0, 10.0), True), ((30.0, 30.0), True), ((30.5, 15.0), False)],
)
def test_box_contains_points_on_its_edge_but_not_beyond(
    point: tuple[float, float], inside: bool
) -> None:
    assert Box(10, 10, 20, 20).contains(point) is inside


@pytest.mark.parametrize(
    ("height", "width", "factor"),
    [
        (1080, 1920, 1.0),  # a tablet's photo: as it is
        (720, 1280, 1.0),
        (603, 1024, 1.0),  # a little small: enlarging 1.7× gained nothing on real photos
        (353, 490, 1.5),  # a class photo forwarded through a chat app
        (100, 100, 1.5),  # a thumbnail: no more than 1.5×
        (3000, 4000, 0.75),  # a phone's 12 MP: shrunk to 3000 px
        (8000, 6000, 3000 / 8000),  # 48 MP, portrait
        (2000, 3000, 1.0),
        (1000, 6000, 1.0),  # a panorama: shrinking would halve its faces
        (1500, 6000, 1080 / 1500),  # ... shrunk only down to 1080 px high
        (0, 0, 1.0),
    ],
)
def test_small_photos_are_enlarged_and_huge_ones_shrunk_before_detection(
    height: int, width: int, factor: float
) -> None:
    assert working_scale(height, width) == pytest.approx(factor)


def test_a_big_faint_window_over_two_faces_does_not_make_them_one_person() -> None:
    """From a real group photo: a woman in the second row, a woman in glasses just below her,
    and a faint 104 px HOG window over both. Chained through the window, the woman in glasses
    (seen by all four detectors) was lost."""
    upper = [
        Detection(Box(547, 235, 48, 48), 0.9, "yunet"),
        Detection(Box(545, 233, 52, 52), 30.0, "haar_frontal"),
    ]
    lower = [
        Detection(Box(565, 314, 44, 45), 1.89, "hog"),
        Detection(Box(563, 305, 51, 51), 71.0, "haar_frontal"),
        Detection(Box(562, 308, 46, 46), 0.9, "blaze"),
        Detection(Box(564, 305, 43, 54), 0.94, "yunet"),
    ]
    window = Detection(Box(538, 238, 104, 105), -0.82, "hog")
    faces = count_faces([*upper, window, *lower], CountPolicy()).faces
    assert [f.counted for f in faces] == [True, True]
    assert faces[1].detectors == ("blaze", "yunet")  # the room policy does not use HOG or Haar
    groups = group_same_faces([d.box for d in [*upper, window, *lower]])
    assert sorted(len(g) for g in groups) == [3, 4]  # the window joins one of them, not both


@given(
    st.lists(
        st.builds(
            Box,
            st.integers(0, 300),
            st.integers(0, 300),
            st.integers(1, 120),
            st.integers(1, 120),
        ),
        max_size=40,
    )
)
def test_grouping_sweeps_left_to_right_without_missing_a_pair(boxes: list[Box]) -> None:
    every_pair = [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))]
    assert group_same_faces(boxes) == group_same_faces(boxes, pairs=every_pair)
