"""Check-in rules: pure functions over values, no I/O.

Times are timezone-aware. Decisions use the server's clock; the device's clock is
only compared with it, because a skewed device clock is itself evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from app.domain.evidence_rules import AnomalyKind
from app.domain.rooms import same_room


class Window(StrEnum):
    """Where an instant falls relative to a session's check-in window."""

    TOO_EARLY = "too_early"
    ON_TIME = "on_time"
    LATE = "late"
    CLOSED = "closed"


class AttendanceStatus(StrEnum):
    """A roster line's state, as the wallboard shows it."""

    EXPECTED = "expected"
    PRESENT = "present"
    LATE = "late"
    WALK_IN = "walk_in"


class Verdict(StrEnum):
    """The contract's check-in status."""

    ACCEPTED = "accepted"
    FLAGGED = "flagged"
    REJECTED = "rejected"


class Flag(StrEnum):
    """Remarks attached to an accepted check-in; HR reviews the anomalous ones."""

    LATE = "late"
    WALK_IN = "walk_in"
    CLOCK_SKEW = "clock_skew"
    MANUAL = "manual"
    OFFLINE_SYNC = "offline_sync"
    DUPLICATE = "duplicate_checkin"
    # The anomaly kinds of the contract that a check-in itself shows (CONTRACT.md), named
    # once, in `AnomalyKind`; `clock_skew` above stays for the replies and pages that already
    # use it.
    CHECKIN_OUTSIDE_WINDOW = AnomalyKind.CHECKIN_OUTSIDE_WINDOW.value
    DEVICE_ROOM_MISMATCH = AnomalyKind.DEVICE_ROOM_MISMATCH.value
    DEVICE_CLOCK_SKEW = AnomalyKind.DEVICE_CLOCK_SKEW.value
    #: one phone checked in two people, or a face that is someone other than the badge holder
    PROXY_SUSPECTED = AnomalyKind.PROXY_SUSPECTED.value
    #: the selfie is clearly not the person the badge or number names
    FACE_MISMATCH = AnomalyKind.FACE_MISMATCH.value
    #: the selfie looks like a photo of a photo: a print or a screen held up to the camera
    SELFIE_SPOOF_SUSPECTED = AnomalyKind.SELFIE_SPOOF_SUSPECTED.value


#: Flags that make an accepted check-in worth a human look.
ANOMALOUS_FLAGS = frozenset(
    {
        Flag.WALK_IN,
        Flag.CLOCK_SKEW,
        Flag.PROXY_SUSPECTED,
        Flag.FACE_MISMATCH,
        Flag.SELFIE_SPOOF_SUSPECTED,
        Flag.CHECKIN_OUTSIDE_WINDOW,
        Flag.DEVICE_ROOM_MISMATCH,
        Flag.DEVICE_CLOCK_SKEW,
    }
)

#: Flags that are anomaly kinds a check-in itself shows: each one is evidence for HR.
ANOMALY_FLAGS = frozenset(
    {Flag.CHECKIN_OUTSIDE_WINDOW, Flag.DEVICE_ROOM_MISMATCH, Flag.DEVICE_CLOCK_SKEW}
)


class RejectReason(StrEnum):
    """Why a check-in was refused (each has a localized message in the web layer)."""

    UNKNOWN_EMPLOYEE = "unknown_employee"
    UNKNOWN_BADGE = "unknown_badge"
    TOO_EARLY = "too_early"
    SESSION_CLOSED = "session_closed"
    #: a device registered in another plant: refused, and kept as `device_room_mismatch`
    SESSION_OTHER_PLANT = "session_other_plant"
    QR_FORGED = "qr_forged"
    QR_EXPIRED = "qr_expired"
    QR_OTHER_SESSION = "qr_other_session"
    FACE_NOT_RECOGNISED = "face_not_recognised"
    NO_FACE = "no_face"
    TWO_FACES = "two_faces"
    #: the selfie looks so much like a photo of a photo that the plant refuses it
    SELFIE_SPOOF_SUSPECTED = "selfie_spoof_suspected"


@dataclass(frozen=True)
class WindowPolicy:
    """When check-in opens, when it turns late, and how much device clock skew is tolerated."""

    opens_before: timedelta = timedelta(minutes=15)
    late_after: timedelta = timedelta(minutes=10)
    clock_skew_tolerance: timedelta = timedelta(minutes=2)
    #: a device heard live is expected to send what it queued offline within this long
    queue_sync_grace: timedelta = timedelta(minutes=15)


def check_in_window(
    at: datetime, starts_at: datetime, ends_at: datetime, policy: WindowPolicy
) -> Window:
    """Classify instant `at` against the session's window.

    Opens `opens_before` the start, turns late `late_after` the start, and closes at the end.
    """
    if at < starts_at - policy.opens_before:
        return Window.TOO_EARLY
    if at >= ends_at:
        return Window.CLOSED
    if at > starts_at + policy.late_after:
        return Window.LATE
    return Window.ON_TIME


def clock_skewed(server_time: datetime, device_time: datetime | None, tolerance: timedelta) -> bool:
    """True when the device's clock disagrees with the server's by more than `tolerance`."""
    if device_time is None:
        return False
    return abs(server_time - device_time) > tolerance


def device_clock_skewed(
    received_at: datetime,
    device_time: datetime | None,
    sent_at: datetime | None,
    *,
    offline: bool,
    tolerance: timedelta,
) -> bool:
    """Whether a check-in's device clock is off by more than `tolerance`.

    A live check-in's `device_time` is now by the device's clock. A queued one (`offline`)
    was stamped earlier: its batch's `sent_at` is the device's now; a batch without it
    still shows a skewed clock when an item is stamped later than it arrived (nothing is
    queued in the future)."""
    if not offline:
        return clock_skewed(received_at, device_time, tolerance)
    if sent_at is not None:
        return clock_skewed(received_at, sent_at, tolerance)
    return device_time is not None and device_time - received_at > tolerance


def outside_window(window: Window, session_closed: bool) -> bool:
    """True when a check-in falls outside the session's check-in window: before it opens,
    after the end, or after the trainer closed the session."""
    return session_closed or window in (Window.TOO_EARLY, Window.CLOSED)


def device_room_mismatch(
    device_plant: str, device_room: str, session_plant: str, session_room: str
) -> bool:
    """True when the device is registered for another room or plant than the session's.

    Room names are compared by `room_key`: case, spaces and character widths do not count."""
    return not same_room(device_plant, device_room, session_plant, session_room)


#: how far a device's clock may be from the server's before its stamps are not believed at all
DEVICE_TIME_RANGE = timedelta(days=365)


def implausible_device_time(
    stamp: datetime, server_time: datetime, allowed: timedelta = DEVICE_TIME_RANGE
) -> str | None:
    """Why a device's time stamp cannot be used (no UTC offset, or further than `allowed`
    from the server's time), or None when it can. Never raises, whatever the year."""
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        return "needs a UTC offset, e.g. 2026-12-07T09:00:00+08:00"
    try:
        gap = abs(stamp - server_time)
    except OverflowError:
        gap = timedelta.max
    if gap > allowed:
        return f"is more than {allowed.days} days from the server's time"
    return None


def effective_check_in_time(
    received_at: datetime,
    device_time: datetime | None,
    device_sent_at: datetime | None,
    *,
    offline: bool,
) -> datetime:
    """When a check-in really happened, in server time.

    A live check-in happened when the server received it. A device that queued check-ins
    while offline sends them later: `device_sent_at` (its clock when it sent the batch)
    tells its clock offset, so each `device_time` is corrected by it; without it the device
    time is taken as is. Never later than receipt: a stamp from the future is not believed.
    """
    if not offline or device_time is None:
        return received_at
    if device_sent_at is not None:
        device_time = device_time + (received_at - device_sent_at)
    return min(device_time, received_at)


def online_after_stamp(
    at: datetime,
    received_at: datetime,
    live_contacts: Sequence[datetime],
    policy: WindowPolicy,
) -> datetime | None:
    """The moment the server heard the device live that disproves a queued check-in's time,
    or None when nothing does.

    An honest device queues a check-in only while it cannot reach the server, and sends its
    queue as soon as it can again. ``at`` is the item's time (its ``device_time`` corrected
    by the batch's clock offset, `effective_check_in_time`); ``live_contacts`` are the server
    times of the device's live check-ins. A device heard live well after ``at``
    (`policy.clock_skew_tolerance`) was online then; an item stamped before that contact but
    sent more than `policy.queue_sync_grace` after it was not waiting in a queue: it was
    stamped after the fact. Items stamped after the last contact (queued once the device
    went offline) and queues sent soon after the device came back are honest."""
    after = [
        c
        for c in live_contacts
        if c - at > policy.clock_skew_tolerance and received_at - c > policy.queue_sync_grace
    ]
    return min(after) if after else None


@dataclass(frozen=True)
class CheckInFacts:
    """What the check-in command knows when it decides."""

    at: datetime
    starts_at: datetime
    ends_at: datetime
    session_closed: bool
    employee_known: bool
    on_roster: bool
    method: str
    by_badge: bool = False
    skewed_clock: bool = False
    offline: bool = False
    room_mismatch: bool = False
    #: refused before the rules look: the QR did not admit it, or no face was recognised
    refusal: RejectReason | None = None
    #: remarks the identity check made (`proxy_suspected`, `face_mismatch`,
    #: `selfie_spoof_suspected`)
    identity_flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The outcome of the check-in rules for one attempt."""

    verdict: Verdict
    attendance_status: AttendanceStatus | None = None
    flags: tuple[Flag, ...] = field(default_factory=tuple)
    reason: RejectReason | None = None


def device_flags(facts: CheckInFacts) -> tuple[Flag, ...]:
    """The anomaly flags the device itself shows: the wrong room, a skewed clock."""
    flags: list[Flag] = []
    if facts.room_mismatch:
        flags.append(Flag.DEVICE_ROOM_MISMATCH)
    if facts.skewed_clock:
        flags.append(Flag.DEVICE_CLOCK_SKEW)
    return tuple(flags)


def decide_check_in(facts: CheckInFacts, policy: WindowPolicy) -> Decision:
    """Apply the check-in rules: presence proof, window, unknown person, walk-in, late, skew,
    manual, and what the identity check remarked.

    A check-in outside the window is refused and kept as evidence, flagged
    `checkin_outside_window`; the device's own anomalies are flagged on every outcome."""
    if facts.refusal is not None:
        # a selfie refused as a photo of a photo is itself evidence for HR
        spoof = tuple(f for f in facts.identity_flags if f is Flag.SELFIE_SPOOF_SUSPECTED)
        return Decision(
            Verdict.REJECTED, reason=facts.refusal, flags=(*device_flags(facts), *spoof)
        )
    if not facts.employee_known:
        reason = RejectReason.UNKNOWN_BADGE if facts.by_badge else RejectReason.UNKNOWN_EMPLOYEE
        return Decision(Verdict.REJECTED, reason=reason, flags=device_flags(facts))
    window = check_in_window(facts.at, facts.starts_at, facts.ends_at, policy)
    if outside_window(window, facts.session_closed):
        reason = (
            RejectReason.TOO_EARLY
            if window is Window.TOO_EARLY and not facts.session_closed
            else RejectReason.SESSION_CLOSED
        )
        outside = (Flag.CHECKIN_OUTSIDE_WINDOW, *device_flags(facts))
        return Decision(Verdict.REJECTED, reason=reason, flags=outside)
    flags: list[Flag] = []
    if not facts.on_roster:
        status = AttendanceStatus.WALK_IN
        flags.append(Flag.WALK_IN)
    elif window is Window.LATE:
        status = AttendanceStatus.LATE
    else:
        status = AttendanceStatus.PRESENT
    if window is Window.LATE:
        flags.append(Flag.LATE)
    if facts.method == "manual":
        flags.append(Flag.MANUAL)
    if facts.skewed_clock:
        flags.append(Flag.CLOCK_SKEW)
    if facts.offline:
        flags.append(Flag.OFFLINE_SYNC)
    flags.extend(device_flags(facts))
    flags.extend(facts.identity_flags)
    anomalous = any(f in ANOMALOUS_FLAGS for f in flags)
    verdict = Verdict.FLAGGED if anomalous else Verdict.ACCEPTED
    return Decision(verdict, attendance_status=status, flags=tuple(flags))


class Repeat(StrEnum):
    """How a check-in for someone already checked in relates to the first one."""

    REPLAY = "replay"
    DUPLICATE = "duplicate"


def classify_repeat(
    first_device: str | None, first_client_event_id: str, device: str | None, client_event_id: str
) -> Repeat:
    """A replay is the same device command sent again (retry, offline re-sync); anything
    else for the same session and employee is a second, duplicate check-in."""
    if first_device == device and first_client_event_id == client_event_id:
        return Repeat.REPLAY
    return Repeat.DUPLICATE
