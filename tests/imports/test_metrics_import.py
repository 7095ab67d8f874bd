"""`muster import metrics FILE`: figures in, re-imports change nothing, bad rows named."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.bootstrap import build
from app.cli import main
from app.settings import Settings
from tests.imports.files import PLANT

GOOD = """employee_no,date,output_units,defects,hours,source
E1,2026-11-02,812,9,8,mes
E1,2026-11-03,790,,8,mes
E2,2026-11-02,640,12,7.5,
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MUSTER_STORE", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MUSTER_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MUSTER_SECRET_KEY", "cli-test-secret")
    for kind in ("org", "positions", "courses", "employees"):
        path = tmp_path / f"{kind}.csv"
        path.write_text(PLANT[kind], encoding="utf-8")
        assert CliRunner().invoke(main, ["import", kind, str(path)]).exit_code == 0
    return tmp_path


def _import(env: Path, text: str, *args: str) -> tuple[int, str]:
    path = env / "metrics.csv"
    path.write_text("\ufeff" + text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", "metrics", str(path), "--lang", "en", *args])
    return result.exit_code, result.output.strip()


def test_metrics_import_records_figures_and_a_reimport_changes_nothing(env: Path) -> None:
    assert _import(env, GOOD) == (0, "metrics: 3 rows, 3 created, 0 updated — applied")
    assert _import(env, GOOD)[1].startswith("metrics: 3 rows, 0 created, 0 updated")
    corrected = GOOD.replace("E1,2026-11-03,790", "E1,2026-11-03,795")
    assert _import(env, corrected)[1].startswith("metrics: 3 rows, 0 created, 1 updated")
    muster = build(Settings())
    try:
        rows = muster.store.fetch(
            "SELECT employee_no, day, source, output_units, hours FROM metrics ORDER BY id"
        )
        assert len(rows) == 3
        assert {r["source"] for r in rows} == {"mes", "import"}
        history = muster.metrics.history("E1", "2026-11-03", "mes")
        assert [h["output_units"] for h in history] == [790, 795]
    finally:
        muster.close()


def test_a_bad_metrics_file_names_each_row_and_records_nothing(env: Path) -> None:
    bad = GOOD + "NOBODY,2026-11-02,5,,,mes\nE2,2026-02-30,5,,,mes\nE2,2026-11-04,5,9,,mes\n"
    bad += "E2,2026-11-05,lots,,,mes\n"
    code, output = _import(env, bad)
    assert code == 1
    assert "line 5: employee_no: no employee number “NOBODY”" in output
    assert "line 6: date: “2026-02-30” is not a date" in output
    assert "line 7: defects: more defects than output units" in output
    assert "line 8: output_units: “lots” is not a number" in output
    assert "NOT applied" in output
    muster = build(Settings())
    try:
        assert muster.store.fetch("SELECT id FROM metrics") == []
    finally:
        muster.close()
