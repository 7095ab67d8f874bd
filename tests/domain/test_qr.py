"""The rotating room QR: table-driven cases and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.qr import (
    STEP_SECONDS,
    QrRefusal,
    check_qr,
    qr_key,
    room_qr,
    session_of_token,
    time_step,
)

KEY = qr_key(b"test-secret")
SESSION = "6b1d3c4e-0000-4000-8000-000000000001"
OTHER = "6b1d3c4e-0000-4000-8000-000000000002"
SHOWN = datetime(2026, 12, 7, 8, 0, 3, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("presented_after", "expected"),
    [
        (0 * S, None),  # scanned at once
        (11 * S, None),  # still the same step
        (12 * S, None),  # the next step: the previous code still works
        (26 * S, None),  # last second of the next step
        (27 * S, QrRefusal.EXPIRED),  # two steps later: a forwarded screenshot
        (timedelta(hours=1), QrRefusal.EXPIRED),
        (-4 * S, QrRefusal.FORGED),  # a token of a step that has not come yet
    ],
)
def test_a_token_is_good_for_its_step_and_the_next(
    presented_after: timedelta, expected: QrRefusal | None
) -> None:
    shown = room_qr(KEY, SESSION, SHOWN)
    assert check_qr(KEY, shown.token, SESSION, SHOWN + presented_after) is expected


def test_expiry_is_the_end_of_the_next_step() -> None:
    shown = room_qr(KEY, SESSION, SHOWN)
    assert shown.expires_at == datetime(2026, 12, 7, 8, 0, 30, tzinfo=UTC)
    assert check_qr(KEY, shown.token, SESSION, shown.expires_at - S) is None
    assert check_qr(KEY, shown.token, SESSION, shown.expires_at) is QrRefusal.EXPIRED


def test_a_token_of_another_session_is_refused_as_such() -> None:
    other = room_qr(KEY, OTHER, SHOWN)
    assert check_qr(KEY, other.token, SESSION, SHOWN) is QrRefusal.OTHER_SESSION


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "hello",
        "MQ1.x.y.z",
        f"MQ1.{SESSION}.{time_step(SHOWN)}.AAAAAAAAAAAAAAAAAAAAAA",
        f"MQ2.{SESSION}.{time_step(SHOWN)}.sig",
    ],
)
def test_made_up_tokens_are_forged(presented: str) -> None:
    assert check_qr(KEY, presented, SESSION, SHOWN) is QrRefusal.FORGED


def test_a_token_signed_with_another_key_is_forged() -> None:
    foreign = room_qr(qr_key(b"another-plant"), SESSION, SHOWN)
    assert check_qr(KEY, foreign.token, SESSION, SHOWN) is QrRefusal.FORGED


def test_a_token_with_a_moved_step_is_forged() -> None:
    token = room_qr(KEY, SESSION, SHOWN).token
    prefix, session, step, signature = token.split(".")
    moved = ".".join([prefix, session, str(int(step) + 100), signature])
    assert check_qr(KEY, moved, SESSION, SHOWN + 100 * STEP_SECONDS * S) is QrRefusal.FORGED


def test_the_typed_code_works_like_the_token() -> None:
    shown = room_qr(KEY, SESSION, SHOWN)
    assert len(shown.code) == 6 and shown.code.isdigit()
    assert check_qr(KEY, shown.code, SESSION, SHOWN + 20 * S) is None
    assert check_qr(KEY, shown.code, SESSION, SHOWN + 40 * S) is QrRefusal.EXPIRED
    assert check_qr(KEY, shown.code, OTHER, SHOWN) is not None


def test_the_token_names_its_session() -> None:
    assert session_of_token(room_qr(KEY, SESSION, SHOWN).token) == SESSION
    assert session_of_token("123456") is None


@given(st.integers(min_value=1_700_000_000, max_value=2_000_000_000), st.integers(0, 14))
def test_every_fresh_token_is_accepted_and_every_old_one_refused(epoch: int, into: int) -> None:
    at = datetime.fromtimestamp(epoch, UTC)
    shown = room_qr(KEY, SESSION, at)
    assert check_qr(KEY, shown.token, SESSION, at + into * S) is None
    assert check_qr(KEY, shown.token, SESSION, shown.expires_at + into * S) is QrRefusal.EXPIRED
