"""The evidence rules: when a site photo, or its count, says something is wrong.

Pure functions over values; each returns the evidence that makes the case (what a person
checking it needs to see), or ``None`` when there is nothing to say. The thresholds are one
`EvidencePolicy`, which a plant may have its own of.

Honest photos are taken during the session and uploaded then, or synced later by a tablet
that was offline. So the upload side of a photo's time is the device's own clock when it
queued the upload (``device_time``), never when the server received it; and the time it was
taken is compared with the session as it happened: from its start or first check-in, to its
end or last check-in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class AnomalyKind(StrEnum):
    """The contract's anomaly kinds."""

    PHOTO_TIME_MISMATCH = "photo_time_mismatch"
    PHOTO_REUSED = "photo_reused"
    PHOTO_WITHOUT_EXIF = "photo_without_exif"
    HEADCOUNT_SHORTFALL = "headcount_shortfall"
    CHECKIN_OUTSIDE_WINDOW = "checkin_outside_window"
    DEVICE_ROOM_MISMATCH = "device_room_mismatch"
    DEVICE_CLOCK_SKEW = "device_clock_skew"
    PROXY_SUSPECTED = "proxy_suspected"
    FACE_MISMATCH = "face_mismatch"
    SELFIE_SPOOF_SUSPECTED = "selfie_spoof_suspected"


class Severity(StrEnum):
    """How urgently a person should look."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: the severity of each kind: a photo without EXIF proves nothing by itself
SEVERITY = {
    AnomalyKind.PHOTO_TIME_MISMATCH: Severity.HIGH,
    AnomalyKind.PHOTO_REUSED: Severity.HIGH,
    AnomalyKind.PHOTO_WITHOUT_EXIF: Severity.LOW,
    AnomalyKind.HEADCOUNT_SHORTFALL: Severity.HIGH,
    AnomalyKind.CHECKIN_OUTSIDE_WINDOW: Severity.MEDIUM,
    AnomalyKind.DEVICE_ROOM_MISMATCH: Severity.HIGH,
    AnomalyKind.DEVICE_CLOCK_SKEW: Severity.LOW,
    AnomalyKind.PROXY_SUSPECTED: Severity.HIGH,
    AnomalyKind.FACE_MISMATCH: Severity.HIGH,
    # a score from one still photo: a hint that needs a person to look at the selfie
    AnomalyKind.SELFIE_SPOOF_SUSPECTED: Severity.MEDIUM,
}

#: the check-in flags (stored on `EmployeeCheckedIn`) that are anomalies of the same name
CHECKIN_KINDS = frozenset(
    {
        AnomalyKind.CHECKIN_OUTSIDE_WINDOW,
        AnomalyKind.DEVICE_ROOM_MISMATCH,
        AnomalyKind.DEVICE_CLOCK_SKEW,
        AnomalyKind.PROXY_SUSPECTED,
        AnomalyKind.FACE_MISMATCH,
        AnomalyKind.SELFIE_SPOOF_SUSPECTED,
    }
)


@dataclass(frozen=True)
class EvidencePolicy:
    """The thresholds of the evidence rules (settings may give a plant its own)."""

    #: how far the time a photo was taken may lie from its upload (device clock) and from
    #: the session before it is flagged
    photo_time_tolerance: timedelta = timedelta(minutes=10)
    #: a count is clearly short when its top is below the check-ins by at least this many …
    headcount_margin: int = 2
    #: … and by at least this share of the check-ins (people hidden behind others in a
    #: large room are not missing)
    headcount_share: float = 0.1
    #: check-in opens this long before a session starts: a photo of the room may be taken
    #: from then on
    checkin_opens_before: timedelta = timedelta(minutes=15)
    #: the plant's wall clock, for cameras that record the time without a zone
    timezone: str = "Asia/Shanghai"
    #: the kiosk photographs the room at a session's first check-in, then every this many
    #: minutes or this many check-ins, whichever comes first
    photo_every_minutes: int = 10
    photo_every_checkins: int = 15

    def taken_at(self, exif_time: str) -> datetime:
        """An EXIF time as an instant: one without an offset is the plant's wall clock."""
        moment = datetime.fromisoformat(exif_time)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=ZoneInfo(self.timezone))
        return moment

    def readings(self, exif_time: str, device_time: datetime | None) -> list[datetime]:
        """The instants an EXIF time may mean. With an offset, just that one. Without, the
        camera's wall clock is either the plant's or the uploading device's own zone (the
        offset of its ``device_time``, e.g. a tablet set to UTC): both are read."""
        moment = datetime.fromisoformat(exif_time)
        if moment.tzinfo is not None:
            return [moment]
        found = [self.taken_at(exif_time)]
        offset = device_time.utcoffset() if device_time is not None else None
        if offset is not None:
            own = moment.replace(tzinfo=timezone(offset))
            if own != found[0]:
                found.append(own)
        return found


def _minutes(delta: timedelta) -> int:
    return round(delta.total_seconds() / 60)


def session_span(
    starts_at: datetime,
    ends_at: datetime,
    checkins: Sequence[datetime],
    opens_before: timedelta = timedelta(0),
) -> tuple[datetime, datetime]:
    """When the session happened: from when its check-in opened (``opens_before`` its start)
    or its first check-in, whichever is earlier, to its end or last check-in, whichever is
    later."""
    return min([starts_at - opens_before, *checkins]), max([ends_at, *checkins])


def photo_time_mismatch(
    taken_at: datetime,
    uploaded_at: datetime | None,
    span: tuple[datetime, datetime],
    policy: EvidencePolicy,
) -> dict[str, Any] | None:
    """A photo taken well before (or after) it was uploaded, by the uploading device's own
    clock (``uploaded_at``: its ``device_time``, unknown for some devices), or well outside
    the session (``span``, `session_span`): more than `policy.photo_time_tolerance`."""
    tolerance = policy.photo_time_tolerance
    start, end = span
    from_upload = uploaded_at - taken_at if uploaded_at is not None else None
    if taken_at < start:
        outside = taken_at - start
    elif taken_at > end:
        outside = taken_at - end
    else:
        outside = timedelta(0)
    if abs(outside) <= tolerance and (from_upload is None or abs(from_upload) <= tolerance):
        return None
    return {
        "taken_at": taken_at.isoformat(),
        "uploaded_at": uploaded_at.isoformat() if uploaded_at is not None else None,
        "minutes_before_upload": _minutes(from_upload) if from_upload is not None else None,
        "minutes_outside_session": _minutes(outside),
        "tolerance_minutes": _minutes(tolerance),
    }


def photo_time_mismatch_read(
    readings: Sequence[datetime],
    uploaded_at: datetime | None,
    span: tuple[datetime, datetime],
    policy: EvidencePolicy,
) -> dict[str, Any] | None:
    """`photo_time_mismatch` for an EXIF time that may be read several ways
    (`EvidencePolicy.readings`): flagged only when no reading fits; the evidence is the
    reading nearest to fitting."""
    found = []
    for taken_at in readings:
        mismatch = photo_time_mismatch(taken_at, uploaded_at, span, policy)
        if mismatch is None:
            return None
        found.append(mismatch)
    if not found:
        return None
    return min(
        found,
        key=lambda m: max(abs(m["minutes_before_upload"] or 0), abs(m["minutes_outside_session"])),
    )


def photo_reused(
    session_id: str, first_session: str, near_duplicates: Sequence[dict[str, Any]]
) -> dict[str, Any] | None:
    """A photo used for ``session_id`` that was already used for another session: the same
    bytes, first stored for ``first_session``; or a look-alike (a resized, recompressed or
    cropped copy) of a photo stored for another session (``near_duplicates``, as forensics
    found them when it was stored). Retries and several photos of one session are no reuse."""
    look_alikes = [
        {k: n[k] for k in ("photo_id", "session_id", "distance") if k in n}
        for n in near_duplicates
        if n.get("session_id") != session_id
    ]
    if session_id == first_session and not look_alikes:
        return None
    evidence: dict[str, Any] = {}
    if session_id != first_session:
        evidence["first_session"] = first_session
    if look_alikes:
        evidence["looks_like"] = look_alikes
    return evidence


def photo_without_exif(exif_time: str | None, kind: str) -> dict[str, Any] | None:
    """A room photo whose file says nothing about when it was taken (a screenshot, a photo
    passed through a chat app). Weak on its own: low severity."""
    if exif_time is not None or kind != "room":
        return None
    return {"exif_time": None}


def headcount_shortfall(
    checked_in: int, headcount: int, headcount_max: int, policy: EvidencePolicy
) -> dict[str, Any] | None:
    """Clearly fewer people in the photo than checked in: even the top of the count's range
    (``headcount_max``, the uncertain faces included) is below the check-ins by at least
    `policy.headcount_margin` and `policy.headcount_share` of them."""
    needed = max(policy.headcount_margin, math.ceil(policy.headcount_share * checked_in))
    missing = checked_in - headcount_max
    if missing < needed:
        return None
    return {
        "checked_in": checked_in,
        "headcount": headcount,
        "headcount_max": headcount_max,
        "missing": missing,
    }
