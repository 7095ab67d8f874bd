"""Credentials, kept out of the event log: password hashes, device token hashes and
two-factor secrets, with each login's token version (raised to end its open sessions).

One table set, written once for SQLite and PostgreSQL through the store port. These rows are
not a projection: they cannot be rebuilt from events, and a rebuild never clears them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.stores.base import ReadStore, Row, iso

DDL = (
    "CREATE TABLE IF NOT EXISTS user_credentials (login TEXT PRIMARY KEY, "
    "password_hash TEXT NOT NULL, token_version INTEGER NOT NULL, totp_secret TEXT, "
    "totp_enrolled INTEGER NOT NULL DEFAULT 0, totp_last_step BIGINT, "
    "recovery_codes TEXT NOT NULL DEFAULT '[]', updated_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS device_credentials (device_id TEXT PRIMARY KEY, "
    "token_hash TEXT NOT NULL, issued_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS device_credentials_token ON device_credentials (token_hash)",
    "CREATE TABLE IF NOT EXISTS store_upgrades (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
)

#: events written before credentials left the log, and the secret each carried
_OLD_SECRETS = {
    "app.domain.access:User.UserAdded": "password_hash",
    "app.domain.access:User.PasswordChanged": "password_hash",
    "app.domain.access:Device.DeviceRegistered": "token_hash",
    "app.domain.access:Device.DeviceTokenRotated": "token_hash",
}
_UPGRADE = "credentials-out-of-events"
#: what `update_two_factor` may set
TWO_FACTOR_COLUMNS = frozenset({"totp_secret", "totp_enrolled", "totp_last_step", "recovery_codes"})


def hash_token(token: str) -> str:
    """Device and user tokens are stored as SHA-256: a leaked database leaks no token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return iso(datetime.now(UTC))


@dataclass(frozen=True)
class LoginSecret:
    """What a login proves itself with."""

    login: str
    password_hash: str
    token_version: int
    totp_secret: str | None
    totp_enrolled: bool
    totp_last_step: int | None
    recovery_codes: list[str]


def _secret(row: Row) -> LoginSecret:
    return LoginSecret(
        login=row["login"],
        password_hash=row["password_hash"],
        token_version=int(row["token_version"]),
        totp_secret=row["totp_secret"],
        totp_enrolled=bool(row["totp_enrolled"]),
        totp_last_step=None if row["totp_last_step"] is None else int(row["totp_last_step"]),
        recovery_codes=list(json.loads(row["recovery_codes"])),
    )


class Credentials:
    """The credentials table set over a read store."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    # -- logins ------------------------------------------------------------------------------

    def set_password(self, login: str, password_hash: str) -> None:
        """Store a new password hash; the login's open sessions end."""
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO user_credentials (login, password_hash, token_version, updated_at) "
                "VALUES (:l, :h, 1, :at) ON CONFLICT (login) DO UPDATE SET "
                "password_hash = excluded.password_hash, "
                "token_version = user_credentials.token_version + 1, "
                "updated_at = excluded.updated_at",
                {"l": login, "h": password_hash, "at": _now()},
            )

    def rehash_password(self, login: str, old_hash: str, new_hash: str) -> None:
        """Replace a hash by a stronger one of the same password; sessions stay open."""
        with self.store.transaction() as tx:
            tx.execute(
                "UPDATE user_credentials SET password_hash = :new, updated_at = :at "
                "WHERE login = :l AND password_hash = :old",
                {"l": login, "old": old_hash, "new": new_hash, "at": _now()},
            )

    def end_sessions(self, login: str) -> None:
        """Raise the token version: every token issued so far stops working."""
        with self.store.transaction() as tx:
            tx.execute(
                "UPDATE user_credentials SET token_version = token_version + 1, updated_at = :at "
                "WHERE login = :l",
                {"l": login, "at": _now()},
            )

    def login_secret(self, login: str) -> LoginSecret | None:
        row = self.store.fetch_one("SELECT * FROM user_credentials WHERE login = :l", {"l": login})
        return _secret(row) if row else None

    async def token_version(self, login: str) -> int | None:
        row = await self.store.afetch_one(
            "SELECT token_version FROM user_credentials WHERE login = :l", {"l": login}
        )
        return int(row["token_version"]) if row else None

    def update_two_factor(self, login: str, **fields: Any) -> None:
        """Set two-factor columns (`totp_secret`, `totp_enrolled`, `totp_last_step`,
        `recovery_codes` as a list)."""
        unknown = set(fields) - TWO_FACTOR_COLUMNS
        if unknown:
            raise ValueError(f"not two-factor columns: {sorted(unknown)}")
        if "recovery_codes" in fields:
            fields["recovery_codes"] = json.dumps(fields["recovery_codes"])
        sets = ", ".join(f"{name} = :{name}" for name in sorted(fields))
        with self.store.transaction() as tx:
            # the column names were checked against TWO_FACTOR_COLUMNS above
            tx.execute(
                f"UPDATE user_credentials SET {sets}, updated_at = :at WHERE login = :l",  # nosec B608
                {**fields, "l": login, "at": _now()},
            )

    def claim_totp_step(self, login: str, step: int) -> bool:
        """Record `step` as used; False when it (or a later one) was used already, so a
        code is accepted once."""
        with self.store.transaction() as tx:
            rows = tx.fetch(
                "UPDATE user_credentials SET totp_last_step = :s WHERE login = :l AND "
                "(totp_last_step IS NULL OR totp_last_step < :s) RETURNING login",
                {"l": login, "s": step},
            )
        return bool(rows)

    def claim_recovery_code(self, login: str, code_hash: str) -> bool:
        """Use up one recovery code; False when it is not (or no longer) one of the login's."""
        with self.store.transaction() as tx:
            rows = tx.fetch(
                "SELECT recovery_codes FROM user_credentials WHERE login = :l", {"l": login}
            )
            codes = list(json.loads(rows[0]["recovery_codes"])) if rows else []
            if code_hash not in codes:
                return False
            codes.remove(code_hash)
            tx.execute(
                "UPDATE user_credentials SET recovery_codes = :c WHERE login = :l",
                {"l": login, "c": json.dumps(codes)},
            )
        return True

    # -- devices -----------------------------------------------------------------------------

    def set_device_token(self, device_id: str, token_hash: str) -> None:
        """The device's one valid token from now on."""
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO device_credentials (device_id, token_hash, issued_at) "
                "VALUES (:d, :h, :at) ON CONFLICT (device_id) DO UPDATE SET "
                "token_hash = excluded.token_hash, issued_at = excluded.issued_at",
                {"d": device_id, "h": token_hash, "at": _now()},
            )

    # -- upgrading stores from before ---------------------------------------------------------

    def upgrade(self, recorder: Any, tables_to_rebuild: tuple[str, ...]) -> bool:
        """Once per store: copy the hashes old events carried into the credentials tables and
        drop the read tables that held them (`tables_to_rebuild`: their projection fills them
        again from the upcast events). Returns whether it ran now."""
        if self.store.fetch_one("SELECT name FROM store_upgrades WHERE name = :n", {"n": _UPGRADE}):
            return False
        users: dict[str, str] = {}  # user aggregate id -> login
        passwords: dict[str, str] = {}
        tokens: dict[str, str] = {}
        for notification in _old_events(recorder):
            state = json.loads(notification.state)
            secret = state.get(_OLD_SECRETS[notification.topic])
            subject = str(notification.originator_id)
            if "login" in state:
                users[subject] = state["login"]
            if not secret:
                continue
            if notification.topic.startswith("app.domain.access:User."):
                passwords[users.get(subject, subject)] = secret
            else:
                tokens[subject] = secret
        with self.store.transaction() as tx:
            for login, password_hash in passwords.items():
                tx.execute(
                    "INSERT INTO user_credentials (login, password_hash, token_version, "
                    "updated_at) VALUES (:l, :h, 1, :at) ON CONFLICT (login) DO NOTHING",
                    {"l": login, "h": password_hash, "at": _now()},
                )
            for device_id, token_hash in tokens.items():
                tx.execute(
                    "INSERT INTO device_credentials (device_id, token_hash, issued_at) "
                    "VALUES (:d, :h, :at) ON CONFLICT (device_id) DO NOTHING",
                    {"d": device_id, "h": token_hash, "at": _now()},
                )
        self.store.change_schema([f"DROP TABLE IF EXISTS {t}" for t in tables_to_rebuild])
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO store_upgrades (name, applied_at) VALUES (:n, :at) "
                "ON CONFLICT (name) DO NOTHING",
                {"n": _UPGRADE, "at": _now()},
            )
        return True


def _old_events(recorder: Any, page: int = 1000) -> Iterator[Any]:
    start = 1
    while True:
        found = recorder.select_notifications(start=start, limit=page, topics=list(_OLD_SECRETS))
        yield from found
        if len(found) < page:
            return
        start = found[-1].id + 1
