"""Projection building blocks: a projection turns one event into SQL statements.

A projection is a stable name, the DDL of its tables, and handlers that map event classes
to statements. It performs no I/O itself: the runner executes its statements and moves its
checkpoint in one transaction, so every event is applied exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.stores.base import Statement


@dataclass
class Batch:
    """What a run of events produced: statements to execute and sessions whose views changed."""

    statements: list[Statement] = field(default_factory=list)
    changes: set[str] = field(default_factory=set)

    def sql(self, sql: str, **params: Any) -> None:
        self.statements.append(Statement(sql, params))


Handler = Callable[[Any, Batch], None]


class Projection:
    """Subclasses set `name`, `tables` (DDL) and register handlers with `@handles`."""

    name: str = ""
    tables: tuple[str, ...] = ()
    #: table names to clear on rebuild
    owned_tables: tuple[str, ...] = ()
    #: projections whose tables this one reads while projecting: it never runs ahead of them
    depends_on: tuple[str, ...] = ()
    handlers: dict[type, str]

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.handlers = {}
        for attr, value in vars(cls).items():
            for event_class in getattr(value, "_handles", ()):
                cls.handlers[event_class] = attr

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
