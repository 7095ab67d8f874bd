"""The HR live board and the alert toasts in a real browser (Debian chromium): the board is
pushed over `/ws/live` like the wallboard — it moves when someone checks in and never asks
the server again by itself — and a toast raised while no page of the tab was connected shows
on the next page (the inbox socket says what it saw last: `?since=`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Page, Request, expect

from app.bootstrap import Muster
from tests.conftest import LiveServer, Plant
from tests.e2e import test_browser
from tests.e2e.test_alert_pages import badge, log_in_at
from tests.support.browser import SHOTS

# the browser tests' fixtures: one chromium per module, a fresh page each, SQLite only
backend = test_browser.backend  # SQLite only: the pages are the same on both stores


def quiet_session(muster: Muster, code: str, room: str) -> str:
    """A session in P1 that started 10 minutes ago with nobody checked in: `no_checkins`
    goes to P1's HR (sz1)."""
    starts = datetime.now(UTC) - timedelta(minutes=10)
    roster = [f"E{n:02d}" for n in range(1, 9)]
    sid = muster.app.schedule_session(
        code, "SAFE", "P1", room, "陈老师", starts, starts + timedelta(hours=1), roster, "t"
    )
    return str(sid)


def wait_listed(server: LiveServer, session_id: str) -> None:
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "sz1", "password": "sz1-password"}
    ).json()["token"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listed = httpx.get(
            f"{server.url}/api/v1/alerts?rule=no_checkins",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["alerts"]
        if any(a["subject"]["session_id"] == session_id for a in listed):
            return
        time.sleep(0.1)
    raise AssertionError("the alert was not raised")


def test_the_hr_board_moves_when_someone_checks_in_without_polling(
    server: LiveServer, plant: Plant, page: Page
) -> None:
    log_in_at(page, server, "/live", "hr", "hr-password")
    row = page.locator(f"tr[data-session='{plant.session_id}']")
    expect(row).to_contain_text("0/13")
    asked: list[str] = []

    def on_request(request: Request) -> None:
        if "/ws/" not in request.url:
            asked.append(request.url)

    page.on("request", on_request)
    badge(server, plant, "E01", "E02")
    expect(row).to_contain_text("2/13", timeout=5_000)
    expect(page.locator("#live-status")).to_have_text("实时")
    page.wait_for_timeout(6_000)  # longer than the old refresh period: nothing is asked for
    assert asked == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "live-board-pushed.png"), full_page=True)

    # a department head's board (their people only) moves too, in English
    server.muster.app.add_user("w1head", "dept_head", "W1", "t", password="head-password")
    page.context.clear_cookies()
    log_in_at(page, server, "/live", "w1head", "head-password")
    page.goto(f"{server.url}/live?lang=en")
    mine = page.locator(f"tr[data-session='{plant.session_id}']")
    expect(mine).to_contain_text("2/8")
    badge(server, plant, "E03")
    expect(mine).to_contain_text("3/8", timeout=5_000)
    expect(page.locator("#live-status")).to_have_text("Live")


def test_a_toast_raised_while_no_page_was_open_shows_on_the_next_page(
    server: LiveServer, plant: Plant, page: Page
) -> None:
    log_in_at(page, server, "/live", "sz1", "sz1-password")
    quiet_session(server.muster, "S-QUIET-1", "培训室D")
    toasts = page.locator("#toasts .toast")
    expect(toasts.filter(has_text="培训室D")).to_have_count(1, timeout=10_000)

    page.goto("about:blank")  # the tab is elsewhere: no socket
    missed = quiet_session(server.muster, "S-QUIET-2", "培训室E")
    wait_listed(server, missed)

    page.goto(f"{server.url}/live")
    expect(toasts.filter(has_text="培训室E")).to_have_count(1, timeout=10_000)
    expect(toasts.filter(has_text="培训室D")).to_have_count(0)  # shown before: not again
    page.screenshot(path=str(SHOTS / "alert-toast-caught-up.png"))
