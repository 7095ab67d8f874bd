"""An offline queue's stamps against when the device was heard live (decision 0128)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.queue_stamps import Contact, Disproof, queued_stamp_disproved
from app.domain.rules import WindowPolicy, online_after_stamp

NINE = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)
POLICY = WindowPolicy()  # 2 min clock tolerance, 15 min to send a queue once back online


@pytest.mark.parametrize(
    ("stamped", "arrived", "heard_live", "disproved_by"),
    [
        # honest: offline the whole time, the queue sent much later
        (NINE + 5 * M, NINE + 3 * 60 * M, [], None),
        # honest: online, then offline; items stamped after the last live check-in
        (NINE + 12 * M, NINE + 3 * 60 * M, [NINE + 2 * M, NINE + 10 * M], None),
        # honest: offline, back online, the queue sent minutes after the first live check-in
        (NINE + 5 * M, NINE + 31 * M, [NINE + 20 * M], None),
        # honest: a live check-in within the clock tolerance of the stamp
        (NINE + 5 * M, NINE + 3 * 60 * M, [NINE + 6 * M], None),
        # forged: the device checked people in live after the stamp, the item came hours later
        (NINE + 5 * M, NINE + 3 * 60 * M, [NINE + 2 * M, NINE + 20 * M], NINE + 20 * M),
        # forged: the earliest live check-in that disproves it is the evidence
        (NINE + 5 * M, NINE + 60 * M, [NINE + 30 * M, NINE + 10 * M], NINE + 10 * M),
    ],
)
def test_a_queued_stamp_is_disproved_only_by_a_live_check_in_long_before_the_sync(
    stamped: datetime, arrived: datetime, heard_live: list[datetime], disproved_by: datetime | None
) -> None:
    assert online_after_stamp(stamped, arrived, heard_live, POLICY) == disproved_by


@given(
    st.integers(0, 600),
    st.integers(0, 10**5),
    st.lists(st.integers(0, 15 * 60), max_size=6),
)
def test_a_queue_sent_as_soon_as_the_device_was_back_online_is_believed(
    stamp: int, later: int, before_arrival: list[int]
) -> None:
    """However late the queue arrives, it is honest when every live check-in after the
    stamp happened within the grace before it: the device sent it as soon as it could."""
    arrived = NINE + stamp * M + timedelta(seconds=later)
    heard = [arrived - timedelta(seconds=s) for s in before_arrival]
    assert online_after_stamp(NINE + stamp * M, arrived, heard, POLICY) is None


@given(st.integers(0, 600), st.lists(st.integers(0, 600), max_size=6), st.integers(0, 10**5))
def test_items_stamped_after_every_live_contact_are_believed(
    stamp: int, contacts: list[int], later: int
) -> None:
    """Queued once the device went offline: nothing heard live after the stamp."""
    heard = [NINE + m * M for m in contacts if m <= stamp]
    arrived = NINE + stamp * M + timedelta(seconds=later)
    assert online_after_stamp(NINE + stamp * M, arrived, heard, POLICY) is None


# -- a device's own traces: contacts in any session, photos, sequence numbers (decision 0137) --

LIVE = False  # a contact that arrived as it was made
QUEUED = True


SESSION = "the batch's session"


def live(minute: int, seq: int | None = None, session: str = SESSION) -> Contact:
    """A check-in the server heard live at NINE + minute, numbered `seq` by the device."""
    return Contact(NINE + minute * M, NINE + minute * M, seq, LIVE, session)


def photo(minute: int, taken: int | None = None) -> Contact:
    """A photo uploaded at NINE + minute, taken (by the device's clock) at `taken`."""
    at = NINE + (minute if taken is None else taken) * M
    return Contact(NINE + minute * M, at, None, None, SESSION)


@pytest.mark.parametrize(
    ("stamped", "seq", "arrived", "contacts", "disproof"),
    [
        # honest: offline from the start, the queue synced at the end; nothing heard before
        pytest.param(5, 3, 180, [], None, id="honest-offline-from-the-start"),
        # honest: live, then offline mid-session; items numbered and stamped after the last
        # live check-in, synced hours later
        pytest.param(25, 12, 180, [live(2, 10), live(20, 11)], None, id="honest-went-offline"),
        # honest: back online at 20, a live check-in numbered after the queue, queue sent at 30
        pytest.param(5, 3, 30, [live(20, 4)], None, id="honest-back-online-queue-soon-after"),
        # honest: queued items stamped within the clock tolerance of a live one numbered before
        pytest.param(21, 12, 30, [live(20, 11)], None, id="honest-within-clock-tolerance"),
        # honest: a photo it uploaded from its queue (taken at 5, arrived at 60) says nothing
        pytest.param(5, 3, 180, [photo(60, taken=5)], None, id="honest-queued-photo"),
        # honest: a queued check-in in its sessions is no live contact either
        pytest.param(
            5,
            3,
            180,
            [Contact(NINE + 60 * M, NINE + 6 * M, 4, QUEUED, SESSION)],
            None,
            id="honest-queued",
        ),
        # honest as far as anyone can tell: one token numbering across sessions as no single
        # tablet does (a script, two browsers); numbers are compared within the session only
        pytest.param(
            90, 41, 102, [live(100, 40, "another session")], None, id="numbered-across-sessions"
        ),
        # forged within the grace: made after the live check-in numbered 11 at 20, stamped 5
        pytest.param(5, 12, 30, [live(20, 11)], Disproof(NINE + 20 * M, 11), id="forged-in-grace"),
        # forged from a tablet never heard live in this session: it checked people in live in
        # another session at 100, yet sent this item, stamped at 5, only at 120
        pytest.param(
            5,
            41,
            120,
            [live(100, 40, "another session")],
            Disproof(NINE + 100 * M),
            id="forged-heard-in-another-session",
        ),
        # forged: online (a photo uploaded as it was taken at 60), yet the queue came at 180
        pytest.param(5, None, 180, [photo(60)], Disproof(NINE + 60 * M), id="forged-photo-online"),
        # forged: stamped after the last live check-in but numbered after a later one
        pytest.param(
            25, 13, 40, [live(20, 11), live(35, 12)], Disproof(NINE + 35 * M, 12), id="forged-seq"
        ),
        # not told apart (decision 0137): stamped after every live contact, numbered in order,
        # nothing heard from the device afterwards; a forger's batch like that looks honest
        pytest.param(25, 12, 180, [live(20, 11)], None, id="undecidable-after-last-contact"),
    ],
)
def test_a_queued_stamp_is_disproved_only_by_the_devices_own_live_traces(
    stamped: int, seq: int | None, arrived: int, contacts: list[Contact], disproof: Disproof | None
) -> None:
    found = queued_stamp_disproved(
        NINE + stamped * M, NINE + arrived * M, seq, contacts, POLICY, session_id=SESSION
    )
    assert found == disproof


def test_a_phone_is_not_judged_by_its_sequence_numbers() -> None:
    """A login may use two phones, each counting on its own: only time disproves a stamp."""
    stamped, arrived = NINE + 5 * M, NINE + 30 * M
    contacts = [live(20, 11)]
    assert queued_stamp_disproved(stamped, arrived, 12, contacts, POLICY, session_id=SESSION)
    phone = queued_stamp_disproved(
        stamped, arrived, 12, contacts, POLICY, session_id=SESSION, numbered_in_order=False
    )
    assert phone is None


@given(
    st.lists(st.integers(0, 600), min_size=1, max_size=8, unique=True),
    st.integers(0, 8),
    st.integers(0, 15 * 60),
)
def test_an_honest_device_that_numbers_in_order_and_sends_its_queue_at_once_is_never_disproved(
    made: list[int], went_offline: int, delay: int
) -> None:
    """A device makes items at the minutes `made`, numbered in that order. The first
    `went_offline` of them it sent live; the rest waited in its queue and were sent once it
    came back, within the grace: none of the queued items is disproved."""
    made = sorted(made)
    sent_live = [live(m, seq) for seq, m in enumerate(made[:went_offline], start=1)]
    arrived = NINE + made[-1] * M + timedelta(seconds=delay)
    for seq, m in enumerate(made, start=1):
        if seq <= went_offline:
            continue
        found = queued_stamp_disproved(
            NINE + m * M, arrived, seq, sent_live, POLICY, session_id=SESSION
        )
        assert found is None


@given(st.integers(0, 600), st.integers(3, 600), st.integers(1, 50))
def test_an_item_numbered_after_a_live_check_in_and_stamped_before_it_is_always_disproved(
    contact: int, backdated_by: int, later: int
) -> None:
    """However soon it arrives: it was made after the live check-in it is numbered after."""
    stamp = NINE + (contact - backdated_by) * M
    arrived = NINE + (contact + later) * M
    found = queued_stamp_disproved(
        stamp, arrived, 8, [live(contact, 7)], POLICY, session_id=SESSION
    )
    assert found == Disproof(NINE + contact * M, 7)
