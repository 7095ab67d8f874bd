"""Where the metrics event log lives, and how a year of it is written fast.

Its own table beside the training events: on PostgreSQL eventsourcing already names the
table after the application (`metrics_events`); its SQLite recorder always says
`stored_events`, so the SQLite recorder here gives the metrics log its own table in the
same file. A year of production figures then never lengthens the log check-ins are
projected from, and on PostgreSQL their appends do not take the training events table's
lock.

A plant's nightly export is tens of thousands of first reports, so the writes are in bulk:
SQLite inserts a group with one `executemany`, PostgreSQL with one binary `COPY` under the
table lock eventsourcing takes (commit order stays notification order). First reports are
encoded straight to the JSON eventsourcing's transcoder writes (`first_report_events`), and
the log is read back with msgspec: the stored bytes are the same either way, so events
written before or by `Application.save` read back unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import JSONTranscoder, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from psycopg.sql import SQL, Identifier, Literal

from app.audit.context import ACTING
from app.domain.metrics import DailyMetrics
from app.stores.pg_events import BoundedRecorder, writer_name
from app.stores.sqlite import tune

METRICS_EVENTS_TABLE = "metrics_events"
#: the stored topic of a first report
RECORDED_TOPIC = f"{DailyMetrics.__module__}:{DailyMetrics.MetricsRecorded.__qualname__}"  # type: ignore[attr-defined]
_AGGREGATE_TOPIC = f"{DailyMetrics.__module__}:{DailyMetrics.__qualname__}"
#: PostgreSQL writes this many events or more with COPY, fewer with eventsourcing's insert
COPY_FROM = 500


class SQLiteMetricsRecorder(SQLiteApplicationRecorder):
    """The SQLite application recorder, writing to `metrics_events` with one executemany
    per group (notification ids are the rowids SQLite gives in insert order)."""

    def __init__(
        self, datastore: SQLiteDatastore, events_table_name: str = METRICS_EVENTS_TABLE
    ) -> None:
        super().__init__(datastore, events_table_name)

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        if len(stored_events) >= COPY_FROM:  # a group of an import: the read store's cache
            tune(c.sqlite_cursor.connection)
        c.executemany(
            self.insert_events_statement,
            [(s.originator_id.hex, s.originator_version, s.topic, s.state) for s in stored_events],  # type: ignore[union-attr]
        )


class PostgresMetricsRecorder(BoundedRecorder):
    """The bounded PostgreSQL recorder; large groups go in with one binary COPY."""

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        if len(stored_events) < COPY_FROM:
            super().insert_events(stored_events, **kwargs)
            return
        schema, table = Identifier(self.datastore.schema), Identifier(self.events_table_name)
        # get_connection turns a duplicate key into eventsourcing's IntegrityError
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
            timeout = f"{int(self.statement_timeout_s * 1000)}ms"
            cur.execute(SQL("SET LOCAL statement_timeout = {}").format(Literal(timeout)))
            cur.execute(
                SQL("SET LOCAL application_name = {}").format(
                    Literal(writer_name(self.datastore.schema))
                )
            )
            for statement in self.lock_table_statements:
                cur.execute(statement)
            copy_sql = SQL(
                "COPY {}.{} (originator_id, originator_version, topic, state) "
                "FROM STDIN (FORMAT BINARY)"
            ).format(schema, table)
            with cur.copy(copy_sql) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea"])
                for s in stored_events:
                    copy.write_row((s.originator_id, s.originator_version, s.topic, s.state))


class MsgspecJSONTranscoder(JSONTranscoder):
    """eventsourcing's JSON transcoder, decoding with msgspec (several times faster than
    `json` with an object hook). Encoding is left to `json`: its bytes are the format."""

    _decoder = msgspec.json.Decoder()

    def decode(self, data: bytes) -> Any:
        found = self._decoder.decode(data)
        if type(found) is not dict:
            return self._revive(found)
        for key, value in found.items():  # events are flat: few values hold containers
            if type(value) is dict or type(value) is list:
                found[key] = self._revive(value)
        return self._decode_obj(found)

    def _revive(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return self._decode_obj({k: self._revive(v) for k, v in value.items()})
        if kind is list:
            return [self._revive(v) for v in value]
        return value


_encoder = msgspec.json.Encoder()


def first_report_events(
    ids: Sequence[UUID],
    employee_nos: Sequence[str],
    days: Sequence[str],
    sources: Sequence[str],
    figures: Sequence[Sequence[float | None]],
    actor: str,
    at: datetime,
) -> list[StoredEvent]:
    """The stored `MetricsRecorded` events of records that do not exist yet, encoded as
    `Application.save` would encode `DailyMetrics.first_report` (without building the event
    objects: a year of a plant's figures is millions of them). `figures` holds the columns
    output_units, defects, hours. Like `app.audit.context.AuditedMapper` they carry the
    acting role and address of the request that sent them."""
    stamp = {"_type_": "datetime_iso", "_data_": at.isoformat()}
    acting = ACTING.get()
    extra = {} if acting is None else {"actor_role": acting.role, "via": acting.via}
    encode = _encoder.encode
    return [
        StoredEvent(
            originator_id=record,
            originator_version=1,
            topic=RECORDED_TOPIC,
            state=encode(
                {
                    "timestamp": stamp,
                    "originator_topic": _AGGREGATE_TOPIC,
                    "employee_no": no,
                    "day": day,
                    "source": source,
                    "output_units": output,
                    "defects": defects,
                    "hours": hours,
                    "actor": actor,
                    **extra,
                }
            ),
        )
        for record, no, day, source, output, defects, hours in zip(
            ids, employee_nos, days, sources, *figures, strict=True
        )
    ]


def metrics_store_env(training_env: dict[str, str]) -> dict[str, str]:
    """The metrics application's environment: the training store's, with its own table
    and the bulk-writing recorder."""
    env = dict(training_env)
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        env["APPLICATION_RECORDER_TOPIC"] = f"{__name__}:SQLiteMetricsRecorder"
    elif env.get("PERSISTENCE_MODULE", "").startswith("app.stores.pg_events"):
        env["APPLICATION_RECORDER_TOPIC"] = f"{__name__}:PostgresMetricsRecorder"
    return env
