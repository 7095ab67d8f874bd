"""What the settings say about this deployment's outside world: the event store's
environment, the read store, the bus, the signing key, the bus subjects and the schema lock.

Only `app.bootstrap.build` calls these (nothing else reads the settings), except
`settle_heap`, which a long-running process (`muster serve`, `demo`, `worker`) calls once
it is wired."""

from __future__ import annotations

import gc
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

from app.settings import Settings
from app.stores.base import ReadStore
from app.streams.bus import EventBus

#: events record the acting role and device or address (app.audit.context)
AUDITED_MAPPER = "app.audit.context:AuditedMapper"


def settle_heap() -> None:
    """Take what is alive once the process is wired (modules, the app, templates, caches)
    out of the cyclic garbage collector's full passes (`gc.freeze`).

    A full pass walks every tracked object of the process: ~110 ms on a quiet core right
    after a plant import, 1–2 s on a loaded one, landing inside whichever request happened
    to allocate at that moment (the conflict check's maximum: the figures in
    docs/benchmarks.md). Frozen objects are still freed by reference counting; only
    cycles among them wait for the process to end."""
    gc.collect()
    gc.freeze()


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment mapping, built in this one place."""
    if settings.store_kind == "sqlite":
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
            "MAPPER_TOPIC": AUDITED_MAPPER,
        }
    url = urlsplit(settings.store)
    return {
        # bounded writes: statement, lock and idle-in-transaction timeouts (FINDINGS.md)
        "PERSISTENCE_MODULE": "app.stores.pg_events:Factory",
        "MUSTER_STATEMENT_TIMEOUT": str(settings.write_timeout_s),
        "POSTGRES_LOCK_TIMEOUT": str(max(1, int(settings.write_timeout_s / 2))),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(int(settings.write_timeout_s * 2)),
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": settings.store_schema,
        # appends go through the one group-commit thread; the rest are aggregate reads
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "4",
        "MAPPER_TOPIC": AUDITED_MAPPER,
    }


def make_read_store(settings: Settings) -> ReadStore:
    if settings.store_kind == "sqlite":
        from app.stores.sqlite import SQLiteReadStore

        return SQLiteReadStore(settings.sqlite_path)
    from app.stores.postgres import PostgresReadStore

    return PostgresReadStore(settings.store, settings.store_schema)


def make_bus(settings: Settings) -> EventBus:
    if settings.bus.startswith("memory://"):
        from app.streams.memory import MemoryBus

        return MemoryBus()
    if settings.bus.startswith(("nats://", "tls://")):
        from app.streams.nats import NatsBus

        return NatsBus(settings.bus)
    raise ValueError(f"MUSTER_BUS must be memory:// or nats://host:port, not {settings.bus!r}")


def secret_key(settings: Settings) -> bytes:
    """The signing key: configured, or generated once and kept under `var/`."""
    if settings.secret_key:
        return settings.secret_key.encode()
    path: Path = settings.var_dir / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def live_subject(settings: Settings) -> str:
    """`muster.<namespace>.live.session`: the namespace keeps deployments apart on one NATS."""
    namespace = (
        settings.bus_namespace
        or hashlib.sha256(f"{settings.store}|{settings.store_schema}".encode()).hexdigest()[:12]
    )
    return f"muster.{namespace}.live.session"


def alert_subject(settings: Settings) -> str:
    """`muster.<namespace>.live.alert`: alert notices for the hubs (toasts)."""
    return live_subject(settings).removesuffix(".session") + ".alert"


def create_table(present: set[str], events_table: str) -> dict[str, str]:
    """Tell eventsourcing not to run its DDL when its table exists: `CREATE UNIQUE INDEX IF
    NOT EXISTS` on the events table waits behind any write holding the table's lock, and a
    starting process must not queue behind live traffic."""
    return {"CREATE_TABLE": "n"} if events_table in present else {}


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """On PostgreSQL: make sure the schema exists and hold an advisory lock while the caller
    creates tables. Web processes and the worker start together; concurrent `CREATE TABLE IF
    NOT EXISTS` of the same table fails in PostgreSQL ("duplicate key … pg_type")."""
    if settings.store_kind != "postgres":
        yield
        return
    import psycopg
    from psycopg import sql

    key = f"muster-schema:{settings.store_schema}"
    with psycopg.connect(settings.store, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
        try:
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(settings.store_schema)
                )
            )
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
