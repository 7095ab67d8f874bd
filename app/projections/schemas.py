"""Read-model tables made by an older version of their projection. `CREATE TABLE IF NOT
EXISTS` leaves such a table as it was, and every round of the projection then fails on the
column it lacks. Read models are rebuilt from the log by design, so a projection whose table
no longer has the columns its DDL declares, or whose `schema_version` differs from the one
recorded when its tables were made, gets its tables dropped, made again and its checkpoint
set to zero: the runner then replays the log into them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from app.projections.base import Projection
from app.stores.base import ReadStore, Tx, iso

SCHEMAS_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_schemas (name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
)
TABLE = re.compile(r"^\s*CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\s*\((.*)\)\s*$", re.I | re.S)
#: the first words of a table constraint, which declares no column
CONSTRAINTS = {"primary", "unique", "foreign", "check", "constraint"}


def declared_columns(statement: str) -> tuple[str, set[str]] | None:
    """The table a `CREATE TABLE IF NOT EXISTS` statement makes and its columns; None for
    any other statement."""
    found = TABLE.match(statement)
    if found is None:
        return None
    parts, depth, current = [], 0, []
    for char in found.group(2):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    names = {p.split()[0].strip('"').lower() for p in parts if p.strip()}
    return found.group(1).lower(), names - CONSTRAINTS


def outdated(store: ReadStore, projections: Sequence[Projection]) -> tuple[list[Projection], bool]:
    """The projections whose tables must be made again, and whether any projection's version
    is not recorded yet (read from the catalogue: nothing is locked)."""
    present = store.columns()
    recorded: dict[str, int] = {}
    if "projection_schemas" in present:
        rows = store.fetch("SELECT name, version FROM projection_schemas")
        recorded = {r["name"]: int(r["version"]) for r in rows}
    stale = []
    for projection in projections:
        version = recorded.get(projection.name)
        drifted = any(
            table in present and present[table] != columns
            for table, columns in filter(None, map(declared_columns, projection.tables))
        )
        if drifted or (version is not None and version != projection.schema_version):
            stale.append(projection)
    unrecorded = any(
        recorded.get(p.name) != p.schema_version for p in projections if p not in stale
    )
    return stale, unrecorded


def replay_from_start(tx: Tx, projection: Projection) -> None:
    """Set `projection`'s checkpoint to the start of the log."""
    tx.execute(
        "UPDATE projection_tracking SET position = 0, updated_at = :at WHERE name = :name",
        {"name": projection.name, "at": iso(datetime.now(UTC))},
    )


def remake(projection: Projection) -> list[str]:
    """The statements that drop `projection`'s tables and make them as its DDL says."""
    # the table names are the projection's own constants
    drops = [f"DROP TABLE IF EXISTS {table}" for table in projection.owned_tables]  # nosec B608
    return [*drops, *projection.tables]


def record(tx: Tx, projections: Sequence[Projection]) -> None:
    """Note the schema version each projection's tables were made with."""
    tx.execute(SCHEMAS_DDL)
    for projection in projections:
        tx.execute(
            "INSERT INTO projection_schemas (name, version) VALUES (:name, :version) "
            "ON CONFLICT (name) DO UPDATE SET version = :version",
            {"name": projection.name, "version": projection.schema_version},
        )
