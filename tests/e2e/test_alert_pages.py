"""The HR live board, the alert inbox and the alert toast in a real browser (Debian chromium
through Playwright), in Chinese and English; screenshots go to var/screenshots/."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer, Plant
from tests.e2e import test_browser
from tests.e2e.test_alerts_live import schedule_late_soon
from tests.e2e.test_browser import SHOTS

# the browser tests' fixtures: one chromium per module, a fresh page each, SQLite only
backend, browser, page = test_browser.backend, test_browser.browser, test_browser.page


def log_in_at(page: Page, server: LiveServer, path: str, login: str, password: str) -> None:
    page.goto(f"{server.url}{path}")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}{path}")


def badge(server: LiveServer, plant: Plant, *employees: str) -> None:
    for e in employees:
        reply = httpx.post(
            f"{server.url}/api/v1/checkins",
            headers={"Authorization": f"Bearer {plant.p1_token}"},
            json={
                "client_event_id": str(uuid.uuid4()),
                "session_id": plant.session_id,
                "method": "badge",
                "badge_uid": plant.badges[e],
            },
        )
        assert reply.status_code == 201, reply.text


def test_hr_sees_every_session_of_the_day_and_narrows_to_a_department(
    server: LiveServer, plant: Plant, page: Page
) -> None:
    badge(server, plant, "E01", "E02", "E09")
    log_in_at(page, server, "/live", "hr", "hr-password")
    rows = page.locator(".live-table tbody tr")
    expect(rows).to_have_count(3)  # P1 now, P1 later, P2 now
    now_row = page.locator(f"tr[data-session='{plant.session_id}']")
    expect(now_row).to_contain_text("3/13")
    expect(now_row).to_contain_text("进行中")
    expect(now_row.locator(".device.online")).to_have_count(1)  # the tablet just checked people in
    expect(page.locator(f"tr[data-session='{plant.later_session_id}']")).to_contain_text("未开始")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "live-board.png"), full_page=True)
    page.select_option("select[name=org]", "W1")
    page.click(".org-filter button")
    expect(page.locator(f"tr[data-session='{plant.session_id}']")).to_contain_text("2/8")
    people = page.locator(".people tbody tr")
    expect(people).to_have_count(16)  # W1's eight, in both of today's P1 sessions
    page.goto(f"{server.url}/live?org=W1&lang=en")
    expect(page.locator(".people h2")).to_have_text("Our people today")
    page.screenshot(path=str(SHOTS / "live-board-department-en.png"), full_page=True)


def test_a_department_head_gets_a_toast_and_finds_the_alert_in_the_inbox(
    server: LiveServer, plant: Plant, page: Page
) -> None:
    server.muster.app.add_user("w1head", "dept_head", "W1", "t", password="head-password")
    log_in_at(page, server, "/live", "w1head", "head-password")
    expect(page.locator(".live-table tbody tr")).to_have_count(2)  # P1's sessions only
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
