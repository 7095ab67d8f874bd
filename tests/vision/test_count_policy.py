"""The counting policy (``vision.headcount.count_faces``) on made-up detections: pure, no
models. Properties over random rooms, then a table of single faces and why each is counted."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.detectors import Detection
from vision.geometry import Box
from vision.headcount import CountPolicy, Reason, count_faces

POLICY = CountPolicy()
DETECTORS = sorted(POLICY.floor)


def _score(detector: str, strength: float) -> float:
    """The score ``strength`` of the way from the detector's floor (0) to sure (1)."""
    floor, sure = POLICY.floor[detector], POLICY.sure[detector]
    return floor + strength * (sure - floor)


# A room: faces on a grid of seats 200 px apart (never one head), each seen by some detectors
# at some strength, with a little jitter of the box.
seat = st.tuples(st.integers(0, 7), st.integers(0, 3))
sighting = st.tuples(
    st.sampled_from(DETECTORS), st.floats(0.0, 1.5), st.integers(-6, 6), st.integers(-6, 6)
)
face = st.tuples(seat, st.integers(30, 90), st.lists(sighting, min_size=1, max_size=5))
rooms = st.lists(face, max_size=12, unique_by=lambda f: f[0])


def _hits(
    room: Sequence[tuple[tuple[int, int], int, list[tuple[str, float, int, int]]]],
) -> list[Detection]:
    hits = []
    for (col, row), size, sightings in room:
        for detector, strength, dx, dy in sightings:
            box = Box(100 + 200 * col + dx, 100 + 200 * row + dy, size, size)
            hits.append(Detection(box, _score(detector, strength), detector))
    return hits


def _everyone_sees(col: int, row: int) -> list[Detection]:
    box = Box(100 + 200 * col, 100 + 200 * row, 60, 60)
    return [Detection(box, _score(d, 1.2), d) for d in DETECTORS]


@given(rooms)
def test_the_range_always_holds_the_count(room: list) -> None:  # type: ignore[type-arg]
    counted = count_faces(_hits(room), POLICY)
    assert counted.low <= counted.count <= counted.high


@given(rooms, seat)
def test_a_face_every_detector_sees_adds_one(room: list, new: tuple[int, int]) -> None:  # type: ignore[type-arg]
    room = [f for f in room if f[0] != new]
    before = count_faces(_hits(room), POLICY)
    after = count_faces(_hits(room) + _everyone_sees(*new), POLICY)
    assert after.count == before.count + 1
    assert after.low == before.low + 1 and after.high == before.high + 1


@given(rooms, st.sets(seat), st.integers(0, 3))
def test_a_face_found_unchanged_on_other_days_never_counts(
    room: list,  # type: ignore[type-arg]
    pictures: set[tuple[int, int]],
    days: int,
) -> None:
    def on_seat(box: Box) -> tuple[int, int]:
        return round((box.x - 100) / 200), round((box.y - 100) / 200)

    def unchanged(boxes: Sequence[Box]) -> list[int]:
        return [days if on_seat(b) in pictures else 0 for b in boxes]

    counted = count_faces(_hits(room), POLICY, unchanged)
    for f in counted.faces:
        if on_seat(f.box) in pictures and days >= POLICY.picture_days:
            assert not f.counted
    assert counted.low <= counted.count <= counted.high


@given(rooms)
def test_no_pictures_found_changes_nothing(room: list) -> None:  # type: ignore[type-arg]
    hits = _hits(room)
    assert count_faces(hits, POLICY, lambda boxes: [0] * len(boxes)) == count_faces(hits, POLICY)


@given(
    st.dictionaries(st.sampled_from(DETECTORS), st.floats(0.0, 1.5), min_size=1),
    st.sampled_from(DETECTORS),
    st.floats(0.0, 1.0),
)
def test_a_surer_sighting_never_makes_a_face_count_less(
    seen: dict[str, float], detector: str, more: float
) -> None:
    """One face seen by some detectors: a detector seeing it more surely (or at all) never
    takes it out of the count, nor out of the range's low or high end."""
    surer = {**seen, detector: seen.get(detector, 0.0) + more}
    (before,) = count_faces(_one(*seen.items()), POLICY).faces  # type: ignore[arg-type]
    (after,) = count_faces(_one(*surer.items()), POLICY).faces  # type: ignore[arg-type]
    assert after.counted >= before.counted
    sure_before = before.counted and not before.in_doubt
    assert (after.counted and not after.in_doubt) >= sure_before
    assert (after.counted or after.reason is Reason.POSSIBLE) >= (
        before.counted or before.reason is Reason.POSSIBLE
    )


def _one(*sightings: tuple[str, float], size: int = 60) -> Detection | list[Detection]:
    return [Detection(Box(100, 100, size, size), _score(d, s), d) for d, s in sightings]


@pytest.mark.parametrize(
    ("sightings", "size", "counted", "reason", "in_doubt"),
    [
        ([("yunet", 1.0)], 60, True, Reason.CLEAR, False),
        ([("yunet", 0.5), ("blaze", 0.5)], 60, True, Reason.AGREED, False),
        ([("yunet", 0.35), ("blaze", 0.35)], 60, True, Reason.AGREED, True),
        ([("yunet", 0.45), ("blaze", 0.1)], 60, False, Reason.POSSIBLE, True),
        ([("yunet", 0.3), ("blaze", 0.2)], 60, False, Reason.FAINT, False),
        ([("yunet", 0.1), ("blaze", 0.1)], 60, False, Reason.FAINT, False),
        ([("yunet", 0.8)], 60, False, Reason.POSSIBLE, True),
        ([("yunet", 0.1)], 60, False, Reason.FAINT, False),
        ([("yunet", 1.2), ("blaze", 1.2)], 12, False, Reason.SMALL, False),
    ],
)
def test_why_a_face_is_counted_or_not(
    sightings: list[tuple[str, float]], size: int, counted: bool, reason: Reason, in_doubt: bool
) -> None:
    (f,) = count_faces(_one(*sightings, size=size), POLICY).faces  # type: ignore[arg-type]
    assert (f.counted, f.reason, f.in_doubt) == (counted, reason, in_doubt)
    assert f.detectors == tuple(sorted(d for d, _ in sightings))


def test_a_detector_the_policy_does_not_use_is_ignored() -> None:
    hits = [Detection(Box(0, 0, 60, 60), 99.0, "haar_profile")]
    assert count_faces(hits, POLICY).faces == ()


def test_two_boxes_on_one_turned_head_are_one_face() -> None:
    face = Detection(Box(100, 100, 60, 60), _score("yunet", 1.2), "yunet")
    side = Detection(Box(128, 104, 56, 56), _score("blaze", 0.6), "blaze")
    (one,) = count_faces([face, side], POLICY).faces
    assert one.counted and one.detectors == ("blaze", "yunet")
