"""Stores written before credentials left the event log keep working, and their hashes
never leave the store again."""

from __future__ import annotations

import base64
import hashlib
import json

from eventsourcing.persistence import StoredEvent

from app.audit.log import event_record
from app.bootstrap import build
from app.domain.access import Device, User
from app.settings import Settings
from app.stores.credentials import hash_token
from app.web.auth import check_password
from tests.conftest import load_plant


def scrypt_hash(password: str) -> str:
    """A hash as the scrypt code before argon2id wrote it."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt$16384$8$1${b64(salt).decode()}${b64(digest).decode()}"


def old_event(new: StoredEvent, **secret: str) -> StoredEvent:
    """`new` as version 1 wrote it: the secret inside, no class version, no employee."""
    state = json.loads(new.state)
    state.pop("class_version", None)
    state.pop("employee_no", None)
    state.update(secret)
    body = json.dumps(state).encode()
    return StoredEvent(new.originator_id, new.originator_version, new.topic, body)


def test_an_old_store_keeps_its_logins_and_devices_and_shows_no_hash(settings: Settings) -> None:
    muster = build(settings)
    load_plant(muster)
    app = muster.app
    old_password = scrypt_hash("old-password")
    old_token = "mdt_old-tablet-token"
    user = User(login="old.hr", role="hr", scope="P1", employee_no=None, actor="old")
    device = Device(name="old-tablet", room="培训室A", plant="P1", kind="tablet", actor="old")
    stored = [
        old_event(app.mapper.to_stored_event(user.collect_events()[0]), password_hash=old_password),
        old_event(
            app.mapper.to_stored_event(device.collect_events()[0]),
            token_hash=hash_token(old_token),
        ),
    ]
    app.recorder.insert_events(stored)
    # what an old store looked like: no credentials moved yet
    muster.store.change_schema(["DELETE FROM store_upgrades"])
    muster.close()

    upgraded = build(settings)
    try:
        assert upgraded.runner.wait_until_caught_up(30)
        principal = check_password(upgraded, "old.hr", "old-password")
        assert principal is not None and principal.role == "hr"
        # upgraded to argon2id on that login
        secret = upgraded.app.credentials.login_secret("old.hr")
        assert secret is not None and secret.password_hash.startswith("$argon2id$")
        assert upgraded.checkins.authenticate_device(old_token).name == "old-tablet"
        head = upgraded.runner.head()
        records = [
            event_record(upgraded.app.mapper, n)
            for n in upgraded.app.recorder.select_notifications(start=1, limit=head)
        ]
        text = json.dumps(records)
        assert old_password not in text and hash_token(old_token) not in text
        assert "old.hr" in text and "old-tablet" in text
    finally:
        upgraded.close()
