"""The HR live board, the alert inbox and the alert toast in a real browser (Debian chromium
through Playwright), in Chinese and English; screenshots go to var/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.bootstrap import Muster, build
from app.settings import Settings
from tests.conftest import LiveServer, Plant, fake_adapters, load_plant, serve
from tests.e2e import test_browser
from tests.e2e.anomaly_support import badge_in
from tests.e2e.test_alerts_live import schedule_late_soon
from tests.support.browser import SHOTS
from tests.support.clock import ManualClock

backend = test_browser.backend  # SQLite only: the pages are the same on both stores

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def plant(muster: Muster) -> Plant:
    """The plant with S-LATER two days on: the board of today (or of tomorrow, should the
    plant's midnight pass during the test) holds the sessions running now only, whatever the
    hour. A session later the same day is shown on a pinned clock below."""
    return load_plant(muster, later_in=timedelta(days=2))


def log_in_at(page: Page, server: LiveServer, path: str, login: str, password: str) -> None:
    page.goto(f"{server.url}{path}")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}{path}")


def badge(server: LiveServer, plant: Plant, *employees: str) -> None:
    """Plant 1's tablet checks `employees` in by badge to its running session."""
    for e in employees:
        badge_in(server, plant.p1_token, plant.session_id, plant.badges[e])


def test_hr_sees_every_session_of_the_day_and_narrows_to_a_department(
    server: LiveServer, plant: Plant, page: Page
) -> None:
    badge(server, plant, "E01", "E02", "E09")
    log_in_at(page, server, "/live", "hr", "hr-password")
    rows = page.locator(".live-table tbody tr")
    expect(rows).to_have_count(2)  # P1 now, P2 now
    now_row = page.locator(f"tr[data-session='{plant.session_id}']")
    expect(now_row).to_contain_text("3/13")
    expect(now_row).to_contain_text("进行中")
    expect(now_row.locator(".device.online")).to_have_count(1)  # the tablet just checked people in
    expect(page.locator(f"tr[data-session='{plant.later_session_id}']")).to_have_count(0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "live-board.png"), full_page=True)
    page.select_option("select[name=org]", "W1")
    page.click(".org-filter button")
    expect(page.locator(f"tr[data-session='{plant.session_id}']")).to_contain_text("2/8")
    people = page.locator(".people tbody tr")
    expect(people).to_have_count(8)  # W1's eight, in today's P1 session
    page.goto(f"{server.url}/live?org=W1&lang=en")
    expect(page.locator(".people h2")).to_have_text("Our people today")
    page.screenshot(path=str(SHOTS / "live-board-department-en.png"), full_page=True)


def test_a_department_head_gets_a_toast_and_finds_the_alert_in_the_inbox(
    server: LiveServer, plant: Plant, page: Page
) -> None:
    server.muster.app.add_user("w1head", "dept_head", "W1", "t", password="head-password")
    log_in_at(page, server, "/live", "w1head", "head-password")
    expect(page.locator(".live-table tbody tr")).to_have_count(1)  # P1's session only
    schedule_late_soon(server.muster)
    toast = page.locator("#toasts .toast").first
    expect(toast).to_be_visible(timeout=10_000)
    expect(toast).to_contain_text("部门签到率低")
    expect(toast).to_contain_text("员工E08")
    page.screenshot(path=str(SHOTS / "alert-toast.png"))
    page.goto(f"{server.url}/alerts")
    item = page.locator(".alert-item.open").first
    expect(item).to_contain_text("冲压车间")
    page.screenshot(path=str(SHOTS / "alert-inbox.png"), full_page=True)
    item.locator("button").click()
    expect(page.locator(".alert-item.acknowledged").first).to_contain_text("w1head")
    page.goto(f"{server.url}/alerts?lang=en")
    expect(page.locator(".alert-item").first).to_contain_text("Department check-in rate low")
    page.screenshot(path=str(SHOTS / "alert-inbox-en.png"), full_page=True)


def at(text: str) -> datetime:
    """An instant on the plant's wall clock."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
def night(settings: Settings) -> Iterator[tuple[LiveServer, ManualClock, dict[str, str]]]:
    """The app on a clock pinned at 23:50 in the plant, with sessions on both sides of its
    midnight."""
    clock = ManualClock(at("2027-03-14T23:50"))
    muster = build(settings, fake_adapters(), clock=clock)
    app = muster.app
    app.register_org_unit("G", "测试集团", "group", None, "t")
    app.register_org_unit("P1", "一厂", "plant", "G", "t")
    app.register_course("SAFE", "安全生产基础", "safety", 60, 12, "t")
    app.hire_employees([{"employee_no": "E01", "name": "员工E01", "org_unit": "P1"}], "t")
    times = {
        "YESTERDAY": ("2027-03-13T22:00", "2027-03-13T23:00"),
        "MORNING": ("2027-03-14T08:00", "2027-03-14T09:00"),
        "ACROSS": ("2027-03-14T23:30", "2027-03-15T00:30"),
        "LATE": ("2027-03-14T23:55", "2027-03-15T00:55"),
        "TOMORROW": ("2027-03-15T01:00", "2027-03-15T02:00"),
    }
    ids = {
        code: str(
            app.schedule_session(
                code, "SAFE", "P1", "培训室A", "陈老师", at(a), at(b), ["E01"], "t"
            )
        )
        for code, (a, b) in times.items()
    }
    app.add_user("hr", "hr", "G", "t", password="hr-password")
    assert muster.runner.wait_until_caught_up(30)
    try:
        with serve(muster) as server:
            yield server, clock, ids
    finally:
        muster.close()


def test_the_board_near_midnight_shows_the_plants_day_on_a_pinned_clock(
    night: tuple[LiveServer, ManualClock, dict[str, str]], page: Page
) -> None:
    server, clock, ids = night
    log_in_at(page, server, "/live", "hr", "hr-password")
    rows = page.locator(".live-table tbody tr")
    expect(rows).to_have_count(3)  # 23:50: the morning's, and the two that cross midnight
    for code, state in (("MORNING", "已结束"), ("ACROSS", "进行中"), ("LATE", "未开始")):
        expect(page.locator(f"tr[data-session='{ids[code]}']")).to_contain_text(state)
    clock.now = at("2027-03-15T00:10")
    page.goto(f"{server.url}/live")
    expect(rows).to_have_count(3)  # 00:10: a new day; the sessions crossing midnight stay
    for code, state in (("ACROSS", "进行中"), ("LATE", "进行中"), ("TOMORROW", "未开始")):
        expect(page.locator(f"tr[data-session='{ids[code]}']")).to_contain_text(state)


def test_the_sessions_api_lists_the_plants_day_by_default_near_midnight(
    night: tuple[LiveServer, ManualClock, dict[str, str]],
) -> None:
    """`GET /api/v1/sessions` without `from`: the plant's day, not the UTC day (which runs
    from 08:00 to 08:00 in the plant and held yesterday's morning session at 23:50)."""
    server, clock, ids = night
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "hr", "password": "hr-password"}
    )
    auth = {"Authorization": f"Bearer {reply.json()['token']}"}

    def listed() -> set[str]:
        found = httpx.get(f"{server.url}/api/v1/sessions", headers=auth).json()["sessions"]
        return {code for code, sid in ids.items() if sid in {s["id"] for s in found}}

    assert listed() == {"MORNING", "ACROSS", "LATE"}
    clock.now = at("2027-03-15T00:10")
    assert listed() == {"ACROSS", "LATE", "TOMORROW"}
    clock.now = at("2027-03-15T07:30")
    assert listed() == {"ACROSS", "LATE", "TOMORROW"}
