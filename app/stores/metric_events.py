"""Where the metrics event log lives: its own table beside the training events.

On PostgreSQL eventsourcing already names the table after the application
(`metrics_events`); its SQLite recorder always says `stored_events`, so this subclass
gives the metrics log its own table in the same file. A year of production figures then
never lengthens the log check-ins are projected from, and on PostgreSQL their appends do
not take the training events table's lock.
"""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

METRICS_EVENTS_TABLE = "metrics_events"


class SQLiteMetricsRecorder(SQLiteApplicationRecorder):
    """The SQLite application recorder, writing to `metrics_events`."""

    def __init__(
        self, datastore: SQLiteDatastore, events_table_name: str = METRICS_EVENTS_TABLE
    ) -> None:
        super().__init__(datastore, events_table_name)


def metrics_store_env(training_env: dict[str, str]) -> dict[str, str]:
    """The metrics application's environment: the training store's, with its own table."""
    env = dict(training_env)
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite":
        env["APPLICATION_RECORDER_TOPIC"] = f"{__name__}:SQLiteMetricsRecorder"
    return env
