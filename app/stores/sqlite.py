"""SQLite adapter: the embedded shape. One file holds events and read models (WAL)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path
from typing import Any

from app.stores.base import ReadStore, Row, Statement, Tx


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class _SQLiteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.conn.execute(sql, dict(params or {}))

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return [dict(r) for r in self.conn.execute(sql, dict(params or {})).fetchall()]

    def run(self, statements: Sequence[Statement]) -> None:
        """Runs of the same statement go to SQLite as one `executemany`."""
        for sql, run in groupby(statements, key=lambda s: s.sql):
            self.conn.executemany(sql, [s.params for s in run])


class SQLiteReadStore(ReadStore):
    """Thread-local connections; writes take the database lock up front (BEGIN IMMEDIATE)."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SQLiteTx(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return _SQLiteTx(self._conn()).fetch(sql, params)

    async def afetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return await asyncio.to_thread(self.fetch, sql, params)

    def existing(self, names: Sequence[str]) -> set[str]:
        rows = self.fetch("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        return {row["name"] for row in rows} & set(names)

    def compact(self) -> None:
        """VACUUM the file (freed pages held old values) and empty the write-ahead log."""
        conn = self._conn()
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
