"""The compliance matrix and the concurrent-sessions table in a real browser, both languages,
on the demo plant (loaded through the importer)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.demo import plant as demo
from tests.conftest import LiveServer
from tests.support.browser import SHOTS


@pytest.fixture
def backend() -> str:
    return "sqlite"


VIEWPORT = {"width": 1500, "height": 950}


def log_in(page: Page, server: LiveServer, path: str) -> None:
    page.goto(f"{server.url}/login?next={path}")
    page.fill("input[name=login]", "hr")
    page.fill("input[name=password]", "muster-hr")
    page.click("button[type=submit]")


def test_compliance_matrix_shows_each_person_against_required_courses(
    server: LiveServer, page: Page
) -> None:
    demo.load(server.muster, employees=120)
    assert server.muster.runner.wait_until_caught_up(60)
    log_in(page, server, "/compliance?org=SZ1-WELD")
    expect(page.locator("h1, .page-title")).to_contain_text("应训尽训矩阵")
    expect(page.locator("td.cell.overdue").first).to_be_visible()
    expect(page.locator("td.cell.done").first).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "compliance.png"), full_page=False)
    page.goto(f"{server.url}/compliance?org=SZ1-WELD&state=overdue&lang=en")
    expect(page.locator(".page-title")).to_contain_text("Training compliance")
    expect(page.locator("td.cell.overdue").first).to_contain_text("overdue")
    page.screenshot(path=str(SHOTS / "compliance-en.png"), full_page=False)


def test_concurrent_sessions_table_lists_the_day_by_hour(server: LiveServer, page: Page) -> None:
    demo.load(server.muster, employees=120)
    assert server.muster.runner.wait_until_caught_up(60)
    log_in(page, server, "/plans/concurrent")
    expect(page.locator(".page-title")).to_contain_text("同时培训任务表")
    expect(page.locator("h2 .slot").first).to_be_visible()
    expect(page.locator("td .ready").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "concurrent.png"), full_page=False)
    page.goto(f"{server.url}/plans/concurrent?lang=en")
    expect(page.locator(".page-title")).to_contain_text("Concurrent sessions")
    page.screenshot(path=str(SHOTS / "concurrent-en.png"), full_page=False)
