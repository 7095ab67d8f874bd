"""Anomalies shown live: flagged or resolved, they reach an open session page, photo evidence
page and wallboard without a reload (Debian chromium via Playwright, zh-CN and en). JSON clients'
messages are in `test_anomaly_messages`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer, Plant
from tests.e2e.anomaly_support import (  # noqa: F401  (adapters: a fixture)
    adapters,
    anomalies,
    room_photo,
    upload_photo,
)
from tests.e2e.test_anomaly_messages import dismiss, skewed_check_in
from tests.support.browser import DOCS_SHOTS


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the pages read the same queries on both stores


def open_live(page: Page, url: str) -> None:
    """Open a live page and wait for its first push (the snapshot): it is listening."""
    with page.expect_websocket() as opened:
        page.goto(url)
    opened.value.wait_for_event("framereceived", timeout=30_000)


def logged_in(browser: Browser, server: LiveServer, path: str, lang: str) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale=lang)
    page = context.new_page()
    page.goto(f"{server.url}/login?next=/")
    page.fill("input[name=login]", "hr")
    page.fill("input[name=password]", "hr-password")
    with page.expect_websocket() as landed:  # the wallboard's: then the next one is the page's
        page.click("button[type=submit]")
    landed.value.wait_for_event("framereceived", timeout=30_000)
    expect(page).to_have_url(f"{server.url}/plants/P1/wallboard")
    open_live(page, f"{server.url}{path}")
    return page


def test_the_session_page_shows_an_anomaly_as_it_is_flagged_and_resolved(
    browser: Browser, server: LiveServer, plant: Plant
) -> None:
    page = logged_in(browser, server, f"/sessions/{plant.session_id}", "zh-CN")
    expect(page.locator("#session-anomalies")).to_contain_text("暂无异常")
    skewed_check_in(server, plant, "E01")
    row = page.locator("#session-anomalies li[data-kind=device_clock_skew]")
    expect(row).to_contain_text("设备时间与服务器不一致", timeout=30_000)
    expect(row).to_contain_text("员工E01")
    expect(row).to_have_attribute("data-status", "open")
    page.screenshot(path=str(DOCS_SHOTS / "session-anomalies.png"), full_page=True)
    (flagged,) = anomalies(server)
    dismiss(server, flagged["id"], "平板时钟已校准")
    expect(row).to_have_attribute("data-status", "dismissed", timeout=30_000)
    expect(row).to_contain_text("已排除")
    page.context.close()


def test_the_wallboard_and_the_photo_page_show_a_photos_anomalies_live(
    browser: Browser, server: LiveServer, plant: Plant, rooms: Path
) -> None:
    """In English: a photo is stored for the session, its evidence page and the wallboard are
    open; the same photo is then used for another session (reused), and a photo without a
    camera time arrives: both show up on the pages without a reload."""
    now = datetime.now(UTC)
    photo = room_photo(rooms, "honest", taken=now, people=0, seed=41)
    photo_id = upload_photo(server, plant.p1_token, photo, plant.session_id, now)
    board = logged_in(browser, server, "/plants/P1/wallboard?lang=en", "en")
    expect(board.locator("#board-anomaly-list")).to_contain_text("No anomalies")
    evidence = board.context.new_page()
    open_live(evidence, f"{server.url}/photos/{photo_id}/evidence?session={plant.session_id}")
    expect(evidence.locator("#photo-anomalies")).to_contain_text("No anomalies")
    upload_photo(server, plant.p1_token, photo, plant.later_session_id, now)
    reused = evidence.locator("#photo-anomalies li[data-kind=photo_reused]")
    expect(reused).to_contain_text("Photo used again", timeout=30_000)
    evidence.screenshot(path=str(DOCS_SHOTS / "photo-evidence-anomalies-en.png"), full_page=True)
    bare = room_photo(rooms, "bare", taken=None, people=0, seed=42)
    upload_photo(server, plant.p1_token, bare, plant.session_id, now)
    listed = board.locator("#board-anomaly-list li[data-kind=photo_without_exif]")
    expect(listed).to_contain_text("Photo without a camera time", timeout=30_000)
    card = board.locator(f"#session-{plant.session_id} .anomaly-count")
    expect(card).to_have_text("1 open", timeout=30_000)
    board.screenshot(path=str(DOCS_SHOTS / "wallboard-anomalies-en.png"), full_page=True)
    board.context.close()
