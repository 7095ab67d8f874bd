"""Projection building blocks: a projection turns one event into SQL statements.

A projection is a stable name, the DDL of its tables, and handlers that map event classes
to statements. It performs no I/O itself: the runner executes its statements and moves its
checkpoint in one transaction, so every event is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any, TypeVar

from eventsourcing.utils import get_topic

from app.stores.base import Statement

T = TypeVar("T")


@dataclass
class Batch:
    """What a run of events produced: statements to execute and sessions whose views changed.

    Counters go through `add`: the increments of a whole batch to one row become one UPDATE
    at its end (a tablet's synced queue touches one session hundreds of times). Only use it
    for columns nothing else in the batch sets outright."""

    statements: list[Statement] = field(default_factory=list)
    changes: set[str] = field(default_factory=set)
    #: the notification id of the event being applied (set by the runner)
    position: int = 0
    _counters: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    _summaries: dict[str, tuple[Any, Callable[[Any], Iterable[Statement]]]] = field(
        default_factory=dict
    )

    def sql(self, sql: str, **params: Any) -> None:
        self.statements.append(Statement(sql, params))

    def insert(self, table: str, key: str, /, **row: Any) -> None:
        """`INSERT INTO table (columns) VALUES (row) ON CONFLICT (key) DO NOTHING`: the row
        is written once however often its event is applied."""
        self.statements.append(Statement(_insert_sql(table, key, tuple(row)), row))

    def update(self, table: str, key: str, value: Any, /, **columns: Any) -> None:
        """`UPDATE table SET column = …, … WHERE key = value`."""
        sql = _update_sql(table, key, tuple(columns))
        self.statements.append(Statement(sql, {**columns, "_key": value}))

    def add(self, table: str, key: str, value: str, **deltas: int) -> None:
        """`UPDATE table SET c = c + delta … WHERE key = value`, summed over the batch."""
        counters = self._counters.setdefault((table, key, value), {})
        for column, delta in deltas.items():
            counters[column] = counters.get(column, 0) + delta

    def summary(
        self, name: str, start: Callable[[], T], close: Callable[[T], Iterable[Statement]]
    ) -> T:
        """A value a projection gathers over the whole batch (say, the days its events
        touched), made by `start` on first use; `close` turns it into statements that run
        after all the others."""
        if name not in self._summaries:
            self._summaries[name] = (start(), close)
        value: T = self._summaries[name][0]
        return value

    def finish(self) -> list[Statement]:
        """Every statement, the summed counter updates and then the summaries last."""
        for (table, key, value), counters in self._counters.items():
            sets = ", ".join(f"{c} = {c} + :d_{c}" for c in sorted(counters))
            params = {f"d_{c}": d for c, d in counters.items()}
            self.sql(f"UPDATE {table} SET {sets} WHERE {key} = :key", key=value, **params)
        self._counters.clear()
        for value, close in self._summaries.values():
            self.statements.extend(close(value))
        self._summaries.clear()
        return self.statements


@cache
def _insert_sql(table: str, key: str, columns: tuple[str, ...]) -> str:
    values = ", ".join(f":{c}" for c in columns)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}) "
        f"ON CONFLICT ({key}) DO NOTHING"
    )


@cache
def _update_sql(table: str, key: str, columns: tuple[str, ...]) -> str:
    sets = ", ".join(f"{c} = :{c}" for c in columns)
    return f"UPDATE {table} SET {sets} WHERE {key} = :_key"


Handler = Callable[[Any, Batch], None]


class Projection:
    """Subclasses set `name`, `tables` (DDL) and register handlers with `@handles`."""

    name: str = ""
    tables: tuple[str, ...] = ()
    #: table names to clear on rebuild
    owned_tables: tuple[str, ...] = ()
    #: raise it when the rows' meaning changes without a change of columns: on the next
    #: start its tables are made again and rebuilt from the log (a change of columns is
    #: found by itself, app/projections/schemas.py)
    schema_version: int = 1
    #: projections whose tables this one reads while projecting: it never runs ahead of them
    depends_on: tuple[str, ...] = ()
    #: live pages (wallboards, session pages) are rendered from its rows: the runner brings
    #: it (and what it depends on) up to date first, in rounds of their own
    live: bool = False
    handlers: dict[type, str]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.handlers = {}
        for attr, value in vars(cls).items():
            for event_class in getattr(value, "_handles", ()):
                cls.handlers[event_class] = attr

    @cached_property
    def topics(self) -> frozenset[str] | None:
        """The stored topics of the events it handles; None when it looks at every event
        (it overrides `apply`). The runner passes other events over without decoding them."""
        if type(self).apply is not Projection.apply:
            return None
        return frozenset(get_topic(cls) for cls in self.handlers)

    def decoded(self, notification: Any) -> Any | None:
        """The notification's event in a lighter form this projection handles itself, or
        None (the runner decodes it with the application's mapper). For projections of
        logs with millions of one kind of event."""
        return None

    def apply(self, event: Any, batch: Batch) -> None:
        """Append the statements for `event` (events this projection ignores add nothing)."""
        method = self.handlers.get(type(event))
        if method is not None:
            getattr(self, method)(event, batch)


def handles(*event_classes: type) -> Callable[[Handler], Handler]:
    """Mark a projection method as the handler of these event classes."""

    def mark(fn: Handler) -> Handler:
        fn._handles = event_classes  # type: ignore[attr-defined]
        return fn

    return mark


TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_tracking ("
    "name TEXT PRIMARY KEY, position BIGINT NOT NULL, updated_at TEXT NOT NULL)"
)


def ddl(statements: Iterable[str]) -> list[str]:
    return [TRACKING_DDL, *statements]
