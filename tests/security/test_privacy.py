"""Privacy: photo originals deleted after the retention period (the evidence stays and says
so), a person erased by deleting their key (the name is gone from the store, every count
still adds up after a rebuild), and every export recorded with who made it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from app.bootstrap import Muster, build
from app.cli import main
from app.domain.alerts import Alert
from app.domain.attendance import CheckInRejection
from app.domain.ids import natural_id
from app.domain.org import ERASED_NAME
from app.projections import queries
from app.services.photos import PhotoUpload
from app.services.retention import RetentionSchedule
from app.settings import Settings
from tests.conftest import LiveServer, Plant, load_plant
from tests.e2e.anomaly_support import badge_in, settle, staff_token
from tests.e2e.test_photos import jpeg_with_exif, upload

# -- photo retention -------------------------------------------------------------------------


def _events(muster: Muster, name: str) -> list[dict[str, Any]]:
    found = []
    for n in muster.app.recorder.select_notifications(start=1, limit=1_000_000):
        if n.topic.endswith("." + name):
            found.append(json.loads(n.state))
    return found


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_photo_originals_past_retention_are_deleted_and_the_evidence_says_so(
    server: LiveServer, plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    muster = server.muster
    reply = upload(server, plant.p1_token, jpeg_with_exif(), plant.session_id, str(uuid.uuid4()))
    assert reply.status_code == 201, reply.text
    photo_id = reply.json()["photo_id"]
    settle(muster)
    hr = {"Authorization": f"Bearer {staff_token(server)}"}
    assert httpx.get(f"{server.url}/photos/{photo_id}", headers=hr).status_code == 200
    before = httpx.get(f"{server.url}/api/v1/photos/{photo_id}", headers=hr).json()
    assert before["purged_at"] is None

    # not yet past the retention period: nothing goes
    kept = muster.retention.purge(datetime.now(UTC), "test")
    assert kept.photo_ids == [] and muster.photos.files.path(photo_id).exists()

    # the command, as an operator runs it (`--days 0`: everything uploaded before now)
    settings = muster.settings
    monkeypatch.setenv("MUSTER_STORE", settings.store)
    monkeypatch.setenv("MUSTER_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("MUSTER_SECRET_KEY", settings.secret_key)
    dry = CliRunner().invoke(main, ["privacy", "purge-photos", "--days", "0", "--dry-run"])
    assert dry.exit_code == 0 and "would delete 1 photo" in dry.stdout, dry.output
    assert muster.photos.files.path(photo_id).exists()
    done = CliRunner().invoke(main, ["privacy", "purge-photos", "--days", "0"])
    assert done.exit_code == 0 and "deleted 1 photo" in done.stdout, done.output
    assert not muster.photos.files.path(photo_id).exists()
    settle(muster)

    gone = httpx.get(f"{server.url}/photos/{photo_id}", headers=hr)
    assert gone.status_code == 410 and gone.json()["type"].endswith("/photo-purged")
    after = httpx.get(f"{server.url}/api/v1/photos/{photo_id}", headers=hr).json()
    assert after["purged_at"] is not None
    for kept_fact in ("exif_time", "phash", "detail_hash", "camera", "analysis", "status"):
        assert after[kept_fact] == before[kept_fact]
    page = httpx.get(f"{server.url}/photos/{photo_id}/evidence?lang=en", headers=hr)
    assert page.status_code == 200 and 'id="photo-purged"' in page.text
    assert "The original photo was deleted after the retention period" in page.text
    assert f'src="/photos/{photo_id}"' not in page.text
    session = httpx.get(f"{server.url}/sessions/{plant.session_id}", headers=hr).text
    assert "原图已删除" in session and f'src="/photos/{photo_id}"' not in session

    (purge,) = _events(muster, "PhotoOriginalPurged")
    assert purge["photo_id"] == photo_id and purge["actor"].startswith("cli:")
    again = CliRunner().invoke(main, ["privacy", "purge-photos", "--days", "0"])
    assert "deleted 0 photo" in again.stdout
    assert len(_events(muster, "PhotoOriginalPurged")) == 1


# -- erasure ---------------------------------------------------------------------------------

NAME, PHONE, EMAIL, BADGE = "张伟 Zhang Wei", "13800138000", "zhang.wei@example.com", "BADGE-ZW"
SECRETS = (NAME, PHONE, EMAIL, BADGE)
#: what the person's events held in plain text before names were sealed
OLD_NAME, OLD_PHONE = "张伟 Old Name", "13900000099"
TRACES = (*SECRETS, OLD_NAME, OLD_PHONE)


def _refused_badge(muster: Muster, plant: Plant, employee_no: str | None, n: int) -> None:
    """A check-in refused although it presented the person's badge."""
    muster.app.save(
        CheckInRejection(
            device_id=uuid.uuid4(),
            client_event_id=f"refused-{n}",
            session_id=uuid.UUID(plant.session_id),
            method="badge",
            presented=BADGE,
            reason="session_closed",
            rejected_at=datetime.now(UTC),
            device_time=None,
            device_seq=None,
            actor="device:test",
            flags=[],
            employee_no=employee_no,
        )
    )


def _absent_alert(muster: Muster, plant: Plant, n: int, *, numbered: bool) -> uuid.UUID:
    """A `dept_rate_low` alert naming the person among the absent (older alerts kept the
    names only)."""
    facts: dict[str, Any] = {"rate": 0.5, "threshold": 0.8, "missing": [NAME, "员工E03"]}
    if numbered:
        facts["missing_no"] = ["E99", "E03"]
    alert = Alert(
        key=f"dept_rate_low:W1:test-{n}",
        occurrence=1,
        rule="dept_rate_low",
        subject={"org_code": "W1", "session_id": plant.session_id},
        plant="P1",
        recipients=[],
        facts=facts,
        raised_at=datetime.now(UTC),
        actor="test",
    )
    muster.app.save(alert)
    return alert.id


def _before_sealing(muster: Muster, plant: Plant) -> None:
    """Events stored the way they were before names were sealed: plain text in the log."""
    mapper = muster.app.mapper
    people, mapper.people = mapper.people, None  # type: ignore[attr-defined]
    try:
        person = muster.app.repository.get(natural_id("employee", "E99"))
        person.change_details(
            name=OLD_NAME, phone=OLD_PHONE, email=None, hired_on=None, actor="test"
        )
        muster.app.save(person)
        _refused_badge(muster, plant, None, 1)  # older refusals did not keep whom they named
        _absent_alert(muster, plant, 1, numbered=False)
    finally:
        mapper.people = people  # type: ignore[attr-defined]


def _hire_the_person(muster: Muster) -> None:
    app = muster.app
    app.hire_employees(
        [{"employee_no": "E99", "name": NAME, "org_unit": "W1-T1", "badge_uid": BADGE}], "test"
    )
    person = app.repository.get(natural_id("employee", "E99"))
    person.change_details(name=NAME, phone=PHONE, email=EMAIL, hired_on=None, actor="test")
    app.save(person)


def _hire_the_person_again(muster: Muster) -> None:
    """Their current details, sealed again (after the plain ones of `_before_sealing`)."""
    person = muster.app.repository.get(natural_id("employee", "E99"))
    person.change_details(name=NAME, phone=PHONE, email=EMAIL, hired_on=None, actor="test")
    muster.app.save(person)


def _every_cell(muster: Muster) -> str:
    """Every row of every table of the read store, as text."""
    store = muster.store
    if store.kind == "sqlite":
        tables = [
            r["name"] for r in store.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
    else:
        tables = [
            r["tablename"]
            for r in store.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = :s",
                {"s": muster.settings.store_schema},
            )
        ]
    return "\n".join(str(store.fetch(f'SELECT * FROM "{t}"')) for t in tables)


def _counts(muster: Muster, plant: Plant) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        now = datetime.now(UTC)
        detail = await queries.session_detail(
            muster.store, plant.session_id, now, muster.policy, muster.settings.dept_alert_rate
        )
        board = await queries.plant_board(
            muster.store, "P1", now, muster.policy, muster.settings.dept_alert_rate
        )
        assert detail is not None
        view = detail.unredacted
        return {
            "session": {k: view[k] for k in ("expected", "checked_in", "walk_ins", "late")},
            "statuses": sorted((r["employee_no"], r["status"]) for r in view["roster"]),
            "board": (board["expected"], board["checked_in"], len(board["latest"])),
            "employees": muster.store.fetch("SELECT COUNT(*) AS n FROM employees")[0]["n"],
        }

    return asyncio.run(read())


def test_an_erased_person_is_gone_from_the_store_and_every_count_adds_up(
    server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    _hire_the_person(muster)
    settle(muster)
    for person in ("E01", "E02"):
        badge_in(server, plant.p1_token, plant.session_id, plant.badges[person])
    badge_in(server, plant.p1_token, plant.session_id, BADGE)  # a walk-in
    settle(muster)
    hr = {"Authorization": f"Bearer {staff_token(server)}"}
    shown = httpx.get(f"{server.url}/api/v1/sessions/{plant.session_id}/attendance", headers=hr)
    assert {"employee_no": "E99", "name": NAME} in [
        {k: r[k] for k in ("employee_no", "name")} for r in shown.json()["roster"]
    ]
    # sealed from the start: the event log itself never held the name
    raw = b"".join(
        n.state for n in muster.app.recorder.select_notifications(start=1, limit=1_000_000)
    )
    assert not [s for s in SECRETS if s.encode() in raw]
    # sealed too: a refusal that presented the badge, an alert naming the person as absent
    _refused_badge(muster, plant, "E99", 2)
    alert = _absent_alert(muster, plant, 2, numbered=True)
    assert muster.app.repository.get(alert).facts["missing"] == [NAME, "员工E03"]
    raw = b"".join(
        n.state for n in muster.app.recorder.select_notifications(start=1, limit=1_000_000)
    )
    assert not [s for s in SECRETS if s.encode() in raw]
    # and older events that hold the person in plain text
    _before_sealing(muster, plant)
    _hire_the_person_again(muster)
    settle(muster)
    before = _counts(muster, plant)

    erased = muster.erasure.erase("E99", "asked to be forgotten", "user:hr")
    assert erased.key_deleted and erased.plain_events == [] and erased.rewritten == 3
    muster.runner.wait_until_caught_up(30)
    muster.runner.stop()  # the operator's rebuild runs alone, as `muster privacy erase` does
    muster.runner.rebuild()
    muster.store.compact()
    muster.runner.start()

    everything = _every_cell(muster)
    assert [s for s in TRACES if s in everything] == []
    raw = b"".join(
        n.state for n in muster.app.recorder.select_notifications(start=1, limit=1_000_000)
    )
    assert [s for s in TRACES if s.encode() in raw] == []
    if muster.store.kind == "sqlite":
        path = muster.settings.sqlite_path
        files = [path, Path(f"{path}-wal")]
        disk = b"".join(f.read_bytes() for f in files if f.exists())
        assert [s for s in TRACES if s.encode() in disk] == []
    # the others named beside the person stay
    assert muster.app.repository.get(alert).facts["missing"] == [ERASED_NAME, "员工E03"]
    assert _counts(muster, plant) == before
    after = httpx.get(f"{server.url}/api/v1/sessions/{plant.session_id}/attendance", headers=hr)
    (row,) = [r for r in after.json()["roster"] if r["employee_no"] == "E99"]
    assert row["name"] == ERASED_NAME and row["status"] == "walk_in"
    (event,) = [e for e in _events(muster, "PersonErased")]
    assert event["employee_no"] == "E99" and event["actor"] == "user:hr"
    again = muster.erasure.erase("E99", "asked twice", "user:hr")
    assert not again.key_deleted and len(_events(muster, "PersonErased")) == 1


# -- exports ---------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_export_records_who_made_it(server: LiveServer, plant: Plant) -> None:
    hr = {"Authorization": f"Bearer {staff_token(server)}"}
    sheet = httpx.get(f"{server.url}/api/v1/compliance/export", params={"org": "P1"}, headers=hr)
    assert sheet.status_code == 200, sheet.text
    settle(server.muster)
    (export,) = _events(server.muster, "DataExported")
    assert export["kind"] == "compliance" and export["actor"] == "user:hr"
    assert export["scope"] == "P1" and export["query"] == {"org": "P1"}
    auditor = staff_token(server, "auditor", "auditor-password")
    trail = httpx.get(
        f"{server.url}/api/v1/audit/history",
        params={"event": "DataExported"},
        headers={"Authorization": f"Bearer {auditor}"},
    ).json()["entries"]
    assert [e["actor"] for e in trail] == ["user:hr"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_schedule_deletes_an_original_when_its_retention_period_ends(
    muster: Muster, plant: Plant
) -> None:
    upload = PhotoUpload(
        data=jpeg_with_exif(),
        session_id=plant.session_id,
        kind="room",
        client_event_id=str(uuid.uuid4()),
        device_time=None,
    )
    stored = asyncio.run(muster.photos.upload(plant.p1_token, upload))
    muster.runner.run_once()
    days = muster.settings.photo_retention_days
    moments = iter(
        [
            datetime.now(UTC) + timedelta(days=days - 1),
            datetime.now(UTC) + timedelta(days=days, minutes=1),
        ]
    )
    now = [next(moments)]
    schedule = RetentionSchedule(muster.retention, clock=lambda: now[0])
    due = schedule.run_once()
    assert due is not None and now[0] < due <= now[0] + timedelta(days=1, seconds=1)
    assert muster.photos.files.path(stored.photo_id).exists()
    now[0] = next(moments)
    schedule.run_once()
    assert not muster.photos.files.path(stored.photo_id).exists()
    muster.runner.run_once()
    (purge,) = _events(muster, "PhotoOriginalPurged")
    assert purge["actor"] == "retention" and purge["retention_days"] == days
    now[0] += timedelta(seconds=2)  # it looks again once the purge is in the read model
    assert schedule.run_once() is None  # nothing left to keep


def test_muster_privacy_erase_leaves_no_name_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = f"sqlite:///{tmp_path / 'erase.db'}"
    settings = {"store": store, "var_dir": tmp_path, "secret_key": "erase-test"}
    muster = build(Settings(**settings, vision_processes=0))  # type: ignore[arg-type]
    try:
        load_plant(muster)
        _hire_the_person(muster)
        muster.runner.run_once()
    finally:
        muster.close()
    for name, value in settings.items():
        monkeypatch.setenv(f"MUSTER_{name.upper()}", str(value))
    erased = CliRunner().invoke(main, ["privacy", "erase", "E99", "--reason", "asked"])
    assert erased.exit_code == 0 and "E99 erased (key deleted: yes" in erased.stdout, erased.output
    disk = b"".join(p.read_bytes() for p in tmp_path.glob("erase.db*"))
    assert [s for s in SECRETS if s.encode() in disk] == []
    unknown = CliRunner().invoke(main, ["privacy", "erase", "E404", "--reason", "asked"])
    assert unknown.exit_code != 0 and "unknown employee: E404" in unknown.output
