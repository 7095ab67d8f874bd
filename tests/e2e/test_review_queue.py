"""HR's anomaly review queue in a real browser (Debian chromium via Playwright): a hundred
anomalies made through the device API are cleared with the keyboard and bulk actions, and
the public API then shows every one of them resolved, by the reviewer, with a reason."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer, Plant
from tests.e2e.anomaly_support import (  # noqa: F401  (adapters: photos analysed inline)
    adapters,
    anomalies,
    badge_in,
    room_photo,
    staff_token,
    upload_photo,
)
from tests.support.browser import SHOTS

DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "review-queue.png"
PHOTOS = 95
SKEWED = 5


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the page reads the same query on both stores (test_anomalies)


def make_hundred_anomalies(server: LiveServer, plant: Plant, folder: Path) -> None:
    """95 room photos without a camera time, then 5 check-ins from a device whose clock is
    half an hour behind (after the photos, so no photo is short of people)."""
    now = datetime.now(UTC)
    for n in range(PHOTOS):
        bare = room_photo(folder, f"bare-{n}", taken=None, people=0, seed=n)
        upload_photo(server, plant.p1_token, bare, plant.session_id, now)
    for k in range(1, SKEWED + 1):
        badge_in(
            server,
            plant.p1_token,
            plant.session_id,
            plant.badges[f"E{k:02d}"],
            device_time=(now - timedelta(minutes=30)).isoformat(),
        )


def open_queue(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/review")
    expect(page).to_have_url(f"{server.url}/login?next=/review")
    page.fill("input[name=login]", "hr")
    page.fill("input[name=password]", "hr-password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/review")


def left(page: Page, n: int) -> None:
    expect(page.locator(f'#review-list[data-count="{n}"]')).to_have_count(1, timeout=15000)


def test_hr_clears_a_hundred_anomalies_with_keys_and_bulk_actions(
    page: Page,
    server: LiveServer,
    plant: Plant,
    rooms: Path,
) -> None:
    make_hundred_anomalies(server, plant, rooms)
    token = staff_token(server)
    assert len(anomalies(server, token, status="open")) == PHOTOS + SKEWED
    open_queue(page, server)
    left(page, 100)
    rows = page.locator(".review-row")
    expect(rows.first).to_contain_text("照片无拍摄时间")
    expect(rows.last).to_contain_text("设备时间与服务器不一致")
    expect(rows.last).to_contain_text("E05")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "review-queue-zh.png"))
    page.goto(f"{server.url}/review?lang=en")
    expect(rows.last).to_contain_text("Device clock differs from the server")
    page.locator(".review-row").nth(96).scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "review-queue-en.png"))
    page.goto(f"{server.url}/review")

    started = time.monotonic()
    # one at a time: c confirms the current row, d dismisses it, j/k move
    page.keyboard.press("c")
    left(page, 99)
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("d")
    left(page, 98)
    # a reason picked and a note written, then keys again
    page.select_option("#review-reason", "device_fault")
    page.fill("#review-note", "tablet camera set wrong")
    page.locator(".review-row").first.click(position={"x": 300, "y": 10})
    for n in range(97, 89, -1):
        page.keyboard.press("d")
        left(page, n)
    # bulk: x selects, j moves on; d dismisses every selected row at once
    remaining = 90
    while remaining > 10:
        for _ in range(20):
            page.keyboard.press("x")
            page.keyboard.press("j")
        page.keyboard.press("d")
        remaining -= 20
        left(page, remaining)
    # the last ten: select all, then the confirm button
    page.check("#select-all")
    page.click("#confirm-selected")
    left(page, 0)
    elapsed = time.monotonic() - started
    expect(page.locator("#review-list .empty")).to_be_visible()
    print(f"\nreviewed {PHOTOS + SKEWED} anomalies in {elapsed:.1f} s")
    assert elapsed < 600

    found = anomalies(server, token)
    assert len(found) == PHOTOS + SKEWED
    assert {a["status"] for a in found} == {"confirmed", "dismissed"}
    assert {a["resolution"]["resolved_by"] for a in found} == {"user:hr"}
    assert sum(a["status"] == "confirmed" for a in found) == 11
    reasons = [a["resolution"]["reason"] for a in found]
    assert all(reasons)
    assert sum(r == "Device fault or wrong clock — tablet camera set wrong" for r in reasons) == 98
