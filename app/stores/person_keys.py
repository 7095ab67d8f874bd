"""One key per person, kept out of the event log: it encrypts the person's name and
identifiers inside events (`app.audit.shredding`). Erasing the person deletes the key, and
every copy of those fields in the log, in backups of it and in exports of the raw events
becomes unreadable at once (crypto-shredding). Read models rebuilt afterwards hold no name.

Keys are stored wrapped (AES-GCM) under a key derived from the server's secret, so a copy of
the database alone does not open them. Like the credentials, these rows are not a projection:
a rebuild never clears them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.stores.base import ReadStore, iso

DDL = (
    "CREATE TABLE IF NOT EXISTS person_keys (person_id TEXT PRIMARY KEY, "
    "wrapped TEXT NOT NULL, created_at TEXT NOT NULL)",
)
#: how long a process trusts what it read (another process may erase meanwhile)
CACHE_S = 30.0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class PersonKeys:
    """Get-or-create and erase per-person keys; thread-safe, with a short cache."""

    def __init__(self, store: ReadStore, secret: bytes, cache_s: float = CACHE_S) -> None:
        self.store = store
        self._wrap = AESGCM(hashlib.sha256(b"muster person keys\0" + secret).digest())
        self._cache: dict[str, tuple[bytes | None, float]] = {}
        self._lock = threading.Lock()
        self.cache_s = cache_s
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def _cached(self, person_id: str) -> tuple[bool, bytes | None]:
        with self._lock:
            found = self._cache.get(person_id)
        if found is None or time.monotonic() - found[1] > self.cache_s:
            return False, None
        return True, found[0]

    def _remember(self, person_id: str, key: bytes | None) -> None:
        with self._lock:
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[person_id] = (key, time.monotonic())

    def _unwrap(self, person_id: str, wrapped: str) -> bytes | None:
        raw = base64.b64decode(wrapped)
        try:
            return self._wrap.decrypt(raw[:12], raw[12:], person_id.encode())
        except InvalidTag:  # wrapped under another server secret
            return None

    def key(self, person_id: str) -> bytes | None:
        """The person's key, or None when they have none (erased, or never had one)."""
        hit, key = self._cached(person_id)
        if hit:
            return key
        row = self.store.fetch_one(
            "SELECT wrapped FROM person_keys WHERE person_id = :p", {"p": person_id}
        )
        key = self._unwrap(person_id, row["wrapped"]) if row else None
        self._remember(person_id, key)
        return key

    def key_for_writing(self, person_id: str) -> bytes:
        """The person's key, created on first use."""
        key = self.key(person_id)
        if key is not None:
            return key
        wrapped = self._fresh(person_id)
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO person_keys (person_id, wrapped, created_at) VALUES (:p, :w, :at) "
                "ON CONFLICT (person_id) DO NOTHING",
                {"p": person_id, "w": wrapped, "at": iso(datetime.now(UTC))},
            )
            row = tx.fetch("SELECT wrapped FROM person_keys WHERE person_id = :p", {"p": person_id})
        key = self._unwrap(person_id, row[0]["wrapped"])  # another process may have won
        if key is None:
            raise RuntimeError("a person key is wrapped under another server secret")
        self._remember(person_id, key)
        return key

    def prepare(self, person_ids: Iterable[str]) -> None:
        """Make sure these people have keys, in one read and at most one write (an import
        of thousands of people must not cost a transaction each)."""
        wanted = sorted({p for p in person_ids if not self._cached(p)[0]})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found = self._read(chunk)
            missing = [p for p in chunk if found.get(p) is None]
            if missing:
                at = iso(datetime.now(UTC))
                with self.store.transaction() as tx:
                    for person_id in missing:
                        tx.execute(
                            "INSERT INTO person_keys (person_id, wrapped, created_at) "
                            "VALUES (:p, :w, :at) ON CONFLICT (person_id) DO NOTHING",
                            {"p": person_id, "w": self._fresh(person_id), "at": at},
                        )
                found.update(self._read(missing))
            for person_id in chunk:
                self._remember(person_id, found.get(person_id))

    def load(self, person_ids: Iterable[str]) -> None:
        """Read these people's keys (or that they have none) in one query per 500, as `key`
        would one by one; nothing is created (reading must not give an erased person a key)."""
        wanted = sorted({p for p in person_ids if not self._cached(p)[0]})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found = self._read(chunk)
            for person_id in chunk:
                self._remember(person_id, found.get(person_id))

    def _read(self, person_ids: list[str]) -> dict[str, bytes | None]:
        params = {f"p{i}": p for i, p in enumerate(person_ids)}
        rows = self.store.fetch(
            "SELECT person_id, wrapped FROM person_keys WHERE person_id IN "
            f"({', '.join(':' + k for k in params)})",
            params,
        )
        return {r["person_id"]: self._unwrap(r["person_id"], r["wrapped"]) for r in rows}

    def _fresh(self, person_id: str) -> str:
        """A new key, wrapped for storage."""
        nonce = os.urandom(12)
        key = AESGCM.generate_key(bit_length=256)
        return _b64(nonce + self._wrap.encrypt(nonce, key, person_id.encode()))

    def erase(self, person_id: str) -> bool:
        """Delete the person's key; True when there was one."""
        with self.store.transaction() as tx:
            found = tx.fetch(
                "DELETE FROM person_keys WHERE person_id = :p RETURNING person_id",
                {"p": person_id},
            )
        self._remember(person_id, None)
        return bool(found)
