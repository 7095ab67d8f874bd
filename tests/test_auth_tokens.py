"""Login tokens: signed, expiring, tamper-evident."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from app.passwords import hash_password, verify_password
from app.web.auth import Principal, issue_token, read_token

SECRET = b"secret-one"
HR = Principal("hr", "hr", "G")


def test_a_fresh_token_reads_back() -> None:
    token, _ = issue_token(SECRET, HR, 60)
    assert read_token(SECRET, token) == HR


def test_an_expired_token_is_refused() -> None:
    token, _ = issue_token(SECRET, HR, -1)
    assert read_token(SECRET, token) is None


def test_another_servers_key_is_refused() -> None:
    token, _ = issue_token(SECRET, HR, 60)
    assert read_token(b"secret-two", token) is None


def test_raising_ones_own_role_breaks_the_signature() -> None:
    token, _ = issue_token(SECRET, HR, 60)
    payload, _, signature = token[4:].partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(role="admin", scope="G")
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert read_token(SECRET, f"mut_{forged}.{signature}") is None


@given(st.text(max_size=200))
def test_garbage_never_reads_as_a_login(garbage: str) -> None:
    assert read_token(SECRET, garbage) is None
    assert read_token(SECRET, "mut_" + garbage) is None


def test_passwords_verify_only_themselves() -> None:
    stored = hash_password("s3cret-培训")
    assert verify_password("s3cret-培训", stored)
    assert not verify_password("s3cret", stored)
    assert not verify_password("s3cret-培训", "not-a-hash")
