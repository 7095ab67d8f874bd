"""A queued check-in's time stamp against what the device itself showed the server.

An offline queue is judged by when each item was made (its ``device_time``, corrected by the
batch's clock offset). That stamp is believed unless the device's own traces contradict it;
these are the traces an honest device leaves (decisions 0128 and 0137):

- **live contact**: each time the server heard the device live — a check-in or a refusal that
  arrived as it was made, a photo uploaded when it was taken — in any session. An honest
  device queues only while it cannot reach the server and sends its queue as soon as it can.
- **its sequence number**: a device numbers what it makes, in order (``device_seq``,
  CONTRACT.md). An item numbered after something the server heard live for the same session
  was made after it; stamped well before it, the stamp was written after the fact.

Pure functions over values; the check-in command reads the contacts and acts on the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.domain.rules import WindowPolicy, online_after_stamp


@dataclass(frozen=True)
class Contact:
    """Something a device sent that the server received at ``server_time``.

    ``queued``: True when it came from the device's queue (made earlier), False when it
    arrived as it was made, None when the sender did not say (a photo, a refusal): then it
    counts as live only when its ``device_time`` agrees with ``server_time``."""

    server_time: datetime
    device_time: datetime | None = None
    device_seq: int | None = None
    queued: bool | None = None
    #: the session it was for
    session_id: str | None = None

    def live(self, policy: WindowPolicy) -> bool:
        """Whether the device was demonstrably online at ``server_time``."""
        if self.queued is not None:
            return not self.queued
        return (
            self.device_time is not None
            and abs(self.server_time - self.device_time) <= policy.clock_skew_tolerance
        )


@dataclass(frozen=True)
class Disproof:
    """Why a queued item's stamp is not believed: the device was heard live at
    ``online_at``, after the stamp. ``made_after_seq`` is that contact's sequence number when
    the item's higher one shows it was made after it; None when the item simply arrived far
    later than a device that was online would have sent it."""

    online_at: datetime
    made_after_seq: int | None = None


def queued_stamp_disproved(
    at: datetime,
    received_at: datetime,
    device_seq: int | None,
    contacts: Sequence[Contact],
    policy: WindowPolicy,
    *,
    session_id: str | None = None,
    numbered_in_order: bool = True,
) -> Disproof | None:
    """What disproves a queued item's time ``at`` (its corrected ``device_time``), or None.

    1. Made after, stamped before: a live contact for the same session (``session_id``)
       numbered below ``device_seq`` that the server heard more than the clock tolerance
       after ``at``. No grace: however soon the item arrives, it was made after that contact.
       Only for a device that numbers what it makes (``numbered_in_order``; a login's phones
       each count on their own), and only within the session: a token whose items are not
       numbered by one counter (two browsers on one tablet token, a script reusing a token
       across sessions) then risks a flag only where the forgery it stands for would be.
    2. Online, yet not sent: a live contact, in any session, more than the clock tolerance
       after ``at`` and more than ``policy.queue_sync_grace`` before the item arrived
       (`online_after_stamp`).

    Honest queues are never disproved: items made while the device was offline carry lower
    numbers than anything it sends live after coming back, and it sends them within the
    grace. A device heard by nothing but its queue (offline the whole time, or a forger who
    never shows it live) leaves nothing to disprove a stamp with."""
    live = [c for c in contacts if c.live(policy)]
    if numbered_in_order and device_seq is not None:
        before = [
            c
            for c in live
            if c.session_id == session_id
            and c.device_seq is not None
            and c.device_seq < device_seq
            and c.server_time - at > policy.clock_skew_tolerance
        ]
        if before:
            first = min(before, key=lambda c: c.server_time)
            return Disproof(first.server_time, first.device_seq)
    online = online_after_stamp(at, received_at, [c.server_time for c in live], policy)
    return Disproof(online) if online is not None else None
