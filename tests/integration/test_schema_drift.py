"""A read-model table made by an older version of its projection (here `device_contacts`
from before it had `session_id`): the next start makes it again and replays the log into it,
on real SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from app.adapters import Adapters
from app.bootstrap import build
from app.projections import schemas
from app.settings import Settings
from tests.conftest import load_plant
from tests.support.checkins import badge, check_in

OLD_DEVICE_CONTACTS = (
    "CREATE TABLE device_contacts (device_id TEXT NOT NULL, ref TEXT NOT NULL, "
    "server_time TEXT NOT NULL, device_time TEXT, device_seq BIGINT, queued INTEGER, "
    "PRIMARY KEY (device_id, ref))"
)


def contacts(muster: object) -> list[str]:
    rows = muster.store.fetch("SELECT session_id FROM device_contacts")  # type: ignore[attr-defined]
    return [r["session_id"] for r in rows]


def test_a_table_made_by_an_older_version_is_made_again_and_caught_up_on_start(
    settings: Settings, adapters: Adapters
) -> None:
    muster = build(settings, adapters)
    try:
        plant = load_plant(muster)
        check_in(muster, plant.p1_token, [badge(plant, "E01")])
        muster.runner.run_once()
        assert contacts(muster) == [plant.session_id]
        # as an older version left it
        muster.store.change_schema(["DROP TABLE device_contacts", OLD_DEVICE_CONTACTS])
        check_in(muster, plant.p1_token, [badge(plant, "E02")])
        with pytest.raises(Exception, match="session_id"):
            muster.runner.run_once()  # every round fails on the missing column
    finally:
        muster.close()
    restarted = build(settings, adapters)
    try:
        restarted.runner.run_once()
        assert contacts(restarted) == [plant.session_id] * 2  # both, replayed from the log
        present = restarted.store.fetch(
            "SELECT employee_no FROM attendance WHERE checkin_id IS NOT NULL ORDER BY 1"
        )
        assert [r["employee_no"] for r in present] == ["E01", "E02"]
        assert schemas.outdated(restarted.store, restarted.runner.projections) == ([], False)
    finally:
        restarted.close()
    again = build(settings, adapters)  # a start with nothing outdated replays nothing
    try:
        assert again.runner.position("device_contacts") == again.runner.head()
        with again.store.transaction() as tx:  # rows an older version's meaning wrote
            tx.execute(
                "INSERT INTO device_contacts (device_id, ref, session_id, server_time) "
                "VALUES ('old', 'old', 'old', 'old')"
            )
            tx.execute("UPDATE projection_schemas SET version = 0 WHERE name = 'device_contacts'")
    finally:
        again.close()
    bumped = build(settings, adapters)  # its recorded version differs: made again
    try:
        assert bumped.runner.position("device_contacts") == 0
        bumped.runner.run_once()
        assert contacts(bumped) == [plant.session_id] * 2
    finally:
        bumped.close()
