"""`muster import KIND FILE [--dry-run]` on a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from tests.imports.files import PLANT


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MUSTER_STORE", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MUSTER_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MUSTER_SECRET_KEY", "cli-test-secret")
    return tmp_path


def test_import_applies_good_files_and_exits_zero(env: Path) -> None:
    for kind, text in PLANT.items():
        path = env / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(main, ["import", kind, str(path)])
        assert result.exit_code == 0, result.output
        assert "applied" in result.output
    again = CliRunner().invoke(main, ["import", "org", str(env / "org.csv")])
    assert "0 created, 0 updated" in again.output


def test_a_bad_file_exits_nonzero_and_names_each_row(env: Path) -> None:
    path = env / "org.csv"
    path.write_text("code,name,kind,parent_code\nA,甲,plant,\nB,乙,team,NOWHERE\n")
    result = CliRunner().invoke(main, ["import", "org", str(path), "--lang", "en"])
    assert result.exit_code == 1
    assert "line 3: parent_code: parent org unit “NOWHERE” exists neither" in result.output
    assert "NOT applied" in result.output
    dry = CliRunner().invoke(main, ["import", "org", str(path), "--dry-run"])
    assert dry.exit_code == 1 and "第 3 行" not in dry.output  # zh: "line 3: …不存在"
    assert "上级组织“NOWHERE”不存在" in dry.output
