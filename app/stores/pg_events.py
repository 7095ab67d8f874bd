"""The PostgreSQL event store with bounded writes (`PERSISTENCE_MODULE=app.stores.pg_events`).

eventsourcing's recorder locks the events table for each insert transaction, NOTIFYs
inside it, sends it in psycopg's pipeline mode and retries a failed insert up to ten
times. Under a storm of large batches a write stuck there held the table for minutes and
every starting process queued behind it (FINDINGS.md; the cause was psycopg's pipeline
mode, see `insert_events`). Here every write is a plain transaction that carries a
`statement_timeout` and a name the watchdog can find in `pg_stat_activity`, a failed
insert is reported at once (the group committer answers 503 and the device resends), and
the wake-up NOTIFY is sent by the read store after commit, outside the write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
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

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert in one plain transaction, not in psycopg's pipeline mode, and without
        eventsourcing's ten retries (a write is bounded by `statement_timeout`; retrying
        would multiply the wait).

        In pipeline mode psycopg (3.3.9, C and Python implementations alike) can stop
        flushing a large INSERT before all of it is sent and then wait for its result for
        ever: the server sits `active / ClientRead`, holding the events table's lock, and
        the client in `Pipeline.sync` (reproduced with a ~6 MB parameter: a 20,000-row
        import, or a storm of 1,000-item batches). The few extra round trips of a plain
        transaction cost well under a millisecond on a local server."""
        if not stored_events:
            return None
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._insert_events(curs, stored_events, **kwargs)
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Any, **kwargs: Any) -> None:
        # The hook eventsourcing runs first inside the write transaction: one round trip.
        curs.execute(
            SQL("SET LOCAL statement_timeout = {}; SET LOCAL application_name = {}").format(
                Literal(f"{int(self.statement_timeout_s * 1000)}ms"),
                Literal(writer_name(self.datastore.schema)),
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
