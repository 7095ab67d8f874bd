"""HR's live board in chromium on one web process of the scale-out shape (PostgreSQL, NATS
JetStream of the test's own, one `muster worker`, two `muster serve`) while NATS goes away:
a check-in on the other web process and an alert raised meanwhile show on the open page as
soon as NATS is back — the toast is not lost and the board catches up without a reload."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.bootstrap import Muster
from tests.conftest import Plant
from tests.e2e import test_scale_out
from tests.e2e.test_alert_pages import badge
from tests.e2e.test_scale_out_alerts import listed_alert, session_with_alert
from tests.services import NatsServer
from tests.support.browser import SHOTS

backend, cluster = test_scale_out.backend, test_scale_out.cluster


@pytest.fixture
def cluster_env(tmp_path: Path, pg_schema: str, own_nats: NatsServer) -> dict[str, str]:
    """A NATS server of the test's own; HR logs in on the page without enrolling in
    two-factor, as in the other browser tests (tests/security enrol)."""
    env = test_scale_out.scale_out_env(tmp_path, pg_schema, own_nats.url)
    return {**env, "MUSTER_TWO_FACTOR_ROLES": "[]"}


class WebProcess:
    """What `badge` needs of a server: its URL."""

    def __init__(self, url: str) -> None:
        self.url = url


def test_the_board_and_a_toast_catch_up_on_the_page_when_nats_is_back(
    cluster: tuple[Muster, Plant, list[str]], own_nats: NatsServer, page: Page
) -> None:
    admin, plant, (web_a, web_b) = cluster
    page.goto(f"{web_b}/live")
    page.fill("input[name=login]", "sz1")
    page.fill("input[name=password]", "sz1-password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{web_b}/live")
    row = page.locator(f"tr[data-session='{plant.session_id}']")
    expect(row).to_contain_text("0/13")

    own_nats.stop()
    badge(WebProcess(web_a), plant, "E04")  # type: ignore[arg-type]
    during = session_with_alert(admin, "S-DOWN")  # no_checkins to sz1, raised without NATS
    token = httpx.post(
        f"{web_b}/api/v1/auth/token", json={"login": "sz1", "password": "sz1-password"}
    ).json()["token"]
    listed_alert(web_b, token, during, 20)
    own_nats.start()

    toast = page.locator("#toasts .toast").filter(has_text="培训室D")
    expect(toast).to_have_count(1, timeout=15_000)
    expect(row).to_contain_text("1/13", timeout=15_000)
    expect(page.locator(f"tr[data-session='{during}']")).to_contain_text("开课后无人签到")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "live-board-after-nats-outage.png"), full_page=True)
