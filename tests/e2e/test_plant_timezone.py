"""Pages show times in the plant's clock as the settings name it (`plant_timezone`), the same
clock the API's days begin in: a plant elsewhere sees its own wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.bootstrap import build
from tests.conftest import fake_adapters, make_settings, serve


@pytest.fixture
def backend() -> str:
    return "sqlite"  # what a page shows is rendered in the web layer, the same on both stores


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/Chicago"])
def test_the_session_page_shows_its_times_on_the_plants_own_clock(
    tmp_path: Path, pg_schema: str, zone: str
) -> None:
    muster = build(
        make_settings("sqlite", tmp_path, pg_schema, plant_timezone=zone), fake_adapters()
    )
    app = muster.app
    app.register_org_unit("G", "测试集团", "group", None, "t")
    app.register_org_unit("P1", "一厂", "plant", "G", "t")
    app.register_course("SAFE", "安全生产基础", "safety", 60, 12, "t")
    app.hire_employees([{"employee_no": "E01", "name": "员工E01", "org_unit": "P1"}], "t")
    starts = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=2)
    ends = starts + timedelta(minutes=45)
    session = app.schedule_session(
        "SAFE-1", "SAFE", "P1", "培训室A", "陈老师", starts, ends, ["E01"], "t"
    )
    app.add_user("hr", "hr", "G", "t", password="hr-password")
    assert muster.runner.wait_until_caught_up(30)
    try:
        with serve(muster) as server:
            login = httpx.post(
                f"{server.url}/login",
                data={"login": "hr", "password": "hr-password"},
                headers={"Origin": server.url},
            )
            cookie = {"muster_session": str(login.cookies["muster_session"])}
            page = httpx.get(f"{server.url}/sessions/{session}", cookies=cookie)
    finally:
        muster.close()
    assert page.status_code == 200, page.text
    local = ZoneInfo(zone)
    shown = f"{starts.astimezone(local):%H:%M}–{ends.astimezone(local):%H:%M}"
    assert shown in page.text
    # the other zones' wall clocks (each hours apart from this one) are not what it shows
    for other in {"Asia/Shanghai", "Europe/Berlin", "America/Chicago"} - {zone}:
        there = ZoneInfo(other)
        assert f"{starts.astimezone(there):%H:%M}–{ends.astimezone(there):%H:%M}" not in page.text
