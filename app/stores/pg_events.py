"""The PostgreSQL event store with bounded writes (`PERSISTENCE_MODULE=app.stores.pg_events`).

eventsourcing's recorder locks the events table for each insert transaction, NOTIFYs
inside it and retries a failed insert up to ten times. Under a storm of large batches a
write stuck there held the table for minutes and every starting process queued behind it
(FINDINGS.md). Here every write transaction carries a `statement_timeout` and a name the
watchdog can find in `pg_stat_activity`, a failed insert is reported at once (the group
committer answers 503 and the device resends), and the wake-up NOTIFY is sent by the read
store after commit, outside the write.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Literal

#: the setting (seconds) bounding each statement of a write transaction
STATEMENT_TIMEOUT = "MUSTER_STATEMENT_TIMEOUT"


def writer_name(schema: str) -> str:
    """The `application_name` of this schema's write transactions."""
    return f"muster-writer:{schema}"[:63]


class BoundedRecorder(PostgresApplicationRecorder):
    """Inserts that fail fast instead of waiting or retrying."""

    statement_timeout_s: float = 10.0

    # A write is bounded by statement_timeout; retrying it ten times would multiply the wait.
    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__  # type: ignore[attr-defined]

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Any, **kwargs: Any) -> None:
        # The hook eventsourcing runs first inside the write transaction (pipelined).
        curs.execute(
            SQL("SET LOCAL statement_timeout = {}").format(
                Literal(f"{int(self.statement_timeout_s * 1000)}ms")
            )
        )
        curs.execute(
            SQL("SET LOCAL application_name = {}").format(
                Literal(writer_name(self.datastore.schema))
            )
        )

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        """No NOTIFY inside the write: the read store sends it after commit."""


class Factory(PostgresFactory):
    """eventsourcing's PostgreSQL factory with the bounded recorder."""

    application_recorder_class = BoundedRecorder

    def application_recorder(self) -> Any:
        recorder = super().application_recorder()
        recorder.statement_timeout_s = float(self.env.get(STATEMENT_TIMEOUT) or 10)
        return recorder
