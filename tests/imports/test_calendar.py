"""An employee's own sessions for the phone page, and iCalendar feeds per person and unit."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer
from tests.e2e.test_api import login
from tests.imports.files import day
from tests.imports.test_import_api import hr_client, load_over_http


def test_an_employee_sees_their_sessions_and_a_calendar_opens_with_its_key(
    server: LiveServer,
) -> None:
    with hr_client(server) as hr:
        load_over_http(hr)
        org_feed = hr.get("/api/v1/calendar", params={"org": "W1"}).json()["calendar"]
    server.muster.app.add_user(
        "zhang", "employee", "T1", "test", password="zhang-password", employee_no="E1"
    )
    server.muster.runner.wait_until_caught_up(30)
    with login(server, "zhang", "zhang-password") as me:
        mine = me.get("/api/v1/me/sessions").json()
    assert [s["code"] for s in mine["sessions"]] == ["S2", "S1"]
    assert mine["sessions"][0]["my_status"] == "present"  # the imported paper record
    feed = httpx.get(server.url + mine["calendar"])
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    body = feed.text
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.count("BEGIN:VEVENT") == 2
    assert f"DTSTART:{day(1):%Y%m%d}T010000Z" in body and "SUMMARY:安全生产基础" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    unit = httpx.get(server.url + org_feed).text
    assert unit.count("BEGIN:VEVENT") == 2  # team T1 (under W1) is on S1 and S2
    forged = httpx.get(server.url + mine["calendar"].replace("key=", "key=0"))
    assert forged.status_code == 403
