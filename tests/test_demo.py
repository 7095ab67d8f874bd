"""The demo plant loads on a fresh store, reloads on a reused one, and the simulator moves it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.bootstrap import Muster
from app.demo import plant as demo
from app.demo.simulator import simulate
from app.projections import queries


def live_now(muster: Muster) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    out: list[dict[str, object]] = []
    for plant in ("SZ1", "SZ2"):
        out += asyncio.run(queries.live_sessions(muster.store, plant, now, muster.policy))
    return out


def test_demo_plant_has_the_promised_shape_and_reloads(muster: Muster) -> None:
    first = demo.load(muster)
    assert muster.runner.wait_until_caught_up(30)
    counts = {
        r["kind"]: r["n"]
        for r in muster.store.fetch("SELECT kind, COUNT(*) AS n FROM org_units GROUP BY kind")
    }
    assert counts == {"group": 1, "company": 1, "plant": 2, "workshop": 6, "team": 20}
    assert muster.store.fetch_one("SELECT COUNT(*) AS n FROM employees") == {"n": 300}
    assert muster.store.fetch_one("SELECT COUNT(*) AS n FROM courses") == {"n": 12}
    assert len(live_now(muster)) >= 5
    names = [r["name"] for r in muster.store.fetch("SELECT name FROM employees LIMIT 20")]
    assert all(2 <= len(n) <= 3 and "\u4e00" <= n[0] <= "\u9fff" for n in names)
    second = demo.load(muster)  # reusing var/demo.db: no crash, fresh tokens, same people
    assert muster.runner.wait_until_caught_up(30)
    assert second.device_tokens != first.device_tokens
    assert muster.store.fetch_one("SELECT COUNT(*) AS n FROM employees") == {"n": 300}


def test_simulator_checks_people_in(muster: Muster) -> None:
    plant = demo.load(muster, employees=120)
    muster.runner.start()
    soon = datetime.now(UTC) + timedelta(seconds=1)
    for s in plant.sessions:  # squeeze every arrival into the next few seconds
        s["starts_at"] = soon
    asyncio.run(asyncio.wait_for(simulate(muster, plant, speed=1000), 60))
    assert muster.runner.wait_until_caught_up(30)
    totals = muster.store.fetch_one("SELECT SUM(checked_in) AS n, SUM(walk_ins) AS w FROM sessions")
    assert totals is not None and totals["n"] > 100
    rejected = muster.store.fetch_one("SELECT COUNT(*) AS n FROM rejections")
    assert rejected is not None and rejected["n"] >= 1  # strangers' badges were refused


@pytest.mark.vision("none")  # storage and EXIF here; the analyser is tested apart
def test_each_running_session_gets_a_room_photo_and_two_tell_a_story(muster: Muster) -> None:
    """The tablets photograph their rooms ten minutes in: one photo per running session, with
    as many people in it as had checked in, stored with the tablet's camera and EXIF time;
    one session's photo shows three fewer people than checked in, and one was taken the day
    before."""
    from app.demo.photos import TAKEN_YESTERDAY

    plant = demo.load(muster, employees=120)
    muster.runner.start()
    assert muster.runner.wait_until_caught_up(30)  # the tablets' tokens are known
    soon = datetime.now(UTC) + timedelta(seconds=1)
    for s in plant.sessions:
        s["starts_at"] = soon
    running = [s["id"] for s in plant.sessions if s["ends_at"] > datetime.now(UTC)]
    asyncio.run(asyncio.wait_for(simulate(muster, plant, speed=1000), 120))
    assert muster.runner.wait_until_caught_up(30)
    photos = muster.store.fetch(
        "SELECT p.session_id, p.kind, p.exif_time, p.camera, p.width, p.height "
        "FROM photos p ORDER BY p.stored_at"
    )
    assert sorted(p["session_id"] for p in photos) == sorted(running)
    assert {(p["kind"], p["camera"], p["width"], p["height"]) for p in photos} == {
        ("room", "Muster Tablet T1", 1920, 1080)
    }
    taken = {p["session_id"]: datetime.fromisoformat(p["exif_time"]) for p in photos}
    yesterday = running[TAKEN_YESTERDAY]
    assert timedelta(hours=23) < datetime.now(UTC) - taken[yesterday] < timedelta(hours=25)
    others = [sid for sid in running if sid != yesterday]
    assert all(datetime.now(UTC) - taken[sid] < timedelta(minutes=5) for sid in others)


def test_a_small_demo_plans_rosters_of_whoever_the_plant_has(muster: Muster) -> None:
    """`muster demo --employees 20`: every session is planned, each roster no larger than
    its plant's people (the demo used to stop with 'Sample larger than population')."""
    plant = demo.load(muster, employees=20)
    assert muster.runner.wait_until_caught_up(30)
    assert muster.store.fetch_one("SELECT COUNT(*) AS n FROM employees") == {"n": 20}
    rows = muster.store.fetch("SELECT id, expected FROM sessions")
    planned = {r["id"]: r["expected"] for r in rows}
    assert plant.sessions and all(0 < planned[s["id"]] <= 20 for s in plant.sessions)
