"""What every import kind shares: rows read from a file, refusals per row, the plan it makes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from app.application import Training
from app.domain.conflicts import DEFAULT_TEAM_SHARE
from app.domain.ids import natural_id
from app.domain.rules import WindowPolicy
from app.services.planning import PlanningWindow
from app.stores.base import ReadStore


@dataclass(frozen=True)
class Column:
    """One column of an import file; `required` columns must exist and be filled."""

    name: str
    required: bool = False


@dataclass(frozen=True)
class Row:
    """One line of the file (`line` counts the header as line 1), values stripped."""

    line: int
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")

    def optional(self, column: str) -> str | None:
        return self.values.get(column) or None


@dataclass(frozen=True)
class Finding:
    """A refusal (error) or a remark (warning, e.g. a conflict) about one cell or line.

    `key` names the text in the catalogue (app/web/messages.toml, `import.*`), `params` fill it."""

    line: int
    column: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


class RowError(Exception):
    """Raised by the cell parsers; the planner records it for the row and moves on."""

    def __init__(self, column: str, key: str, **params: Any) -> None:
        super().__init__(key)
        self.column = column
        self.key = key
        self.params = params


@dataclass
class Plan:
    """What applying a file would do: aggregates with pending events (in save order), how many
    are new or changed, and every problem found. Applied only when `errors` is empty."""

    changed: list[Aggregate] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    def keep(self, aggregate: Aggregate, *, new: bool) -> None:
        """Count and keep `aggregate` if it has anything to save (unchanged rows add nothing)."""
        if new:
            self.created += 1
            self.changed.append(aggregate)
        elif aggregate.pending_events:
            self.updated += 1
            self.changed.append(aggregate)

    def error(self, line: int, column: str, key: str, /, **params: Any) -> None:
        self.errors.append(Finding(line, column, key, params))

    def warn(self, line: int, column: str, key: str, /, **params: Any) -> None:
        self.warnings.append(Finding(line, column, key, params))

    def refuse(self, line: int, err: RowError) -> None:
        """Record what a cell parser refused as an error on `line`."""
        self.error(line, err.column, err.key, **err.params)


Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass
class Context:
    """What a planner may look at: the event store (truth), the read models (for rosters
    and conflicts), who imports, and a progress callback (rows done, rows in all)."""

    app: Training
    store: ReadStore
    actor: str
    now: datetime
    policy: WindowPolicy = field(default_factory=WindowPolicy)
    progress: Progress | None = None
    #: the planning window of a stretch of time, to find the conflicts planned sessions
    #: would cause (remarks on their rows; they do not block the import)
    planning: Callable[[datetime, datetime], PlanningWindow] | None = None
    team_share: float = DEFAULT_TEAM_SHARE
    #: the metrics service (app.services.metrics), for kinds with their own event log
    metrics: Any = None
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    def get(self, kind: str, key: str) -> Any:
        """The aggregate `kind:key` from the event store, or None (each loaded once)."""
        if (kind, key) not in self._cache:
            self._cache[kind, key] = self.app.get_or_none(natural_id(kind, key))
        return self._cache[kind, key]

    def each(self, items: Sequence[T]) -> Iterator[T]:
        """The items (rows, codes) one by one, reporting progress every few hundred."""
        total = len(items)
        for n, item in enumerate(items):
            if self.progress is not None and n % 250 == 0:
                self.progress(n, total)
            yield item
        if self.progress is not None:
            self.progress(total, total)

    def each_first(self, rows: Sequence[Row], key: str, plan: Plan) -> Iterator[Row]:
        """The first row of each value in column `key`, one by one; a blank or repeated
        value is an error of `plan` (`first_lines`)."""
        return self.each(list(first_lines(rows, key, plan).values()))


@dataclass(frozen=True)
class ImportKind:
    """One kind of file: its columns and the function that turns rows into a plan."""

    name: str
    columns: tuple[Column, ...]
    plan: Callable[[Sequence[Row], Context], Plan]
    #: what the template's example line shows
    example: dict[str, str] = field(default_factory=dict)
    #: for kinds that keep their own event log (metrics): records a checked plan itself
    apply: Callable[[Plan, Context], None] | None = None
    #: for kinds with many rows: plans from the file's columns (`reader.Table`) instead of
    #: `plan`'s rows, with no object per row
    plan_table: Callable[[Any, Context], Plan] | None = None

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def columns(required: Sequence[str], optional: Sequence[str] = ()) -> tuple[Column, ...]:
    """A kind's columns in the file's order: the `required` ones, then the `optional` ones."""
    return (*(Column(n, required=True) for n in required), *(Column(n) for n in optional))


# -- cell parsers: raise RowError naming the column -------------------------------------------


def required(row: Row, column: str) -> str:
    value = row[column]
    if not value:
        raise RowError(column, "import.required")
    return value


def instant(row: Row, column: str) -> datetime | None:
    """An ISO 8601 time with its UTC offset (a bare local time is ambiguous across plants)."""
    value = row[column]
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RowError(column, "import.bad_time", value=value) from exc
    if parsed.tzinfo is None:
        raise RowError(column, "import.time_without_offset", value=value)
    return parsed


def day(row: Row, column: str) -> str | None:
    """An ISO date (YYYY-MM-DD), kept as text."""
    value = row[column]
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10] if "T" in value else value).isoformat()
    except ValueError as exc:
        raise RowError(column, "import.bad_date", value=value) from exc


def count(row: Row, column: str, *, minimum: int = 0) -> int | None:
    """A whole number ≥ `minimum` ("12" or "12.0" as spreadsheets write it)."""
    value = row[column]
    if not value:
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise RowError(column, "import.bad_number", value=value) from exc
    if not number.is_integer() or number < minimum:
        raise RowError(column, "import.bad_number", value=value)
    return int(number)


def codes(row: Row, column: str) -> list[str]:
    """Codes separated by `;` (blanks dropped, order kept, each once)."""
    return list(dict.fromkeys(c.strip() for c in row[column].split(";") if c.strip()))


def first_lines(rows: Sequence[Row], key: str, plan: Plan) -> dict[str, Row]:
    """Rows by their value in column `key`; a blank key or a second row with the same value
    is an error on that row."""
    seen: dict[str, Row] = {}
    for row in rows:
        value = row[key]
        if not value:
            plan.error(row.line, key, "import.required")
            continue
        if value in seen:
            plan.error(row.line, key, "import.duplicate", value=value, first=seen[value].line)
        else:
            seen[value] = row
    return seen
