"""SQLite adapter: the embedded shape. One file holds events and read models (WAL)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any

from app.stores.base import ReadStore, Row, Statement, Tx

#: per connection: a page cache of 64 MB (SQLite's default is 2 MB) and a checkpoint once
#: the write-ahead log holds 20,000 pages (default 1,000); see `tune`
CACHE_KB = 65536
CHECKPOINT_PAGES = 20000


def tune(conn: sqlite3.Connection) -> None:
    """A large import's transactions touch more pages than SQLite's default cache holds:
    it spilled them to the log mid-transaction and read them back, and each commit's
    checkpoint wrote back pages the next one rewrote (decision 0134)."""
    conn.execute(f"PRAGMA cache_size=-{CACHE_KB}")
    conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    tune(conn)
    return conn


#: from this many named parameters on, a statement is sent with positional ones
POSITIONAL_FROM = 100
_NAME_OR_TEXT = re.compile(r"'(?:[^']|'')*'|(?<!:):([A-Za-z_]\w*)")


@lru_cache(maxsize=256)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """The statement with `?` for each `:name` (quoted text left alone) and the names in
    order: SQLite looks each name up in a list while compiling, so a query with thousands
    of named parameters (a report's windows, a batch's days) took seconds to prepare."""
    names: list[str] = []

    def swap(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group(0)
        names.append(m.group(1))
        return "?"

    return _NAME_OR_TEXT.sub(swap, sql), tuple(names)


def _bound(sql: str, params: Mapping[str, Any] | None) -> tuple[str, Any]:
    if not params:
        return sql, {}
    if len(params) < POSITIONAL_FROM:
        return sql, dict(params)
    text, names = _positional(sql)
    return text, [params[name] for name in names]


class _SQLiteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.conn.execute(*_bound(sql, params))

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return [dict(r) for r in self.conn.execute(*_bound(sql, params)).fetchall()]

    def run(self, statements: Sequence[Statement]) -> None:
        """Runs of the same statement go to SQLite as one `executemany`."""
        for sql, run in groupby(statements, key=lambda s: s.sql):
            batch = list(run)
            if len(batch) == 1:
                self.execute(sql, batch[0].params)
            else:
                self.conn.executemany(sql, [s.params for s in batch])


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
    def transaction(self, *, durable: bool = True) -> Iterator[Tx]:
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

    def columns(self) -> dict[str, set[str]]:
        rows = self.fetch(
            "SELECT m.name AS t, c.name AS c FROM sqlite_master m, pragma_table_info(m.name) c "
            "WHERE m.type = 'table'"
        )
        found: dict[str, set[str]] = {}
        for row in rows:
            found.setdefault(row["t"], set()).add(row["c"])
        return found

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
