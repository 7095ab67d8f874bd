"""Several processes starting at once on a fresh PostgreSQL schema (systemd starts the web
processes and the worker together): every one of them comes up, none trips on another's DDL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_settings

STARTER = """
from app.bootstrap import build
from app.settings import Settings
muster = build(Settings())
print("up", muster.runner.head())
muster.close()
"""


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_processes_starting_together_on_a_fresh_schema_all_come_up(
    tmp_path: Path, pg_schema: str
) -> None:
    settings = make_settings("postgres", tmp_path, pg_schema)
    env = {
        "PATH": "/usr/bin:/bin",
        "MUSTER_STORE": settings.store,
        "MUSTER_STORE_SCHEMA": pg_schema,
        "MUSTER_SECRET_KEY": settings.secret_key,
        "MUSTER_VAR_DIR": str(tmp_path),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER],
            env=env,
            cwd=Path(__file__).parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    failures = [
        err.decode()[-600:] for (_, err), p in zip(results, procs, strict=True) if p.returncode
    ]
    assert failures == []
    assert [out.decode().splitlines()[-1] for out, _ in results] == ["up 0"] * 4


def test_a_wired_process_keeps_its_heap_out_of_full_collections() -> None:
    """`settle_heap` (what `muster serve`, `demo` and `worker` call once wired) freezes what
    is alive, so the collector's full passes walk only what is made afterwards."""
    import gc

    from app.deployment import settle_heap

    gc.unfreeze()
    try:
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, the app, the templates
        made_since = [[n] for n in range(100)]
        in_view = gc.get_objects()  # what a full pass walks now
        assert any(x is made_since[0] for x in in_view)
        assert len(in_view) < frozen
    finally:
        gc.unfreeze()
