"""Writes stay bounded under a stuck store and a storm (issue 24, finding 1).

The wedge seen on PostgreSQL was a write holding the events table's lock for minutes:
check-ins waited without an answer and starting processes queued behind it. Here a
session of our own holds that lock (or the insert sleeps), and everything must still be
answered in time, a new process must start, and check-ins must work again at once after.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from app.bootstrap import Muster, build
from app.stores.commit import Overloaded, WriteFailed, WriteUnavailable
from tests.conftest import Plant, load_plant, make_settings
from tests.integration.test_checkin_service import stored_attendance
from tests.services import PG_DSN
from tests.support.checkins import acheck_in, badge, check_in

postgres_only = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest.fixture
def bounded(backend: str, tmp_path: Path, pg_schema: str) -> Iterator[Muster]:
    wired = build(
        make_settings(backend, tmp_path, pg_schema, write_timeout_s=2.0, commit_max_queued=3000)
    )
    yield wired
    wired.close()


@pytest.fixture
def stocked(bounded: Muster) -> Plant:
    return load_plant(bounded)


def answered_within(seconds: float, muster: Muster, token: str, items: list) -> list:
    async def go() -> list:
        return await asyncio.wait_for(acheck_in(muster, token, items), seconds)

    return asyncio.run(go())


@postgres_only
def test_a_held_events_lock_is_answered_503_and_a_new_process_still_starts(
    bounded: Muster, stocked: Plant, pg_schema: str, tmp_path: Path
) -> None:
    holder = psycopg.connect(PG_DSN)
    holder.execute(
        sql.SQL("LOCK TABLE {}.training_events IN EXCLUSIVE MODE").format(sql.Identifier(pg_schema))
    )
    try:
        started = time.monotonic()
        with pytest.raises(WriteFailed) as refused:
            answered_within(10, bounded, stocked.p1_token, [badge(stocked, "E01")])
        assert time.monotonic() - started < 6
        assert refused.value.retry_after_s >= 1
        # a second web node or `muster projections status` starts while the lock is held
        other = make_settings("postgres", tmp_path / "other", pg_schema)
        done = threading.Event()
        threading.Thread(target=lambda: (build(other).close(), done.set()), daemon=True).start()
        assert done.wait(20), "a new process queued behind the held lock"
    finally:
        holder.close()
    started = time.monotonic()
    (answer,) = answered_within(5, bounded, stocked.p1_token, [badge(stocked, "E01")])
    assert answer.status_code == 201 and time.monotonic() - started < 5
    assert stored_attendance(bounded) == 1


@postgres_only
def test_an_insert_that_hangs_is_cancelled_and_answered_503(
    bounded: Muster, stocked: Plant, pg_schema: str
) -> None:
    schema = sql.Identifier(pg_schema)
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE FUNCTION {}.hang() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$"
            ).format(schema)
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER hang BEFORE INSERT ON {}.training_events "
                "FOR EACH STATEMENT EXECUTE FUNCTION {}.hang()"
            ).format(schema, schema)
        )
    started = time.monotonic()
    with pytest.raises(WriteFailed):
        answered_within(10, bounded, stocked.p1_token, [badge(stocked, "E02")])
    assert time.monotonic() - started < 6
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TRIGGER hang ON {}.training_events").format(schema))
    (answer,) = answered_within(5, bounded, stocked.p1_token, [badge(stocked, "E02")])
    assert answer.status_code == 201
    assert stored_attendance(bounded) == 1


def test_a_storm_of_batches_is_answered_in_time_and_nothing_acknowledged_is_lost(
    bounded: Muster, stocked: Plant
) -> None:
    sid = stocked.session_id

    def batch(n: int) -> list[dict]:
        return [
            {
                "client_event_id": f"storm-{n}-{i}",
                "session_id": sid,
                "method": "badge",
                "badge_uid": f"STRANGER-{n}-{i}",  # each one a new record: a refusal kept
            }
            for i in range(1000)
        ]

    async def storm() -> list:
        async def one(n: int) -> object:
            try:
                return await asyncio.wait_for(
                    acheck_in(bounded, stocked.p1_token, batch(n), offline=True), 10
                )
            except WriteUnavailable as busy:
                return busy

        return await asyncio.gather(*(one(n) for n in range(12)))

    answers = asyncio.run(storm())
    shed = [a for a in answers if isinstance(a, Overloaded)]
    taken = [a for a in answers if isinstance(a, list)]
    assert shed, "a storm bigger than the queue must be turned away, not queued"
    assert taken and all(isinstance(a, (list, WriteUnavailable)) for a in answers)
    assert all(
        r.status_code == 201 and r.body["status"] == "rejected" and r.body["checkin_id"]
        for a in taken
        for r in a
    )
    kept = sum(
        1
        for n in bounded.app.recorder.select_notifications(start=1, limit=1_000_000)
        if n.topic.endswith("CheckInRejected")
    )
    assert kept == 1000 * len(taken)  # every acknowledged refusal is stored, nothing more
    started = time.monotonic()
    (after,) = check_in(bounded, stocked.p1_token, [badge(stocked, "E20", cei=str(uuid.uuid4()))])
    assert after.status_code in (200, 201) and time.monotonic() - started < 5


@postgres_only
def test_an_import_of_thirty_thousand_people_is_one_transaction_that_completes(
    bounded: Muster,
) -> None:
    """One large write (several MB of events) used to hang for ever in psycopg's pipeline
    mode with the events table locked; it is a plain transaction now and completes."""
    from tests.imports.files import ORG

    assert bounded.imports.run("org", ORG.encode(), actor="test").applied
    rows = ["employee_no,name,org_code,badge_uid"] + [
        f"N{n:05d},新员工{n:05d},T1,NB{n:05d}" for n in range(30_000)
    ]
    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(
            bounded.imports.run("employees", "\n".join(rows).encode(), actor="test")
        ),
        daemon=True,
    )
    worker.start()
    worker.join(90)
    assert outcome, "the import never finished"
    assert outcome[0].applied  # type: ignore[attr-defined]
    assert bounded.runner.wait_until_caught_up(60)
    counted = bounded.store.fetch_one("SELECT count(*) AS n FROM employees")
    assert counted is not None and counted["n"] == 30_000
