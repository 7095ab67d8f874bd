"""Check-in rules: table-driven cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.rules import (
    ANOMALY_FLAGS,
    AttendanceStatus,
    CheckInFacts,
    Flag,
    RejectReason,
    Repeat,
    Verdict,
    Window,
    WindowPolicy,
    check_in_window,
    classify_repeat,
    clock_skewed,
    decide_check_in,
    device_clock_skewed,
    device_room_mismatch,
    effective_check_in_time,
    outside_window,
)

START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
POLICY = WindowPolicy()
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-16 * M, Window.TOO_EARLY),
        (-15 * M, Window.ON_TIME),
        (0 * M, Window.ON_TIME),
        (10 * M, Window.ON_TIME),
        (10 * M + timedelta(seconds=1), Window.LATE),
        (59 * M, Window.LATE),
        (60 * M, Window.CLOSED),
        (120 * M, Window.CLOSED),
    ],
)
def test_check_in_window_boundaries(offset: timedelta, expected: Window) -> None:
    assert check_in_window(START + offset, START, END, POLICY) is expected


def test_window_is_configurable() -> None:
    strict = WindowPolicy(opens_before=5 * M, late_after=0 * M)
    assert check_in_window(START - 10 * M, START, END, strict) is Window.TOO_EARLY
    assert check_in_window(START + timedelta(seconds=1), START, END, strict) is Window.LATE


ORDER = [Window.TOO_EARLY, Window.ON_TIME, Window.LATE, Window.CLOSED]


@given(st.integers(-200, 200), st.integers(0, 200))
def test_window_never_goes_backwards_in_time(a: int, step: int) -> None:
    first = check_in_window(START + a * M, START, END, POLICY)
    later = check_in_window(START + (a + step) * M, START, END, POLICY)
    assert ORDER.index(later) >= ORDER.index(first)


OUTSIDE = (Flag.CHECKIN_OUTSIDE_WINDOW,)


def facts(**overrides: object) -> CheckInFacts:
    base: dict[str, object] = dict(
        at=START + M,
        starts_at=START,
        ends_at=END,
        session_closed=False,
        employee_known=True,
        on_roster=True,
        method="badge",
        by_badge=True,
    )
    base.update(overrides)
    return CheckInFacts(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "verdict", "status", "flags", "reason"),
    [
        ({}, Verdict.ACCEPTED, AttendanceStatus.PRESENT, (), None),
        ({"at": START + 20 * M}, Verdict.ACCEPTED, AttendanceStatus.LATE, (Flag.LATE,), None),
        ({"on_roster": False}, Verdict.FLAGGED, AttendanceStatus.WALK_IN, (Flag.WALK_IN,), None),
        ({"employee_known": False}, Verdict.REJECTED, None, (), RejectReason.UNKNOWN_BADGE),
        (
            {"employee_known": False, "by_badge": False},
            Verdict.REJECTED,
            None,
            (),
            RejectReason.UNKNOWN_EMPLOYEE,
        ),
        ({"at": END}, Verdict.REJECTED, None, OUTSIDE, RejectReason.SESSION_CLOSED),
        ({"session_closed": True}, Verdict.REJECTED, None, OUTSIDE, RejectReason.SESSION_CLOSED),
        ({"at": START - 30 * M}, Verdict.REJECTED, None, OUTSIDE, RejectReason.TOO_EARLY),
        ({"method": "manual"}, Verdict.ACCEPTED, AttendanceStatus.PRESENT, (Flag.MANUAL,), None),
        (
            {"skewed_clock": True},
            Verdict.FLAGGED,
            AttendanceStatus.PRESENT,
            (Flag.CLOCK_SKEW, Flag.DEVICE_CLOCK_SKEW),
            None,
        ),
        (
            {"room_mismatch": True},
            Verdict.FLAGGED,
            AttendanceStatus.PRESENT,
            (Flag.DEVICE_ROOM_MISMATCH,),
            None,
        ),
        (
            {"at": END + M, "room_mismatch": True, "skewed_clock": True},
            Verdict.REJECTED,
            None,
            (Flag.CHECKIN_OUTSIDE_WINDOW, Flag.DEVICE_ROOM_MISMATCH, Flag.DEVICE_CLOCK_SKEW),
            RejectReason.SESSION_CLOSED,
        ),
        (
            {"employee_known": False, "room_mismatch": True},
            Verdict.REJECTED,
            None,
            (Flag.DEVICE_ROOM_MISMATCH,),
            RejectReason.UNKNOWN_BADGE,
        ),
        ({"offline": True}, Verdict.ACCEPTED, AttendanceStatus.PRESENT, (Flag.OFFLINE_SYNC,), None),
        (
            {"identity_flags": (Flag.SELFIE_SPOOF_SUSPECTED,), "method": "face"},
            Verdict.FLAGGED,
            AttendanceStatus.PRESENT,
            (Flag.SELFIE_SPOOF_SUSPECTED,),
            None,
        ),
        (
            {
                "identity_flags": (Flag.SELFIE_SPOOF_SUSPECTED,),
                "refusal": RejectReason.SELFIE_SPOOF_SUSPECTED,
                "employee_known": False,
            },
            Verdict.REJECTED,
            None,
            (Flag.SELFIE_SPOOF_SUSPECTED,),
            RejectReason.SELFIE_SPOOF_SUSPECTED,
        ),
        (
            {"identity_flags": (Flag.FACE_MISMATCH,), "refusal": RejectReason.QR_FORGED},
            Verdict.REJECTED,
            None,
            (),
            RejectReason.QR_FORGED,
        ),
    ],
)
def test_decide_check_in(
    overrides: dict[str, object],
    verdict: Verdict,
    status: AttendanceStatus | None,
    flags: tuple[Flag, ...],
    reason: RejectReason | None,
) -> None:
    decision = decide_check_in(facts(**overrides), POLICY)
    assert decision.verdict is verdict
    assert decision.attendance_status == status
    assert decision.flags == flags
    assert decision.reason == reason


@given(st.integers(-120, 120), st.booleans(), st.booleans(), st.booleans())
def test_unknown_people_are_never_accepted(
    minute: int, roster: bool, closed: bool, badge: bool
) -> None:
    decision = decide_check_in(
        facts(
            at=START + minute * M,
            employee_known=False,
            on_roster=roster,
            session_closed=closed,
            by_badge=badge,
        ),
        POLICY,
    )
    assert decision.verdict is Verdict.REJECTED
    assert decision.attendance_status is None


@given(st.integers(-120, 120))
def test_a_walk_in_is_always_flagged_for_review(minute: int) -> None:
    decision = decide_check_in(facts(at=START + minute * M, on_roster=False), POLICY)
    assert decision.verdict in (Verdict.FLAGGED, Verdict.REJECTED)


@given(st.integers(-10_000, 10_000), st.integers(-10_000, 10_000) | st.none())
def test_effective_time_never_after_receipt(
    device_offset_s: int, sent_offset_s: int | None
) -> None:
    received = START
    device_time = received + timedelta(seconds=device_offset_s)
    sent = None if sent_offset_s is None else received + timedelta(seconds=sent_offset_s)
    assert effective_check_in_time(received, device_time, sent, offline=True) <= received


def test_offline_time_is_corrected_by_the_device_clock_offset() -> None:
    received = START + 30 * M
    # The tablet's clock runs 7 minutes slow; it queued a check-in 20 device-minutes before sending.
    sent = received - 7 * M
    device_time = sent - 20 * M
    assert effective_check_in_time(received, device_time, sent, offline=True) == received - 20 * M


def test_live_check_ins_use_server_time() -> None:
    received = START + 3 * M
    assert effective_check_in_time(received, START - 50 * M, None, offline=False) == received


@pytest.mark.parametrize(
    ("device_offset", "skewed"),
    [
        (None, False),
        (0 * M, False),
        (2 * M, False),
        (2 * M + timedelta(seconds=1), True),
        (-3 * M, True),
    ],
)
def test_clock_skew(device_offset: timedelta | None, skewed: bool) -> None:
    device_time = None if device_offset is None else START + device_offset
    assert clock_skewed(START, device_time, POLICY.clock_skew_tolerance) is skewed


@pytest.mark.parametrize(
    ("first", "again", "expected"),
    [
        (("d1", "c1"), ("d1", "c1"), Repeat.REPLAY),
        (("d1", "c1"), ("d1", "c2"), Repeat.DUPLICATE),
        (("d1", "c1"), ("d2", "c1"), Repeat.DUPLICATE),
    ],
)
def test_repeat_classification(
    first: tuple[str, str], again: tuple[str, str], expected: Repeat
) -> None:
    assert classify_repeat(first[0], first[1], again[0], again[1]) is expected


@pytest.mark.parametrize(
    ("device", "session", "mismatch"),
    [
        (("P1", "培训室A"), ("P1", "培训室A"), False),
        (("P1", "Room  a "), ("P1", "room a"), False),
        (("P1", "培训室A"), ("P1", "培训室B"), True),
        (("P2", "培训室A"), ("P1", "培训室A"), True),
    ],
)
def test_device_room_mismatch(
    device: tuple[str, str], session: tuple[str, str], mismatch: bool
) -> None:
    assert device_room_mismatch(*device, *session) is mismatch


@pytest.mark.parametrize(
    ("offset", "closed", "outside"),
    [
        (-16 * M, False, True),
        (-15 * M, False, False),
        (30 * M, False, False),
        (60 * M, False, True),
        (5 * M, True, True),
    ],
)
def test_outside_window(offset: timedelta, closed: bool, outside: bool) -> None:
    window = check_in_window(START + offset, START, END, POLICY)
    assert outside_window(window, closed) is outside


@given(
    minute=st.integers(-15, 59),
    clock_offset_s=st.integers(-120, 120),
    roster=st.booleans(),
    method=st.sampled_from(["badge", "manual", "qr", "face"]),
)
def test_an_honest_check_in_carries_no_anomaly(
    minute: int, clock_offset_s: int, roster: bool, method: str
) -> None:
    """On time, in the right room, with a synced clock: none of the anomaly kinds."""
    at = START + minute * M
    skewed = clock_skewed(at, at + timedelta(seconds=clock_offset_s), POLICY.clock_skew_tolerance)
    decision = decide_check_in(
        facts(
            at=at,
            on_roster=roster,
            method=method,
            skewed_clock=skewed,
            room_mismatch=device_room_mismatch("P1", "培训室A", "P1", "培训室A"),
        ),
        POLICY,
    )
    assert decision.verdict is not Verdict.REJECTED
    assert not set(decision.flags) & ANOMALY_FLAGS


@given(
    minute=st.integers(-600, 600),
    skewed=st.booleans(),
    mismatch=st.booleans(),
    known=st.booleans(),
)
def test_every_anomaly_shown_is_flagged_whatever_the_verdict(
    minute: int, skewed: bool, mismatch: bool, known: bool
) -> None:
    at = START + minute * M
    decision = decide_check_in(
        facts(at=at, skewed_clock=skewed, room_mismatch=mismatch, employee_known=known), POLICY
    )
    assert (Flag.DEVICE_CLOCK_SKEW in decision.flags) is skewed
    assert (Flag.DEVICE_ROOM_MISMATCH in decision.flags) is mismatch
    window = check_in_window(at, START, END, POLICY)
    if known:
        assert (Flag.CHECKIN_OUTSIDE_WINDOW in decision.flags) is outside_window(window, False)
    if decision.verdict is not Verdict.REJECTED and (skewed or mismatch):
        assert decision.verdict is Verdict.FLAGGED


NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
TWO_MIN = timedelta(minutes=2)


@pytest.mark.parametrize(
    ("device_time", "sent_at", "offline", "skewed"),
    [
        # live: the device's now against the server's
        (NOW - timedelta(seconds=30), None, False, False),
        (NOW - timedelta(minutes=30), None, False, True),
        (NOW + timedelta(minutes=5), None, False, True),
        (None, None, False, False),
        # queued offline: stamped long ago is honest; the batch's sent_at is the device's now
        (NOW - timedelta(hours=2), NOW - timedelta(seconds=5), True, False),
        (NOW - timedelta(hours=2), NOW - timedelta(minutes=40), True, True),
        # without sent_at only an item stamped later than it arrived shows the skew
        (NOW - timedelta(hours=2), None, True, False),
        (NOW + timedelta(minutes=1), None, True, False),
        (NOW + timedelta(minutes=30), None, True, True),
    ],
)
def test_device_clock_skew_is_judged_by_what_the_device_said_its_now_was(
    device_time: datetime | None, sent_at: datetime | None, offline: bool, skewed: bool
) -> None:
    found = device_clock_skewed(NOW, device_time, sent_at, offline=offline, tolerance=TWO_MIN)
    assert found is skewed


@given(lag=st.integers(min_value=0, max_value=7 * 24 * 3600))
def test_a_queue_synced_without_sent_at_is_never_skewed_for_being_late(lag: int) -> None:
    stamped = NOW - timedelta(seconds=lag)
    assert not device_clock_skewed(NOW, stamped, None, offline=True, tolerance=TWO_MIN)
