"""PostgreSQL adapter: psycopg (sync, pipelined) for projection writes, asyncpg for reads."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from itertools import groupby
from typing import Any

import asyncpg
import psycopg
import structlog
from psycopg import Connection, sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from app.stores.base import PLACEHOLDER, ReadStore, Row, Statement, Tx

log = structlog.get_logger(__name__)


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """`:name` → `%(name)s` for psycopg."""
    return PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


@lru_cache(maxsize=1024)
def to_numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` → `$1 …` for asyncpg, with the parameter order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return PLACEHOLDER.sub(number, sql), tuple(names)


class _PostgresTx(Tx):
    def __init__(self, conn: Connection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.conn.execute(to_pyformat(sql), dict(params or {}), prepare=True)

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        cur = self.conn.cursor(row_factory=dict_row)
        return list(cur.execute(to_pyformat(sql), dict(params or {})).fetchall())

    def run(self, statements: Sequence[Statement]) -> None:
        """Runs of the same statement go out as one `executemany` on the pipeline."""
        with self.conn.cursor() as cur:
            for sql, run in groupby(statements, key=lambda s: s.sql):
                params = [dict(s.params) for s in run]
                if len(params) == 1:  # executemany waits for its results; execute streams on
                    cur.execute(to_pyformat(sql), params[0], prepare=True)
                else:
                    cur.executemany(to_pyformat(sql), params)


class PostgresReadStore(ReadStore):
    """Read models in `schema`; writes pipelined so a rebuild is not bound by round trips."""

    kind = "postgres"
    read_connections = 8

    def __init__(self, dsn: str, schema: str = "public") -> None:
        self.dsn = dsn
        self.schema = schema
        # Writes: the projection runner and admin commands.
        self._pool = self._connection_pool(autocommit=False, max_size=4)
        # Reads from worker threads: autocommit, so a query is one round trip (no ROLLBACK).
        self._read_pool = self._connection_pool(autocommit=True, max_size=self.read_connections)
        self._closed = threading.Event()
        self._notify_wanted = threading.Event()
        self._notify_lock = threading.Lock()
        self._notifier: threading.Thread | None = None
        # asyncpg pools belong to one event loop; a process may run several loops in turn
        # (the CLI, tests), so each loop gets its own pool.
        self._apools: dict[asyncio.AbstractEventLoop, asyncpg.Pool] = {}
        self._apool_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def _connection_pool(self, *, autocommit: bool, max_size: int) -> ConnectionPool:
        return ConnectionPool(
            self.dsn,
            min_size=1,
            max_size=max_size,
            open=True,
            kwargs={"options": f"-c search_path={self.schema}", "autocommit": autocommit},
        )

    def fill_pools(self) -> None:
        """Both pools at their full size: each connection is held until all are open, then
        given back. They close again after the pool's idle time (10 minutes), as the
        connections a burst opens do."""
        for pool in (self._read_pool, self._pool):
            held = [pool.getconn() for _ in range(pool.max_size)]
            for conn in held:
                pool.putconn(conn)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Tx]:
        with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            if not durable:
                conn.execute("SET LOCAL synchronous_commit = off")
            yield _PostgresTx(conn)

    def change_schema(self, statements: Sequence[str]) -> None:
        """On a connection of its own, outside any pipeline: psycopg forgets its prepared
        statements after a DROP or ALTER, which a pipelined pool connection does not survive."""
        with psycopg.connect(self.dsn, options=f"-c search_path={self.schema}") as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def compact(self) -> None:
        """VACUUM this schema's tables: dead row versions (old values) are removed."""
        with psycopg.connect(
            self.dsn, autocommit=True, options=f"-c search_path={self.schema}"
        ) as conn:
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", [self.schema]
            ).fetchall()
            for (table,) in tables:
                conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(self.schema, table)))

    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        with self._read_pool.connection() as conn:
            return _PostgresTx(conn).fetch(sql, params)

    def fetch_many(self, queries: Sequence[Statement], *, lookups: bool = False) -> list[list[Row]]:
        """All the queries in one pipeline: one round trip however many there are. With
        `lookups` the planner reads the big table through its index, key by key: on a
        freshly loaded table it otherwise hash-joins a full parallel scan per query."""
        with (
            self._read_pool.connection() as conn,
            conn.pipeline(),
            conn.transaction() if lookups else nullcontext(),
        ):
            if lookups:
                for setting in ("enable_hashjoin", "enable_mergejoin", "jit"):
                    conn.execute(f"SET LOCAL {setting} = off")
            cursors = []
            for query in queries:
                cur = conn.cursor(row_factory=dict_row)
                cur.execute(to_pyformat(query.sql), dict(query.params))
                cursors.append(cur)
            return [list(cur.fetchall()) for cur in cursors]

    async def _apool_get(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        pool = self._apools.get(loop)
        if pool is None:
            for stale in [other for other in self._apools if other.is_closed()]:
                del self._apools[stale]
                self._apool_locks.pop(stale, None)
            async with self._apool_locks.setdefault(loop, asyncio.Lock()):
                pool = self._apools.get(loop)
                if pool is None:
                    pool = await asyncpg.create_pool(
                        self.dsn,
                        min_size=1,
                        max_size=8,
                        server_settings={"search_path": self.schema},
                    )
                    self._apools[loop] = pool
        return pool

    async def afetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        pool = await self._apool_get()
        query, names = to_numbered(sql)
        values = [(params or {})[n] for n in names]
        async with pool.acquire() as conn:
            records = await conn.fetch(query, *values)
        return [dict(r) for r in records]

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel of this schema's event log."""
        return f"muster_committed_{self.schema}"[:63]

    def existing(self, names: Sequence[str]) -> set[str]:
        rows = self.fetch(
            "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = :schema",
            {"schema": self.schema},
        )
        return {row["name"] for row in rows} & set(names)

    def columns(self) -> dict[str, set[str]]:
        rows = self.fetch(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = :schema",
            {"schema": self.schema},
        )
        found: dict[str, set[str]] = {}
        for row in rows:
            found.setdefault(row["t"], set()).add(row["c"])
        return found

    def cancel_stuck_write(self) -> None:
        """Cancel the write transaction of this schema's group committer (found by the name
        it sets, app/stores/pg_events.py); end its session when it was already cancelled."""
        from app.stores.pg_events import writer_name

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid, pg_cancel_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND state <> 'idle'",
                [writer_name(self.schema)],
            ).fetchall()
            if rows:
                time.sleep(1.0)
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s AND state <> 'idle' AND pid = ANY(%s)",
                    [writer_name(self.schema), [r[0] for r in rows]],
                )
        log.warning("cancelled a stuck event-store write", sessions=len(rows))

    def notify_committed(self) -> None:
        """Wake other processes' projection runners; bursts of commits collapse into one
        NOTIFY in flight, sent from a small thread so the committer never waits for it."""
        with self._notify_lock:
            if self._notifier is None:
                self._notifier = threading.Thread(
                    target=self._notify_forever, name="pg-notify", daemon=True
                )
                self._notifier.start()
        self._notify_wanted.set()

    def _notify_forever(self) -> None:
        while not self._closed.is_set():
            if not self._notify_wanted.wait(1.0):
                continue
            if self._closed.is_set():
                return
            self._notify_wanted.clear()
            try:
                with self._read_pool.connection() as conn:
                    conn.execute("SELECT pg_notify(%s, '')", [self.channel])
            except Exception as exc:  # runners still poll; say so and carry on
                log.warning("could not notify projection runners", error=str(exc))
                time.sleep(0.5)

    def listen_committed(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """LISTEN on the schema's channel and call `wake` for each notification; a lost
        connection is re-opened (polling covers the gap)."""
        while not stop.is_set() and not self._closed.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    while not stop.is_set() and not self._closed.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            wake()
            except psycopg.Error as exc:
                log.warning("projection wake-ups lost; polling until reconnected", error=str(exc))
                stop.wait(1.0)

    def close(self) -> None:
        self._closed.set()
        self._notify_wanted.set()
        self._pool.close()
        self._read_pool.close()

    async def close_async(self) -> None:
        pool = self._apools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()
