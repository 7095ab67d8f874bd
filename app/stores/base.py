"""The read-model store port.

Projections and queries are written once, in SQL both SQLite and PostgreSQL accept, with
`:name` placeholders. Each adapter translates the placeholders and owns its connections.
Times are stored as ISO-8601 UTC text (same width), so text order is time order on both.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]
PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@dataclass(frozen=True)
class Statement:
    """One SQL statement with its named parameters."""

    sql: str
    params: Mapping[str, Any]


def in_list(prefix: str, values: Collection[str]) -> tuple[str, dict[str, str]]:
    """`:p0, :p1, …` for an `IN (…)` and its parameters, the values in sorted order."""
    params = {f"{prefix}{i}": v for i, v in enumerate(sorted(values))}
    return ", ".join(f":{k}" for k in params), params


def iso(value: datetime) -> str:
    """The stored form of an instant: UTC, microseconds, fixed width."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_iso(value: str) -> datetime:
    """Parse a stored instant."""
    return datetime.fromisoformat(value)


class Tx(ABC):
    """A transaction on the read-model store."""

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    @abstractmethod
    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    def run(self, statements: Sequence[Statement]) -> None:
        for statement in statements:
            self.execute(statement.sql, statement.params)


class ReadStore(ABC):
    """Read models and projection checkpoints, in the same database as the events."""

    kind: str

    #: the connections reads may use at once (the size `fill_pools` opens)
    read_connections = 1

    def fill_pools(self) -> None:  # noqa: B027 (a store without a pool has nothing to do)
        """Open every pooled connection now rather than during the first burst of requests
        (`muster serve` at start)."""

    @abstractmethod
    def transaction(self, *, durable: bool = True) -> AbstractContextManager[Tx]:
        """A write transaction: everything inside commits together or not at all. Not
        `durable`: the commit does not wait for the disk (PostgreSQL's asynchronous commit;
        SQLite ignores it) — for rows that are rebuilt from the event log, like projections':
        a server crash may lose the newest such transactions whole, never half of one, and
        any later durable commit makes them durable too (the log is written in order)."""

    def change_schema(self, statements: Sequence[str]) -> None:
        """Run schema changes (DROP, ALTER) in one transaction of their own."""
        with self.transaction() as tx:
            for statement in statements:
                tx.execute(statement)

    @abstractmethod
    def fetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a query from a worker thread."""

    @abstractmethod
    async def afetch(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a query from the event loop without blocking it."""

    async def afetch_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = await self.afetch(sql, params)
        return rows[0] if rows else None

    def fetch_one(self, sql: str, params: Mapping[str, Any] | None = None) -> Row | None:
        rows = self.fetch(sql, params)
        return rows[0] if rows else None

    def fetch_many(self, queries: Sequence[Statement], *, lookups: bool = False) -> list[list[Row]]:
        """Several independent queries from a worker thread; an adapter may send them in one
        round trip (PostgreSQL pipelines them). `lookups`: each query joins a list of keys
        to a large table, to be read key by key through an index (a planner that guesses
        otherwise scans the whole table once per query)."""
        return [self.fetch(q.sql, q.params) for q in queries]

    @abstractmethod
    def close(self) -> None: ...

    def existing(self, names: Sequence[str]) -> set[str]:
        """Which of these tables and indexes exist, read from the catalogue without taking a
        lock, so a starting process never queues behind live traffic for DDL it does not
        need."""
        return set()

    def columns(self) -> dict[str, set[str]]:
        """The columns of each table, read from the catalogue (projections compare them
        with their DDL: a table made by an older version is rebuilt)."""
        return {}

    def cancel_stuck_write(self) -> None:  # noqa: B027 - optional hook
        """Cancel this deployment's event-store write that outlived its time (the group
        committer's watchdog calls it). Embedded stores have nothing to cancel."""

    def notify_committed(self) -> None:  # noqa: B027 - optional hook
        """Tell projection runners in other processes that new events were committed.
        Embedded stores have one process and nothing to tell."""

    def listen_committed(self, wake: Callable[[], None], stop: threading.Event) -> None:  # noqa: B027
        """Call `wake` whenever another process commits, until `stop` is set. Stores that
        cannot listen return at once, and runners fall back to polling."""

    def compact(self) -> None:  # noqa: B027 - optional hook
        """Rewrite storage so that deleted and overwritten values leave no copy behind
        (after an erasure). Stores whose server does it themselves do nothing here."""

    async def close_async(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Release what `afetch` opened on the current event loop (the loop is ending)."""

    def iter_rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Iterator[Row]:
        yield from self.fetch(sql, params)
