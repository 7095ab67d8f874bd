"""A check-in the rules refuse, seen in a real browser (Debian chromium via Playwright): the
kiosk and the phone show the refusal and its reason, never a success, although the API
answers it as a reply (`201`, `"status": "rejected"`) rather than as a problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from app.domain.qr import qr_key, room_qr
from app.settings import Settings
from tests.conftest import LiveServer, Plant, make_settings
from tests.e2e.test_kiosk_browser import phone_logged_in
from tests.support.browser import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # chromium's own test pattern as the camera: nobody's face, which a badge does not need
    with chromium("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream") as b:
        yield b


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    return make_settings(backend, tmp_path, pg_schema, vision_processes=0)


def test_the_kiosk_shows_an_unknown_badge_as_refused_with_the_reason(
    browser: Browser, server: LiveServer, plant: Plant
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.grant_permissions(["camera"], origin=server.url)
    page = context.new_page()
    page.goto(f"{server.url}/kiosk#token={plant.p1_token}")
    expect(page.locator("#k-session")).to_have_text("安全生产基础")
    with page.expect_response("**/api/v1/checkins/batch") as sent:
        page.keyboard.type("NOBODY-HERE")
        page.keyboard.press("Enter")
    (answer,) = sent.value.json()["results"]
    assert answer["status"] == "rejected" and "type" not in answer
    expect(page.locator("#k-message")).to_have_text("无法识别的工牌，请联系培训讲师")
    expect(page.locator("#k-result")).to_have_class("k-result refused")
    expect(page.locator("#k-count")).to_have_text("0/13")
    # the badge that is known still checks in
    page.keyboard.type("BADGE01")
    page.keyboard.press("Enter")
    expect(page.locator("#k-message")).to_have_text("签到成功")
    context.close()


def test_the_phone_shows_a_check_in_too_early_as_refused_naming_the_person(
    browser: Browser, server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    context, page = phone_logged_in(browser, server, "E06")
    # a genuine QR of a session hours away: the person is known, the window is not open
    qr = room_qr(qr_key(muster.secret), plant.later_session_id, datetime.now(UTC)).token
    page.evaluate(f"localStorage.setItem('test-qr-in-view', {json.dumps(qr)})")
    page.click("#p-scan")
    expect(page.locator("#p-message")).to_have_text("签到尚未开始，请在开课前不久再签到")
    expect(page.locator("#p-result")).to_have_class("p-card p-result refused")
    expect(page.locator("#p-name")).to_have_text("员工E06")
    page.evaluate("localStorage.removeItem('test-qr-in-view')")
    assert muster.runner.wait_until_caught_up(30)
    kept = muster.store.fetch("SELECT reason FROM rejections")
    assert kept == [{"reason": "too_early"}]
    context.close()
