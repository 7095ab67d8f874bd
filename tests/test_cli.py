"""The `muster` command line against a real SQLite store."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.bootstrap import build
from app.cli import main
from app.settings import Settings
from tests.conftest import load_plant


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "MUSTER_STORE": f"sqlite:///{tmp_path / 'cli.db'}",
        "MUSTER_VAR_DIR": str(tmp_path),
        "MUSTER_SECRET_KEY": "cli-test-secret",
    }
    muster = build(Settings(store=values["MUSTER_STORE"], var_dir=tmp_path))
    load_plant(muster)
    muster.close()
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_users_add_prints_a_one_time_password_that_logs_in(env: dict[str, str]) -> None:
    out = run("users", "add", "zhang.hr", "--role", "hr", "--scope", "P1")
    password = re.search(r"one-time password: (\S+)", out)
    assert password is not None
    muster = build(Settings())
    try:
        from app.web.auth import check_password

        principal = check_password(muster, "zhang.hr", password.group(1))
        assert principal is not None and (principal.role, principal.scope) == ("hr", "P1")
        assert check_password(muster, "zhang.hr", "guess") is None
    finally:
        muster.close()


def test_users_add_refuses_an_unknown_scope(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["users", "add", "x", "--role", "hr", "--scope", "NOWHERE"])
    assert result.exit_code != 0 and "unknown org: NOWHERE" in result.output


def test_devices_add_prints_a_token_once_and_revoke_stops_it(env: dict[str, str]) -> None:
    out = run(
        "devices", "add", "tablet-9", "--room", "培训室C", "--plant", "P1", "--kind", "tablet"
    )
    token = re.search(r"token \(shown once\): (\S+)", out)
    assert token is not None
    muster = build(Settings())
    try:
        assert muster.checkins.authenticate_device(token.group(1)).name == "tablet-9"
    finally:
        muster.close()
    run("devices", "revoke", "tablet-9", "--reason", "丢失")
    muster = build(Settings())
    try:
        from app.domain.errors import DeviceNotRecognised

        with pytest.raises(DeviceNotRecognised):
            muster.checkins.authenticate_device(token.group(1))
    finally:
        muster.close()


def test_projections_status_and_rebuild(env: dict[str, str]) -> None:
    status = run("projections", "status")
    assert "directory" in status and "live_attendance" in status
    rebuilt = run("projections", "rebuild", "live_attendance")
    assert re.search(r"applied \d+ events", rebuilt)
    result = CliRunner().invoke(main, ["projections", "rebuild", "nonsense"])
    assert result.exit_code != 0 and "unknown projection" in result.output


def test_replay_of_an_unknown_session_is_an_error_not_null(env: dict[str, str]) -> None:
    muster = build(Settings())
    try:
        found = muster.store.fetch_one("SELECT id FROM sessions WHERE code = 'S-NOW'")
        assert found is not None
        session_id = found["id"]
    finally:
        muster.close()
    now = datetime.now(UTC).isoformat()
    shown = json.loads(run("replay", "--as-of", now, "--session", session_id))
    assert shown["session"]["id"] == session_id
    result = CliRunner().invoke(main, ["replay", "--as-of", now, "--session", "no-such-session"])
    assert result.exit_code != 0 and result.stdout == ""
    assert "unknown session: no-such-session" in result.stderr
    before = CliRunner().invoke(
        main, ["replay", "--as-of", "2001-01-01T00:00:00+00:00", "--session", session_id]
    )
    assert before.exit_code != 0 and "did not exist at 2001-01-01" in before.stderr
