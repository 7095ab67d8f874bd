"""The planner in a real browser, on the demo plant: HR plans a session on next week's grid,
is told in words that the room is taken and shown free times, takes one, saves, moves the
session to the afternoon and cancels it — in Chinese and English, with screenshots."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from app.demo import files
from app.demo import plant as demo
from app.web.render import plant_time
from tests.conftest import LiveServer
from tests.e2e.test_plan_pages import log_in
from tests.support.browser import SHOTS

COURSE = "消防安全与疏散演练"


@pytest.fixture
def backend() -> str:
    return "sqlite"


VIEWPORT = {"width": 1600, "height": 1000}


def next_monday(server: LiveServer) -> date:
    """The Monday after this week in the plant's clock."""
    today = plant_time(datetime.now(UTC), server.muster.settings.plant_tz).date()
    return today - timedelta(days=today.weekday()) + timedelta(days=7)


def sz1_people() -> list[str]:
    """The demo's people of plant SZ1 (120 employees), in their order."""
    return [p["employee_no"] for p in files.employees(120, 7) if p["org_code"].startswith("SZ1")]


def week_plan(monday: date) -> str:
    """Next week's plan of plant SZ1, as HR would import it: four people a session."""
    rows = [
        (0, "SAFE-101", "一厂培训室A", "09:00", "10:30", "陈老师"),
        (0, "FORK-201", "一厂培训室B", "09:30", "11:00", "刘工"),
        (0, "LEAN-5S", "一厂会议室", "14:00", "15:00", "王主管"),
        (1, "ROBOT-301", "冲压车间现场", "08:30", "10:30", "赵工程师"),
        (1, "SAFE-101", "一厂培训室A", "13:30", "14:30", "陈老师"),
        (2, "PPE-140", "一厂培训室B", "10:00", "10:45", "王主管"),
        (2, "QUAL-110", "一厂会议室", "10:00", "11:00", "刘工"),
        (3, "AID-150", "一厂培训室A", "15:00", "17:00", "陈老师"),
        (4, "SAFE-101", "一厂培训室A", "09:00", "10:00", "陈老师"),
    ]
    people = sz1_people()
    lines = ["code,course_code,plant_code,room,starts_at,ends_at,trainer,roster,capacity"]
    for n, (day, course, room, start, end, trainer) in enumerate(rows):
        d = (monday + timedelta(days=day)).isoformat()
        roster = ";".join(people[4 * n : 4 * n + 4])
        lines.append(
            f"WK-{n},{course},SZ1,{room},{d}T{start}:00+08:00,{d}T{end}:00+08:00,"
            f"{trainer},{roster},20"
        )
    return "\n".join(lines) + "\n"


def open_slot(page: Page, day: date, hour: str) -> None:
    page.locator(f'.col[data-key="{day.isoformat()}"] a.slot[title$="{hour}"]').click()
    expect(page.locator("#editor #session-form")).to_be_visible()


def fill_session(page: Page, course: str, start: str, end: str, room: str, trainer: str) -> Locator:
    """The open session form with its course, times, room and trainer filled in."""
    form = page.locator("#editor")
    form.locator("select[name=course]").select_option(course)
    form.locator("input[name=start]").fill(start)
    form.locator("input[name=end]").fill(end)
    form.locator("input[name=room]").fill(room)
    form.locator("input[name=trainer]").fill(trainer)
    return form


def test_hr_plans_reschedules_and_cancels_a_session_and_sees_a_conflict_explained(
    server: LiveServer, page: Page
) -> None:
    muster = server.muster
    demo.load(muster, employees=120)
    monday = next_monday(server)
    plan = muster.imports.run("sessions", week_plan(monday).encode(), actor="test")
    assert plan.applied, plan.errors
    assert muster.runner.wait_until_caught_up(60)
    SHOTS.mkdir(parents=True, exist_ok=True)

    log_in(page, server, "/plans")
    expect(page.locator(".page-title")).to_contain_text("培训计划")
    page.goto(f"{server.url}/plans?plant=SZ1&day={monday.isoformat()}")
    monday_col = page.locator(f'.col[data-key="{monday.isoformat()}"]')
    expect(monday_col.locator("a.block")).to_have_count(3)
    expect(monday_col.locator("a.block").first).to_contain_text("安全生产基础")

    # a fire drill in room A on Monday at 09:00: the room is taken by the safety course
    open_slot(page, monday, "08:00")
    form = fill_session(page, "FIRE-102", "09:00", "09:45", "一厂培训室A", "刘工")
    form.locator("textarea[name=people]").fill(" ".join(sz1_people()[40:42]))
    form.locator("button[value=check]").click()
    taken = form.locator("ul.conflicts li.room_double_booked")
    expect(taken).to_contain_text("教室 一厂培训室A 同一时间已被场次 WK-0 占用")
    expect(form.locator(".hard")).to_be_visible()  # a room taken cannot be confirmed away
    expect(form.locator("input[name=confirm]")).to_have_count(0)
    expect(form.locator("button.slot-pick").first).to_be_visible()
    page.screenshot(path=str(SHOTS / "planner-conflict.png"))
    # saving anyway is refused, with the same explanation
    form.locator("button[value=save]").click()
    expect(form.locator("ul.conflicts li.room_double_booked")).to_be_visible()

    # the first free time: 08:00–08:45, checked again, then saved
    form.locator("button.slot-pick").first.click()
    expect(form.locator(".check .ok")).to_contain_text("没有冲突")
    expect(form.locator("input[name=start]")).to_have_value("08:00")
    form.locator("button[value=save]").click()
    expect(page.locator("p.done")).to_contain_text("已保存")
    fire = monday_col.locator("a.block", has_text=COURSE)
    expect(fire).to_contain_text("08:00–08:45")
    page.screenshot(path=str(SHOTS / "planner.png"))

    # moved to the afternoon: the same session, rescheduled
    fire.click()
    expect(form.locator("h2")).to_contain_text("修改培训")
    form.locator("input[name=start]").fill("15:00")
    form.locator("input[name=end]").fill("15:45")
    form.locator("button[value=save]").click()
    expect(page.locator("p.done")).to_contain_text("已保存")
    expect(fire).to_contain_text("15:00–15:45")
    expect(monday_col.locator("a.block", has_text=COURSE)).to_have_count(1)

    # called off with a reason
    fire.click()
    form.locator("input[name=reason]").fill("讲师出差")
    form.locator("button.danger").click()
    expect(page.locator("p.done")).to_contain_text("已取消")
    expect(monday_col.locator("a.block.cancelled", has_text=COURSE)).to_be_visible()
    planned = ("SessionScheduled", "SessionRescheduled", "SessionCancelled")
    topics = [
        n.topic.rsplit(".", 1)[-1]
        for n in muster.app.recorder.select_notifications(start=1, limit=1_000_000)
    ]
    assert [t for t in topics if t in planned][-3:] == list(planned)

    # the same in English: Tuesday's room A at 13:00 clashes with the safety course
    page.goto(f"{server.url}/plans?plant=SZ1&day={monday.isoformat()}&lang=en")
    expect(page.locator(".page-title")).to_contain_text("Training planner")
    page.screenshot(path=str(SHOTS / "planner-en.png"))
    open_slot(page, monday + timedelta(days=1), "12:00")
    form.locator("select[name=course]").select_option("FIRE-102")
    form.locator("input[name=start]").fill("13:00")
    form.locator("input[name=end]").fill("14:00")
    form.locator("input[name=room]").fill("一厂培训室A")
    form.locator("textarea[name=people]").fill(" ".join(sz1_people()[16:20]))
    form.locator("button[value=check]").click()
    expect(form.locator("ul.conflicts li.room_double_booked")).to_contain_text(
        "room 一厂培训室A is taken by session WK-4"
    )
    expect(form.locator("ul.conflicts li.person_double_booked").first).to_contain_text(
        "is also on session WK-4"
    )
    page.screenshot(path=str(SHOTS / "planner-conflict-en.png"))

    # the day view: one column per room
    page.goto(f"{server.url}/plans?plant=SZ1&view=day&day={monday.isoformat()}&lang=zh-CN")
    expect(page.locator(".col-head", has_text="一厂培训室A")).to_be_visible()
    page.screenshot(path=str(SHOTS / "planner-day.png"))


def test_a_department_head_rosters_a_position_within_their_own_workshop(
    server: LiveServer, page: Page
) -> None:
    """The welding workshop's head picks the quality inspectors: the form narrows positions
    to the workshop (no "whole plant" to pick), and the roster holds only the workshop's."""
    muster = server.muster
    demo.load(muster, employees=120)
    muster.app.add_user("weld-head", "dept_head", "SZ1-WELD", "test", password="weld-head-pw")
    assert muster.runner.wait_until_caught_up(60)
    monday = next_monday(server)
    page.goto(f"{server.url}/login?next=/plans")
    page.fill("input[name=login]", "weld-head")
    page.fill("input[name=password]", "weld-head-pw")
    page.click("button[type=submit]")
    page.goto(f"{server.url}/plans?plant=SZ1&day={monday.isoformat()}")
    open_slot(page, monday, "08:00")
    form = fill_session(page, "QUAL-110", "09:00", "10:00", "焊装车间现场", "刘工")
    form.locator("select[name=positions]").select_option("QC")
    within = form.locator("select[name=positions_in]")
    expect(within).to_have_value("SZ1-WELD")
    expect(within.locator("option[value='']")).to_have_count(0)
    form.locator("button[value=check]").click()
    expect(form.locator(".check")).to_be_visible()
    if form.locator("input[name=confirm]").count():
        form.locator("input[name=confirm]").check()
    page.screenshot(path=str(SHOTS / "planner-head-position.png"))
    form.locator("button[value=save]").click()
    expect(page.locator("p.done")).to_contain_text("已保存")

    session = muster.store.fetch_one(
        "SELECT id FROM sessions WHERE course = 'QUAL-110' AND room = '焊装车间现场'"
    )
    assert session is not None
    rostered = muster.store.fetch(
        "SELECT employee_no FROM attendance WHERE session_id = :s AND on_roster = 1",
        {"s": session["id"]},
    )
    welders_qc = muster.store.fetch(
        "SELECT e.employee_no FROM employees e JOIN org_units o ON o.code = e.org_unit "
        "WHERE e.position = 'QC' AND o.path LIKE '%/SZ1-WELD/%'"
    )
    all_qc = muster.store.fetch("SELECT employee_no FROM employees WHERE position = 'QC'")
    assert {r["employee_no"] for r in rostered} == {r["employee_no"] for r in welders_qc}
    assert len(welders_qc) < len(all_qc)  # the other workshops' inspectors stay off
