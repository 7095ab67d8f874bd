"""The evidence rules, case by case and as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.evidence_rules import (
    EvidencePolicy,
    headcount_shortfall,
    photo_reused,
    photo_time_mismatch,
    photo_time_mismatch_read,
    photo_without_exif,
    session_span,
)

POLICY = EvidencePolicy()
START = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 08:30 in the plant
END = START + timedelta(hours=1)
CHECKINS = [START - timedelta(minutes=5), START + timedelta(minutes=3)]
SPAN = session_span(START, END, CHECKINS)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@pytest.mark.parametrize(
    ("taken", "uploaded", "flagged"),
    [
        # honest: taken during the session, uploaded at once
        (START + minutes(10), START + minutes(10.5), False),
        # honest: taken during the session, queued offline, synced hours later (device time
        # is when the tablet queued it)
        (START + minutes(20), START + minutes(20), False),
        # honest: taken as people arrived, before the start, after the first check-in
        (START - minutes(4), START - minutes(4), False),
        # just inside the tolerance on both sides
        (START - minutes(15), START - minutes(5), False),
        # a device that does not say when it uploaded: the session side alone
        (START + minutes(30), None, False),
        # taken an hour earlier, uploaded during the session
        (START - minutes(60), START + minutes(15), True),
        # taken the day before, uploaded with a device time of the day before as well
        (START - timedelta(days=1), START - timedelta(days=1), True),
        # taken during the session but uploaded 40 min later by the device's own clock
        (START + minutes(5), START + minutes(45), True),
        # taken well after the session ended
        (END + minutes(30), END + minutes(30), True),
        (START - minutes(60), None, True),
    ],
)
def test_photo_time_is_judged_against_its_upload_and_the_session(
    taken: datetime, uploaded: datetime | None, flagged: bool
) -> None:
    found = photo_time_mismatch(taken, uploaded, SPAN, POLICY)
    assert (found is not None) is flagged


def test_a_photo_taken_an_hour_early_says_by_how_much() -> None:
    found = photo_time_mismatch(START - minutes(60), START + minutes(15), SPAN, POLICY)
    assert found is not None
    assert found["minutes_before_upload"] == 75
    assert found["minutes_outside_session"] == -55  # before the first check-in
    assert found["tolerance_minutes"] == 10


def test_an_exif_time_without_a_zone_is_the_plants_wall_clock() -> None:
    assert POLICY.taken_at("2026-11-24T08:40:00") == START + minutes(10)
    assert POLICY.taken_at("2026-11-24T08:40:00+08:00") == START + minutes(10)
    assert EvidencePolicy(timezone="Europe/Berlin").taken_at("2026-11-24T01:40:00") == (
        START + minutes(10)
    )


@given(
    offset=st.integers(min_value=-15, max_value=70),
    delay=st.integers(min_value=0, max_value=10),
)
def test_a_photo_taken_within_the_session_and_uploaded_within_tolerance_is_never_flagged(
    offset: int, delay: int
) -> None:
    taken = START + minutes(offset)
    assert photo_time_mismatch(taken, taken + minutes(delay), SPAN, POLICY) is None


@given(
    taken=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
    ),
    uploaded_after=st.integers(min_value=-600, max_value=600),
)
def test_flagged_exactly_when_too_far_from_the_upload_or_the_session(
    taken: datetime, uploaded_after: int
) -> None:
    uploaded = taken + minutes(uploaded_after)
    found = photo_time_mismatch(taken, uploaded, SPAN, POLICY)
    start, end = SPAN
    far_from_session = taken < start - minutes(10) or taken > end + minutes(10)
    assert (found is not None) is (far_from_session or abs(uploaded_after) > 10)


def test_the_session_span_covers_early_and_late_check_ins() -> None:
    late = END + minutes(20)
    assert session_span(START, END, []) == (START, END)
    assert session_span(START, END, [START - minutes(12), late]) == (START - minutes(12), late)


@pytest.mark.parametrize(
    ("session", "first", "near", "flagged"),
    [
        ("A", "A", [], False),  # its own session, no look-alike
        ("A", "A", [{"photo_id": "p2", "session_id": "A", "distance": 3}], False),  # a burst
        ("B", "A", [], True),  # the same bytes, now for another session
        ("A", "A", [{"photo_id": "p0", "session_id": "Z", "distance": 5}], True),  # a copy
    ],
)
def test_photo_reuse_is_another_session_s_photo_or_a_copy_of_one(
    session: str, first: str, near: list[dict[str, object]], flagged: bool
) -> None:
    assert (photo_reused(session, first, near) is not None) is flagged


def test_reuse_evidence_names_the_first_session_and_the_look_alikes() -> None:
    near = [
        {"photo_id": "p0", "session_id": "Z", "distance": 5, "detail_distance": 9},
        {"photo_id": "p1", "session_id": "B", "distance": 2},
    ]
    assert photo_reused("B", "A", near) == {
        "first_session": "A",
        "looks_like": [{"photo_id": "p0", "session_id": "Z", "distance": 5}],
    }


@pytest.mark.parametrize(
    ("exif", "kind", "flagged"),
    [
        (None, "room", True),
        ("2026-11-24T08:40:00+08:00", "room", False),
        (None, "selfie", False),  # a face check-in's selfie is not room evidence
    ],
)
def test_a_room_photo_without_exif_is_worth_a_low_look(
    exif: str | None, kind: str, flagged: bool
) -> None:
    assert (photo_without_exif(exif, kind) is not None) is flagged


@pytest.mark.parametrize(
    ("checked_in", "headcount", "headcount_max", "flagged"),
    [
        (10, 10, 10, False),
        (10, 9, 9, False),  # one hidden behind another
        (10, 7, 9, False),  # uncertain faces make up the range
        (10, 8, 8, True),  # two missing
        (12, 9, 9, True),  # three missing
        (40, 36, 37, False),  # three of forty: people hide in a large room
        (40, 34, 35, True),  # five of forty
        (1, 0, 0, False),  # a photo at the first check-in: too few to tell
        (0, 0, 0, False),
        (5, 6, 6, False),  # more people than check-ins: not this rule's business
    ],
)
def test_a_headcount_is_short_only_when_even_its_range_is_clearly_below_check_ins(
    checked_in: int, headcount: int, headcount_max: int, flagged: bool
) -> None:
    found = headcount_shortfall(checked_in, headcount, headcount_max, POLICY)
    assert (found is not None) is flagged
    if found is not None:
        assert found["missing"] == checked_in - headcount_max


@given(
    checked_in=st.integers(min_value=0, max_value=300),
    headcount=st.integers(min_value=0, max_value=300),
    extra=st.integers(min_value=0, max_value=20),
)
def test_a_count_whose_range_reaches_the_check_ins_is_never_short(
    checked_in: int, headcount: int, extra: int
) -> None:
    top = max(headcount + extra, checked_in - 1)
    assert headcount_shortfall(checked_in, headcount, top, POLICY) is None


@given(
    checked_in=st.integers(min_value=0, max_value=300),
    top=st.integers(min_value=0, max_value=300),
    more=st.integers(min_value=1, max_value=20),
)
def test_seeing_more_people_never_makes_a_count_short(checked_in: int, top: int, more: int) -> None:
    if headcount_shortfall(checked_in, top, top, POLICY) is None:
        assert headcount_shortfall(checked_in, top + more, top + more, POLICY) is None


def test_a_plant_may_ask_for_a_larger_margin() -> None:
    strict = EvidencePolicy(headcount_margin=4)
    assert headcount_shortfall(10, 7, 7, POLICY) is not None
    assert headcount_shortfall(10, 7, 7, strict) is None


UTC_TABLET = START + minutes(10)  # a tablet that keeps UTC: its device_time says +00:00


@pytest.mark.parametrize(
    ("exif", "device_time", "flagged"),
    [
        # the plant's wall clock (08:40 in Shanghai) and the UTC tablet's (00:40) both fit
        ("2026-11-24T08:40:00", UTC_TABLET, False),
        ("2026-11-24T00:40:00", UTC_TABLET, False),
        # an hour before in either reading
        ("2026-11-24T07:40:00", UTC_TABLET, True),
        ("2026-11-23T23:40:00", UTC_TABLET, True),
        # a device that says no time: the plant's clock alone
        ("2026-11-24T08:40:00", None, False),
        ("2026-11-24T00:40:00", None, True),
        # an EXIF time with its offset means just that
        ("2026-11-24T00:40:00+08:00", UTC_TABLET, True),
        ("2026-11-24T00:40:00+00:00", UTC_TABLET, False),
    ],
)
def test_an_exif_time_without_a_zone_fits_in_the_plants_or_the_devices_zone(
    exif: str, device_time: datetime | None, flagged: bool
) -> None:
    readings = POLICY.readings(exif, device_time)
    uploaded = device_time or UTC_TABLET
    assert (photo_time_mismatch_read(readings, uploaded, SPAN, POLICY) is not None) is flagged


def test_the_evidence_of_an_exif_time_read_two_ways_is_the_nearer_reading() -> None:
    readings = POLICY.readings("2026-11-23T23:40:00", UTC_TABLET)
    found = photo_time_mismatch_read(readings, UTC_TABLET, SPAN, POLICY)
    assert found is not None and found["minutes_before_upload"] == 60


def test_a_photo_taken_as_check_in_opens_is_within_the_session() -> None:
    start, end = session_span(START, END, [], POLICY.checkin_opens_before)
    assert start == START - minutes(15) and end == END
    taken = START - minutes(20)
    assert photo_time_mismatch(taken, taken, (start, end), POLICY) is None
    assert photo_time_mismatch(taken, taken, session_span(START, END, []), POLICY) is not None
