"""The kiosk and the room screen in a real browser (Debian chromium via Playwright), with a fake
camera that shows the astronaut: face, badge and manual check-in, room photos, and an offline
queue of 50 check-ins that each arrive exactly once when the network returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.domain.qr import qr_key, room_qr
from app.settings import Settings
from tests import faces
from tests.conftest import LiveServer, Plant, make_settings
from tests.support.browser import DOCS_SHOTS, chromium


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 5) -> None:
    """A still picture as a Y4M video, the format chromium's fake camera reads."""
    h, w = rgb.shape[:2]
    i420 = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + i420.tobytes())


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    camera = tmp_path_factory.mktemp("camera") / "astronaut.y4m"
    # the person fills the tablet's view, as someone standing at it does (a portrait pasted
    # on a flat grey wall is what liveness is for: an enrolment from it is refused)
    view = cv2.resize(faces.astronaut()[64:448], (960, 720), interpolation=cv2.INTER_CUBIC)
    write_y4m(camera, np.ascontiguousarray(view))
    with chromium(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}",
    ) as launched:
        yield launched


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    return make_settings(backend, tmp_path, pg_schema, vision_processes=0)


@pytest.fixture
def kiosk(browser: Browser, server: LiveServer, plant: Plant) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    context.grant_permissions(["camera"], origin=server.url)
    page = context.new_page()
    page.goto(f"{server.url}/kiosk#token={plant.p1_token}")
    expect(page.locator("#k-session")).to_have_text("安全生产基础")
    yield page
    context.close()


def test_kiosk_checks_in_by_badge_face_and_by_hand(
    kiosk: Page, server: LiveServer, plant: Plant
) -> None:
    page = kiosk
    page.keyboard.type("BADGE01")
    page.keyboard.press("Enter")
    expect(page.locator("#k-name")).to_have_text("员工E01")
    expect(page.locator("#k-message")).to_have_text("签到成功")
    # the session's first check-in here: a room photo is taken and stored
    expect(page.locator("#k-photo")).to_contain_text("已存储", timeout=10_000)

    page.click("#k-manual")
    page.click('#k-people button[data-employee="E02"]')
    page.click("#k-reasons button >> nth=0")
    expect(page.locator("#k-name")).to_have_text("员工E02")
    expect(page.locator("#k-message")).to_have_text("签到成功")

    enrolled = httpx.post(
        f"{server.url}/api/v1/face-enrolments",
        headers={"Authorization": f"Bearer {plant.p1_token}"},
        data={"employee_id": "E03", "consent": "true"},
        files=[("file", ("a.jpg", s, "image/jpeg")) for s in faces.astronaut_selfies()],
        timeout=60,
    )
    assert enrolled.status_code == 201
    page.click("#k-face")
    expect(page.locator("#k-name")).to_have_text("员工E03", timeout=20_000)
    expect(page.locator("#k-message")).to_have_text("签到成功")
    expect(page.locator("#k-count")).to_have_text("3/13", timeout=10_000)
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS_SHOTS / "kiosk.png"))
    methods = server.muster.store.fetch(
        "SELECT employee_no, method FROM attendance WHERE checkin_id IS NOT NULL "
        "ORDER BY employee_no"
    )
    assert [(r["employee_no"], r["method"]) for r in methods] == [
        ("E01", "badge"),
        ("E02", "manual"),
        ("E03", "face"),
    ]
    # the tablet writes when it took each photo into it, as a camera does
    assert server.muster.runner.wait_until_caught_up(10)
    photos = server.muster.store.fetch("SELECT kind, exif_time FROM photos")
    assert {p["kind"] for p in photos} == {"room", "selfie"}
    for p in photos:
        taken = datetime.fromisoformat(p["exif_time"])
        assert abs(taken - datetime.now(UTC)) < timedelta(minutes=2), p


def test_kiosk_enrols_a_face_after_consent(kiosk: Page, server: LiveServer) -> None:
    page = kiosk
    page.click("#k-enrol")
    page.click('#k-people button[data-employee="E05"]')
    expect(page.locator("#k-consent-text")).to_be_visible()
    page.screenshot(path=str(DOCS_SHOTS / "kiosk-consent.png"))
    page.click("#k-consent")
    expect(page.locator("#k-message")).to_have_text("人脸已录入", timeout=30_000)
    assert server.muster.faces.templates.consent_ref("E05") is not None


def test_fifty_check_ins_made_offline_each_arrive_exactly_once(
    kiosk: Page, server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    muster.app.hire_employees(
        [
            {
                "employee_no": f"X{n:02d}",
                "name": f"临时{n:02d}",
                "org_unit": "W1",
                "badge_uid": f"XB{n:02d}",
            }
            for n in range(1, 51)
        ],
        "test",
    )
    assert muster.runner.wait_until_caught_up(30)
    page = kiosk
    # polled from the test, not wait_for_function: the page's CSP forbids the eval it uses
    for _ in range(300):
        if page.evaluate("document.getElementById('k-video').videoWidth") > 0:
            break
        page.wait_for_timeout(100)
    else:
        pytest.fail("the kiosk camera never started")
    page.context.set_offline(True)
    expect(page.locator("#k-net")).to_have_text("离线")
    for n in range(1, 51):
        page.keyboard.type(f"XB{n:02d}")
        page.keyboard.press("Enter")
        expect(page.locator("#k-message")).to_have_text("已保存，待同步")
    # 50 check-ins and 4 room photos: the first check-in's, then one every 15 check-ins
    expect(page.locator("#k-queue")).to_have_text("待同步 54")
    queued = page.evaluate(
        "new Promise(r => { const o = indexedDB.open('muster-outbox-kiosk'); o.onsuccess = () => "
        "o.result.transaction('items').objectStore('items').getAll().onsuccess = e => "
        "r(e.target.result.map(i => i.kind)); })"
    )
    assert queued.count("checkin") == 50
    photos = queued.count("photo")
    assert photos == 4
    page.screenshot(path=str(DOCS_SHOTS / "kiosk-offline.png"))
    page.context.set_offline(False)
    expect(page.locator("#k-queue")).to_be_hidden(timeout=30_000)
    assert muster.runner.wait_until_caught_up(30)
    rows = muster.store.fetch(
        "SELECT employee_no, device_id FROM attendance "
        "WHERE session_id = :sid AND checkin_id IS NOT NULL",
        {"sid": plant.session_id},
    )
    assert sorted(r["employee_no"] for r in rows) == [f"X{n:02d}" for n in range(1, 51)]
    events = [
        n.topic.rsplit(".", 1)[1]
        for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
    ]
    assert events.count("EmployeeCheckedIn") == 50
    assert events.count("PhotoStored") + events.count("PhotoReused") == photos
    checked_in = [
        json.loads(n.state)
        for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.endswith(".EmployeeCheckedIn")
    ]
    sequence = [e["device_seq"] for e in checked_in]
    assert sequence == sorted(sequence) and len(set(sequence)) == 50  # synced in device order
    assert all("offline_sync" not in e["flags"] or e["device_time"] for e in checked_in)


def test_the_room_screen_shows_a_qr_that_changes(
    browser: Browser, server: LiveServer, plant: Plant
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{server.url}/login?next=/sessions/{plant.session_id}/qr")
    page.fill("input[name=login]", "hr")
    page.fill("input[name=password]", "hr-password")
    page.click("button[type=submit]")
    expect(page.locator(".qr-image svg")).to_be_visible()
    code = page.locator("#qr-code").inner_text().replace(" ", "")
    assert len(code) == 6 and code.isdigit()
    page.screenshot(path=str(DOCS_SHOTS / "room-qr.png"))
    expect(page.locator("#qr-code")).not_to_have_text(
        page.locator("#qr-code").inner_text(), timeout=25_000
    )
    context.close()


def test_phone_checks_in_with_the_typed_room_code(
    browser: Browser, server: LiveServer, plant: Plant
) -> None:
    context, page = phone_logged_in(browser, server, "E04", camera=False)
    code = room_qr(qr_key(server.muster.secret), plant.session_id, datetime.now(UTC)).code
    page.fill("#p-code", code)
    page.click("#p-code-form button[type=submit]")
    expect(page.locator("#p-name")).to_have_text("员工E04")
    expect(page.locator("#p-message")).to_have_text("签到成功")
    page.screenshot(path=str(DOCS_SHOTS / "phone.png"), full_page=True)
    phone_id = page.evaluate("localStorage.getItem('muster-phone-id')")
    assert server.muster.runner.wait_until_caught_up(10)
    row = server.muster.store.fetch_one(
        "SELECT phone_id FROM phone_checkins WHERE employee_no = 'E04'"
    )
    assert row is not None and row["phone_id"] == phone_id
    context.close()


#: a scanner that reads the QR the test put in front of it (Chromium on Linux has none)
FAKE_SCANNER = """
window.BarcodeDetector = class {
  async detect() {
    const seen = localStorage.getItem("test-qr-in-view");
    return seen ? [{ rawValue: seen }] : [];
  }
};
"""


def phone_logged_in(
    browser: Browser, server: LiveServer, employee_no: str, *, camera: bool = True
) -> tuple[BrowserContext, Page]:
    """The phone page (`/m`) on a phone-sized screen, logged in as a new employee login for
    `employee_no`; with `camera`, allowed the camera and given the fake QR scanner."""
    login = employee_no.lower()
    server.muster.app.add_user(
        login, "employee", "W1-T1", "test", password=f"{login}-pw", employee_no=employee_no
    )
    assert server.muster.runner.wait_until_caught_up(30)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    if camera:
        context.grant_permissions(["camera"], origin=server.url)
        context.add_init_script(FAKE_SCANNER)
    page = context.new_page()
    page.goto(f"{server.url}/m")
    page.fill("#p-login-form input[name=login]", login)
    page.fill("#p-login-form input[name=password]", f"{login}-pw")
    page.click("#p-login-form button[type=submit]")
    expect(page.locator("#p-who")).to_have_text(f"员工{employee_no} · {employee_no}")
    return context, page


def test_phone_queues_a_check_in_while_offline_and_sends_it_once_back_online(
    browser: Browser, server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    context, page = phone_logged_in(browser, server, "E05")
    context.set_offline(True)
    expect(page.locator("#p-net")).to_have_text("离线")
    qr = room_qr(qr_key(muster.secret), plant.session_id, datetime.now(UTC)).token
    page.evaluate(f"localStorage.setItem('test-qr-in-view', {json.dumps(qr)})")
    page.click("#p-scan")
    expect(page.locator("#p-message")).to_have_text("已保存，待同步")
    expect(page.locator("#p-queue")).to_have_text("待同步 1")
    page.evaluate("localStorage.removeItem('test-qr-in-view')")
    page.screenshot(path=str(DOCS_SHOTS / "phone-offline.png"), full_page=True)

    def checked_in() -> list[dict[str, object]]:
        assert muster.runner.wait_until_caught_up(30)
        return [
            json.loads(n.state)
            for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
            if n.topic.endswith(".EmployeeCheckedIn")
            and json.loads(n.state)["employee_no"] == "E05"
        ]

    assert checked_in() == []
    context.set_offline(False)
    expect(page.locator("#p-queue")).to_be_hidden(timeout=30_000)
    (event,) = checked_in()
    assert event["method"] == "qr" and event["actor"] == "user:e05"
    phone_id = page.evaluate("localStorage.getItem('muster-phone-id')")
    assert event["evidence"] == {"phone_id": phone_id}  # type: ignore[comparison-overlap]
    # back again later, and through another lapse of the network: nothing is sent twice
    page.reload()
    expect(page.locator("#p-who")).to_have_text("员工E05 · E05")
    context.set_offline(True)
    context.set_offline(False)
    page.wait_for_timeout(1500)
    assert len(checked_in()) == 1
    context.close()


def test_phone_shows_that_a_session_was_moved(
    browser: Browser, server: LiveServer, plant: Plant
) -> None:
    muster = server.muster
    muster.app.add_user("e06", "employee", "W1-T1", "test", password="e06-pw", employee_no="E06")
    later = muster.app.repository.get(UUID(plant.later_session_id))
    later.reschedule(later.starts_at, later.ends_at, "培训室C", "user:hr")
    muster.app.save(later)
    muster.notices.run_until_idle()
    assert muster.runner.wait_until_caught_up(30)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server.url}/m")
    page.fill("#p-login-form input[name=login]", "e06")
    page.fill("#p-login-form input[name=password]", "e06-pw")
    page.click("#p-login-form button[type=submit]")
    expect(page.locator("#p-notices-card h2")).to_have_text("您的培训有变动")
    expect(page.locator("#p-notices li.rescheduled")).to_contain_text("安全生产基础：改到")
    expect(page.locator("#p-notices li.rescheduled")).to_contain_text("培训室C")
    context.close()


def test_the_kiosk_lists_the_next_sessions_of_its_room(
    kiosk: Page, server: LiveServer, plant: Plant
) -> None:
    """Two more sessions planned in room A (and one called off): the tablet lists them under
    the current one, earliest first; the other room's session is not there."""
    muster, now = server.muster, datetime.now(UTC)
    roster = ["E01", "E02", "E03"]
    tomorrow = muster.app.schedule_session(
        "S-A-TOMORROW", "SAFE", "P1", "培训室A", "刘工",
        now + timedelta(days=1), now + timedelta(days=1, hours=1), roster, "test",
    )  # fmt: skip
    soon = muster.app.schedule_session(
        "S-A-SOON", "SAFE", "P1", "培训室A", "陈老师",
        now + timedelta(hours=2), now + timedelta(hours=3), roster[:2], "test",
    )  # fmt: skip
    off = muster.app.schedule_session(
        "S-A-OFF", "SAFE", "P1", "培训室A", "陈老师",
        now + timedelta(hours=5), now + timedelta(hours=6), roster, "test",
    )  # fmt: skip
    assert muster.planner.cancel(str(off), "讲师出差", "test")
    assert muster.runner.wait_until_caught_up(30)

    reply = httpx.get(
        f"{server.url}/api/v1/kiosk", headers={"Authorization": f"Bearer {plant.p1_token}"}
    )
    assert reply.status_code == 200, reply.text
    upcoming = reply.json()["upcoming"]
    assert [u["id"] for u in upcoming] == [str(soon), str(tomorrow)]
    assert [u["expected"] for u in upcoming] == [2, 3]
    assert reply.json()["session"]["id"] == plant.session_id  # the current one stays apart

    page = kiosk
    page.reload()
    items = page.locator("#k-upcoming li[data-session]")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("陈老师 · 2 人")
    expect(items.nth(1)).to_contain_text("刘工")
    page.screenshot(path=str(DOCS_SHOTS / "kiosk-upcoming.png"))
    page.goto(f"{server.url}/kiosk?lang=en")
    expect(page.locator("#k-upcoming-title")).to_have_text("Coming up in this room")
    expect(page.locator("#k-upcoming li[data-session]")).to_have_count(2)
