"""The wallboard in a real browser (Debian chromium driven by Playwright): it logs in,
shows the plant, and moves when someone checks in — without a reload."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.conftest import LiveServer, Plant
from tests.support.browser import SHOTS


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the browser sees the same HTML on both stores; the API tests cover both


def log_in(page: Page, server: LiveServer, login: str, password: str) -> None:
    page.goto(f"{server.url}/plants/P1/wallboard")
    expect(page).to_have_url(f"{server.url}/login?next=/plants/P1/wallboard")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/plants/P1/wallboard")


def check_in(server: LiveServer, plant: Plant, *employees: str) -> None:
    items = [
        {
            "client_event_id": str(uuid.uuid4()),
            "session_id": plant.session_id,
            "method": "badge",
            "badge_uid": plant.badges[e],
        }
        for e in employees
    ]
    reply = httpx.post(
        f"{server.url}/api/v1/checkins/batch",
        json={"items": items},
        headers={"Authorization": f"Bearer {plant.p1_token}"},
    )
    assert reply.status_code == 200


def test_wallboard_moves_on_check_in_without_reload(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    log_in(page, server, "hr", "hr-password")
    card = page.locator(f"#session-{plant.session_id}")
    expect(card.locator(".checked-in")).to_have_text("0/13")
    expect(page.locator("#live-status")).to_have_text("实时")
    page.evaluate("window.__notReloaded = true")
    check_in(server, plant, "E01", "E02", "E09")
    expect(card.locator(".checked-in")).to_have_text("3/13", timeout=3000)
    expect(page.locator("#board-latest li")).to_have_count(3)
    expect(page.locator("#board-latest")).to_contain_text("员工E09")
    assert page.evaluate("window.__notReloaded") is True
    # Departments: 冲压车间 has 8 on the roster, 总装车间 4, and E15 of 注塑车间 trains here.
    rows = page.locator("#board-departments tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('tr[data-dept="W1"]')).to_contain_text("2/8")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "wallboard.png"), full_page=True)


def test_department_below_80_percent_after_the_late_mark_is_red(
    page: Page, server: LiveServer
) -> None:
    from tests.conftest import load_plant

    plant = load_plant(server.muster, started_minutes_ago=15)  # past the 10-minute late mark
    check_in(server, plant, *[f"E{n:02d}" for n in range(1, 9)], "E09")  # W1 all in, W2 1 of 4
    log_in(page, server, "hr", "hr-password")
    expect(page.locator('tr[data-dept="W1"]')).not_to_have_class("below")
    expect(page.locator('tr[data-dept="W2"]')).to_have_class("below")
    expect(page.locator('tr[data-dept="W2"]')).to_contain_text("低于 80%")
    expect(page.locator('tr[data-dept="W2"] .missing')).to_have_text(
        "未到: 员工E10、员工E11、员工E12"
    )
    expect(page.locator(f"#session-{plant.session_id}")).to_have_class("session-card below")
    page.screenshot(path=str(SHOTS / "wallboard-below.png"), full_page=True)


def test_session_page_shows_each_persons_status_live(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    log_in(page, server, "hr", "hr-password")
    page.click(f"#session-{plant.session_id}")
    expect(page).to_have_url(f"{server.url}/sessions/{plant.session_id}")
    row = page.locator('tr[data-employee="E04"]')
    expect(row).to_contain_text("未到")
    check_in(server, plant, "E04")
    expect(row).to_contain_text("已到", timeout=3000)
    expect(page.locator("#session-checked-in")).to_have_text("1/13")
    page.screenshot(path=str(SHOTS / "session.png"), full_page=True)


@pytest.mark.vision("none")  # storage and forensics; analysis is tested apart
def test_session_page_shows_photos_and_which_earlier_photo_one_looks_like(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    from tests.e2e.test_photos import jpeg_of, jpeg_with_exif, upload

    original = jpeg_with_exif("2026:11:20 09:00:00")
    first = upload(server, plant.p1_token, original, plant.later_session_id, "b-1").json()
    assert server.muster.runner.wait_until_caught_up(10)
    copy = jpeg_of(np.asarray(Image.open(io.BytesIO(original)).resize((400, 400))), quality=55)
    upload(server, plant.p1_token, copy, plant.session_id, "b-2")
    log_in(page, server, "hr", "hr-password")
    page.goto(f"{server.url}/sessions/{plant.session_id}")
    figure = page.locator("figure.photo")
    expect(figure).to_have_count(1, timeout=3000)
    expect(figure.locator(".near")).to_contain_text("与已存照片相似")
    expect(figure.locator(".near")).to_contain_text(first["photo_id"][:8])
    expect(figure.locator(".near a").nth(1)).to_have_attribute(
        "href", f"/sessions/{plant.later_session_id}"
    )
    expect(figure.locator("img")).to_have_js_property("complete", True)
    page.screenshot(path=str(SHOTS / "session-photos.png"), full_page=True)


def test_plant_staff_see_a_photo_looks_like_one_in_another_plant_without_a_way_in(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    """A plant-1 HR user: the copy of a plant-2 photo is flagged, with no link or id to follow
    into the plant they may not see."""
    from tests.e2e.test_look_alike_scoping import reuse_across_plants

    reuse = reuse_across_plants(server, plant)
    page.goto(f"{server.url}/login?next=/sessions/{plant.session_id}")
    page.fill("input[name=login]", "sz1")
    page.fill("input[name=password]", "sz1-password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/sessions/{plant.session_id}")
    near = page.locator("figure.photo .near")
    expect(near).to_have_count(1, timeout=3000)
    expect(near).to_have_text("与另一工厂的照片相似")
    expect(near.locator("a")).to_have_count(0)
    expect(page.locator("figure.photo img")).to_have_js_property("complete", True)
    assert reuse.original[:8] not in page.content()
    page.screenshot(path=str(SHOTS / "session-photo-other-plant.png"), full_page=True)
    page.locator("figure.photo a").first.click()  # the photo itself opens as evidence
    expect(page.locator(".near")).to_contain_text("另一工厂")
    expect(page.locator(".near a")).to_have_count(0)
    page.screenshot(path=str(SHOTS / "photo-evidence-other-plant.png"), full_page=True)


def test_session_page_shows_how_many_people_the_room_photo_counts(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    """The real analyser in its worker process: five people under Chinese safety banners are
    counted as five — no "5–28" range from windows on shirts and banners — against the five who
    checked in."""
    from tests.e2e.test_photos import upload

    photo = (Path(__file__).parents[1] / "fixtures" / "vision" / "room_banners.jpg").read_bytes()
    check_in(server, plant, "E01", "E02", "E03", "E04", "E05")
    assert upload(server, plant.p1_token, photo, plant.session_id, "v-1").status_code == 201
    log_in(page, server, "hr", "hr-password")
    page.goto(f"{server.url}/sessions/{plant.session_id}")
    figure = page.locator("figure.photo")
    # The first job loads the models in the worker: allow for it.
    expect(figure.locator(".headcount")).to_have_text("照片人数 5 / 5", timeout=90_000)
    expect(figure).to_contain_text("80%")  # one of the five has turned 50° away
    expect(figure.locator("img")).to_have_js_property("complete", True)
    page.screenshot(path=str(SHOTS / "session-headcount.png"), full_page=True)


def test_photo_evidence_draws_every_face_the_count_rests_on(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    """HR opens the room photo from the session page while it is still being analysed; the page
    fills in by itself, with a box on each of the five heads (the one turned away drawn as not
    looking at the front), and the boxes can be hidden to see the faces."""
    import json

    from tests.e2e.test_photos import upload

    fixtures = Path(__file__).parents[1] / "fixtures" / "vision"
    photo = (fixtures / "room_banners.jpg").read_bytes()
    truth = json.loads((fixtures / "room_banners.json").read_text())["faces"]
    check_in(server, plant, "E01", "E02", "E03", "E04", "E05", "E06")
    reply = upload(server, plant.p1_token, photo, plant.session_id, "e-1")
    assert reply.status_code == 201
    photo_id = reply.json()["photo_id"]
    log_in(page, server, "hr", "hr-password")
    page.goto(f"{server.url}/sessions/{plant.session_id}")
    page.locator("figure.photo a").first.click()
    expect(page).to_have_url(f"{server.url}/photos/{photo_id}/evidence?session={plant.session_id}")
    # The first job loads the models in the worker: allow for it.
    expect(page.locator("#photo-headcount")).to_have_text("5", timeout=90_000)
    expect(page.locator("#photo-versus")).to_contain_text("签到人数 6 · 照片中少 1")
    counted = page.locator("svg.marks g.face:not(.maybe) rect")
    expect(counted).to_have_count(5)
    expect(page.locator("svg.marks g.face.away")).to_have_count(1)
    boxes = [
        [float(counted.nth(i).get_attribute(a) or "nan") for a in ("x", "y", "width", "height")]
        for i in range(5)
    ]
    for x, y, w, h in boxes:  # every box sits on a real head
        assert any(
            tx <= x + w / 2 <= tx + tw and ty <= y + h / 2 <= ty + th
            for tx, ty, tw, th in (f["box"] for f in truth)
        ), (x, y, w, h)
    # Drawn over the picture where the photo has them: box 1's label sits at its box's corner.
    img = page.locator(".frame img").bounding_box()
    label = page.locator(".face-no").first.bounding_box()
    assert img is not None and label is not None
    scale = img["width"] / 1920
    x, y = (float(page.locator("svg.marks rect").first.get_attribute(a) or "nan") for a in "xy")
    assert abs(label["x"] - (img["x"] + x * scale)) < 3
    assert abs(label["y"] + label["height"] - (img["y"] + y * scale)) < 3
    # Numbered in reading order: left to right along the row of heads.
    xs = [
        float(page.locator(f'svg.marks g[data-face="{n}"] rect').get_attribute("x") or "nan")
        for n in range(1, 6)
    ]
    assert xs == sorted(xs)
    expect(page.locator("table.faces tbody tr")).to_have_count(5)
    page.screenshot(path=str(SHOTS / "photo-evidence.png"), full_page=True)
    page.locator("label[for=show-boxes]").click()
    expect(page.locator("svg.marks")).to_be_hidden()


@pytest.mark.vision("real")  # the picture step is the real analyser's
def test_photo_evidence_draws_a_picture_on_the_wall_apart_from_the_people(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    """A cup poster that the room's photos of two other days show unchanged is drawn as a
    picture (grey, dotted) on the poster, with its legend key and table line; the count the
    page shows is the analysis's, and the people keep their boxes."""
    from tests.e2e.test_room_memory import FIXTURES, compared_with, photograph_the_sure_cup

    ids = photograph_the_sure_cup(server, plant)
    analysis = compared_with(server, ids[1], 2)
    cup = json.loads((FIXTURES / "sure_cup_day2.json").read_text())["cup"]
    log_in(page, server, "hr", "hr-password")
    page.goto(f"{server.url}/photos/{ids[1]}/evidence?lang=en")
    expect(page.locator("#photo-memory")).to_have_text("2")
    counted = analysis["headcount"]
    expect(page.locator("#photo-headcount")).to_contain_text(str(counted))
    picture = page.locator("svg.marks g.face.static rect")
    expect(picture).to_have_count(1)
    dashes, stroke = picture.evaluate(
        "r => [getComputedStyle(r).strokeDasharray, getComputedStyle(r).stroke]"
    )
    assert dashes.startswith("0") and stroke == "rgb(148, 163, 184)"  # dots, grey
    # On the poster where the browser draws it, not only in the SVG's numbers.
    img = page.locator(".frame img").bounding_box()
    drawn = picture.bounding_box()
    assert img is not None and drawn is not None
    scale = img["width"] / 1920
    cx, cy, cw, ch = cup
    centre = (drawn["x"] + drawn["width"] / 2, drawn["y"] + drawn["height"] / 2)
    assert img["x"] + cx * scale <= centre[0] <= img["x"] + (cx + cw) * scale
    assert img["y"] + cy * scale <= centre[1] <= img["y"] + (cy + ch) * scale
    expect(page.locator(".legend .key.static")).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "photo-evidence-room-memory.png"), full_page=True)


def test_english_is_one_click_away_and_sticks(page: Page, server: LiveServer, plant: Plant) -> None:
    log_in(page, server, "hr", "hr-password")
    expect(page.locator("#board-departments h2")).to_have_text("各部门签到率")
    page.click("text=EN")
    expect(page.locator("#board-departments h2")).to_have_text("Check-in rate by department")
    page.goto(f"{server.url}/plants/P1/wallboard")
    expect(page.locator("#board-departments h2")).to_have_text("Check-in rate by department")
    check_in(server, plant, "E01")
    expect(page.locator("#board-latest")).to_contain_text("Present", timeout=3000)


def test_wrong_password_stays_on_the_login_page(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=login]", "hr")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_have_text("用户名、密码或验证码错误")
    page.goto(f"{server.url}/plants/P1/wallboard")
    expect(page).to_have_url(f"{server.url}/login?next=/plants/P1/wallboard")


def test_a_plant_outside_the_scope_is_refused_plainly(
    page: Page, server: LiveServer, plant: Plant
) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=login]", "sz1")
    page.fill("input[name=password]", "sz1-password")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/plants/P1/wallboard")
    expect(page.locator(".plant-switch")).to_have_count(0)  # sz1 sees one plant only
    response = page.goto(f"{server.url}/plants/P2/wallboard")
    assert response is not None and response.status == 403
    expect(page.locator(".error")).to_have_text("无权访问该范围的数据")
    response = page.goto(f"{server.url}/sessions/{plant.other_plant_session_id}")
    assert response is not None and response.status == 404
