"""The audit trail: an export whose every byte is checked, who exported it, and as-of
replay that shows exactly what the views showed at that instant."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.audit.replay import views_as_of
from app.bootstrap import Muster, build
from app.cli import main
from app.projections import queries
from app.settings import Settings
from tests.conftest import Plant, load_plant
from tests.support.checkins import badge, check_in


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = f"sqlite:///{tmp_path / 'audit.db'}"
    muster = build(Settings(store=store, var_dir=tmp_path, secret_key="audit-test"))
    plant = load_plant(muster)
    check_in(muster, plant.p1_token, [badge(plant, "E01"), badge(plant, "E02")], lang="en")
    muster.runner.run_once()
    muster.close()
    monkeypatch.setenv("MUSTER_STORE", store)
    monkeypatch.setenv("MUSTER_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MUSTER_SECRET_KEY", "audit-test")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_an_export_verifies_and_one_changed_byte_is_found(env: Path) -> None:
    today = datetime.now(UTC).date().isoformat()
    out = env / "audit.jsonl"
    code, _, _ = run("export", "audit", "--from", today, "--to", today, "--out", str(out))
    assert code == 0
    lines = out.read_bytes().splitlines(keepends=True)
    events = [json.loads(line) for line in lines[1:-1]]
    assert any(e["event"] == "EmployeeCheckedIn" and e["via"] for e in events)
    assert all(e["actor"] for e in events)
    assert run("audit", "verify", str(out))[0] == 0

    target = len(lines) // 2
    spot = lines[target].index(b'"actor":"') + 10
    changed = bytearray(lines[target])
    changed[spot] = ord("X") if changed[spot] != ord("X") else ord("Y")
    tampered = env / "tampered.jsonl"
    tampered.write_bytes(b"".join([*lines[:target], bytes(changed), *lines[target + 1 :]]))
    code, _, err = run("audit", "verify", str(tampered))
    assert code != 0 and f"line {target + 1}:" in err

    cut = env / "cut.jsonl"
    cut.write_bytes(b"".join(lines[:-2]))
    code, _, err = run("audit", "verify", str(cut))
    assert code != 0 and f"line {len(lines) - 1}:" in err


def test_an_export_records_who_made_it(env: Path) -> None:
    today = datetime.now(UTC).date().isoformat()
    assert run("export", "audit", "--from", today, "--to", today, "--out", str(env / "a"))[0] == 0
    muster = build(Settings())
    try:
        exports = muster.app.recorder.select_notifications(
            start=1, limit=100_000, topics=["app.domain.audit:AuditExport.AuditExported"]
        )
        assert len(exports) == 1
        state = json.loads(exports[0].state)
        assert state["actor"].startswith("cli:") and state["period_from"].startswith(today)
    finally:
        muster.close()


def test_replay_as_of_shows_what_was_live_then(muster: Muster, plant: Plant) -> None:
    check_in(muster, plant.p1_token, [badge(plant, f"E0{n}") for n in (1, 2, 3)], lang="en")
    muster.runner.run_once()
    time.sleep(0.01)
    then = datetime.now(UTC)
    settings = muster.settings
    live = asyncio.run(
        queries.session_detail(
            muster.store, plant.session_id, then, muster.policy, settings.dept_alert_rate
        )
    )
    time.sleep(0.01)
    check_in(muster, plant.p1_token, [badge(plant, f"E0{n}") for n in (4, 5)], lang="en")
    muster.runner.run_once()

    replayed = asyncio.run(views_as_of(muster, then, plant.session_id))["session"]
    assert live is not None and replayed == live.unredacted
    now = asyncio.run(views_as_of(muster, datetime.now(UTC), plant.session_id))["session"]
    assert now["checked_in"] == replayed["checked_in"] + 2
