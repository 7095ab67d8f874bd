"""Rewriting stored events in place: only an erasure does it, to take a person's data out
of events stored before it was sealed (the log is otherwise append-only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier


def rewrite_states(recorder: Any, rows: Sequence[tuple[UUID, int, bytes]]) -> None:
    """Replace the stored state of each (originator id, version) in one transaction."""
    if not rows:
        return
    if isinstance(recorder, SQLiteAggregateRecorder):
        table = recorder.events_table_name  # the recorder's own table, not a caller's text
        with recorder.datastore.transaction(commit=True) as cursor:
            cursor.executemany(
                f"UPDATE {table} SET state = ? WHERE originator_id = ? "  # nosec B608
                "AND originator_version = ?",
                [(state, oid.hex, version) for oid, version, state in rows],
            )
    elif isinstance(recorder, PostgresAggregateRecorder):
        statement = SQL(
            "UPDATE {schema}.{table} SET state = %s WHERE originator_id = %s "
            "AND originator_version = %s"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        with recorder.datastore.transaction(commit=True) as cursor:
            cursor.executemany(statement, [(state, oid, version) for oid, version, state in rows])
    else:
        raise TypeError(f"cannot rewrite events in {type(recorder).__name__}")
