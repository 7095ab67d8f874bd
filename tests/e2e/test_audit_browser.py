"""The auditor's pages in a real browser (Debian chromium): the trail of a session, then the
session as it stood when its first check-in came in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer, Plant
from tests.e2e.anomaly_support import badge_in, settle
from tests.e2e.test_photos import jpeg_with_exif, upload
from tests.support.browser import DOCS_SHOTS


@pytest.fixture
def backend() -> str:
    return "sqlite"


def log_in(page: Page, server: LiveServer, path: str) -> None:
    page.goto(f"{server.url}{path}")
    page.fill("input[name=login]", "auditor")
    page.fill("input[name=password]", "auditor-password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}{path.split('?')[0]}")  # the login keeps the path
    page.goto(f"{server.url}{path}")


@pytest.mark.browser
def test_an_auditor_browses_a_session_and_opens_it_as_it_stood(
    page: Page,
    server: LiveServer,
    plant: Plant,
) -> None:
    skewed = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    badge_in(server, plant.p1_token, plant.session_id, plant.badges["E01"], device_time=skewed)
    for employee in ("E02", "E09", "E15"):
        badge_in(server, plant.p1_token, plant.session_id, plant.badges[employee])
    settle(server.muster)
    log_in(page, server, "/audit?session=S-NOW")
    expect(page.locator('tr[data-event="AnomalyFlagged"]')).to_have_count(1)
    expect(page.locator('tr[data-event="EmployeeCheckedIn"]')).to_have_count(4)
    page.locator('tr[data-event="EmployeeCheckedIn"] details summary').last.click()
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / "audit-trail.png"), full_page=True)

    # the state just after the first check-in: one person in, the anomaly not yet raised
    first = page.locator('tr[data-event="EmployeeCheckedIn"]').last
    first.locator("a.as-of").click()
    expect(page.locator("#session-checked-in")).to_have_text("1/13")
    expect(page.locator("#plant-checked-in")).to_have_text("1")
    page.goto(page.url + "&lang=en")
    expect(page.locator("h1.as-of-heading")).to_contain_text("as it stood at")
    page.screenshot(path=str(DOCS_SHOTS / "audit-as-of-en.png"), full_page=True)

    # and now: four in, the clock anomaly open
    now = datetime.now(UTC).isoformat()
    page.goto(f"{server.url}/audit/as-of?session=S-NOW&at={now.replace('+', '%2B')}&lang=zh-CN")
    expect(page.locator("#session-checked-in")).to_have_text("4/13")
    expect(page.locator(".as-of-anomalies tr.anomaly-open")).to_have_count(1)
    # listed once: in the table of their status then, not again in the session's section
    expect(page.locator("#session-anomalies")).to_have_count(0)
    expect(page.locator(".session-page li[data-kind]")).to_have_count(0)
    page.screenshot(path=str(DOCS_SHOTS / "audit-as-of.png"), full_page=True)


@pytest.mark.browser
def test_the_evidence_page_says_the_original_was_deleted(
    page: Page,
    server: LiveServer,
    plant: Plant,
) -> None:
    stored = upload(server, plant.p1_token, jpeg_with_exif(), plant.session_id, str(uuid.uuid4()))
    photo_id = stored.json()["photo_id"]
    settle(server.muster)
    server.muster.retention.purge(datetime.now(UTC) + timedelta(days=365), "test")
    settle(server.muster)
    log_in(page, server, f"/photos/{photo_id}/evidence?lang=en")
    expect(page.locator("#photo-purged")).to_contain_text("deleted after the retention period")
    expect(page.locator(".frame img")).to_have_count(0)
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / "photo-purged-en.png"), full_page=True)
