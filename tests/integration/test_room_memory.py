"""Which photos room memory compares a room photo with (`room_photos_apart`), on both stores:
other sessions in the same room, long enough before or after, nearest first, the latest photo
of each; which photos a new one lets the app analyse again (`room_photos_short_of_memory`); and
how the photo service reads them (the analysis itself: tests/e2e/test_room_memory.py)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.bootstrap import Muster
from app.domain.evidence import Photo, PhotoKind
from app.projections.queries import room_photos_apart, room_photos_short_of_memory
from app.services import photos
from app.services.photos import PhotoUpload
from tests.conftest import Plant

MONDAY = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 in the plant


def session_in(muster: Muster, code: str, room: str, starts: datetime, plant: str = "P1") -> str:
    sid = muster.app.schedule_session(
        code, "SAFE", plant, room, "陈老师", starts, starts + timedelta(hours=1), ["E01"], "test"
    )
    return str(sid)


def photo_for(muster: Muster, session_id: str, name: str, kind: str = PhotoKind.ROOM) -> str:
    """Record a photo (no bytes: the query reads only the read model) and return its id."""
    sha = hashlib.sha256(name.encode()).hexdigest()
    muster.app.save(
        Photo(
            sha256=sha,
            session_id=uuid.UUID(session_id),
            kind=kind,
            device_id=uuid.uuid4(),
            client_event_id=name,
            device_time=None,
            facts={},
            actor="test",
        )
    )
    return sha


def test_one_photo_from_each_session_of_the_room_nearest_first_before_or_after(
    muster: Muster, plant: Plant
) -> None:
    now = session_in(muster, "S-THU", "培训室A", MONDAY + timedelta(days=3))
    wed = session_in(muster, "S-WED", "培训室A", MONDAY + timedelta(days=2))
    tue = session_in(muster, "S-TUE", "培训室A", MONDAY + timedelta(days=1))
    mon = session_in(muster, "S-MON", "培训室A", MONDAY)
    this_morning = session_in(muster, "S-THU-AM", "培训室A", MONDAY + timedelta(days=3, hours=-2))
    this_evening = session_in(muster, "S-THU-PM", "培训室A", MONDAY + timedelta(days=3, hours=6))
    friday = session_in(muster, "S-FRI", "培训室A", MONDAY + timedelta(days=4, hours=6))
    exactly_12h = session_in(muster, "S-WED-PM", "培训室A", MONDAY + timedelta(days=2, hours=12))
    other_room = session_in(muster, "S-B", "培训室B", MONDAY + timedelta(days=2, hours=6))
    other_plant = session_in(muster, "S-P2-WED", "培训室A", MONDAY + timedelta(days=2), plant="P2")
    no_photo = session_in(muster, "S-THU-NIGHT", "培训室A", MONDAY + timedelta(days=3, hours=14))
    new = photo_for(muster, now, "thursday")
    thu_last = photo_for(muster, now, "thursday, a second one")
    photo_for(muster, wed, "wednesday, first")
    wed_last = photo_for(muster, wed, "wednesday, last")
    photo_for(muster, wed, "wednesday, a selfie", kind=PhotoKind.SELFIE)
    tue_photo = photo_for(muster, tue, "tuesday")
    mon_photo = photo_for(muster, mon, "monday")
    photo_for(muster, this_morning, "thursday morning")
    thu_evening = photo_for(muster, this_evening, "thursday evening")
    fri_photo = photo_for(muster, friday, "friday")
    photo_for(muster, no_photo, "thursday night, a selfie only", kind=PhotoKind.SELFIE)
    at_12h = photo_for(muster, exactly_12h, "wednesday evening")
    photo_for(muster, other_room, "room B")
    photo_for(muster, other_plant, "plant 2")
    assert muster.runner.wait_until_caught_up(30)

    def apart(session_id: str, photo_id: str, n: int = 3) -> list[str]:
        query = room_photos_apart(muster.store, session_id, photo_id, timedelta(hours=12), n)
        return asyncio.run(query)

    # Not this session's other photo, nor this morning's or this evening's, room B's, plant
    # 2's or a selfie; a session exactly 12 hours before counts; Wednesday's is its last
    # photo; Friday (30 h after) is nearer than Tuesday (48 h before).
    assert apart(now, new) == [at_12h, wed_last, fri_photo]
    assert apart(now, new, n=1) == [at_12h]
    assert apart(now, new, n=5) == [at_12h, wed_last, fri_photo, tue_photo, mon_photo]
    # A room's first session finds the later ones: its photo is analysed again with them.
    assert apart(mon, mon_photo) == [tue_photo, wed_last, at_12h]
    assert apart(friday, fri_photo, n=2) == [thu_evening, thu_last]
    assert apart(str(uuid.uuid4()), new) == []


def analyse(muster: Muster, photo_id: str, result: dict[str, object] | None) -> None:
    """Record an analysis of a photo as the vision worker does (None: a failed one)."""
    photo: Photo = muster.app.repository.get(Photo.create_id(photo_id))
    if result is None:
        photo.analysis_failed(reason="timeout", detail="30 s", actor="vision")
    else:
        photo.analysed(result={"headcount": 3, "headcount_max": 4, **result}, actor="vision")
    muster.app.save(photo)


def test_the_photos_a_new_photo_of_the_room_gives_more_memory(muster: Muster, plant: Plant) -> None:
    """The photos of the room's nearby sessions (12 h or more away) last analysed with fewer
    other photos of the room than wanted: not those that had enough, failed, predate room
    memory or are waiting."""
    thu = session_in(muster, "S-THU", "培训室A", MONDAY + timedelta(days=3))
    mon = session_in(muster, "S-MON", "培训室A", MONDAY)
    tue = session_in(muster, "S-TUE", "培训室A", MONDAY + timedelta(days=1))
    this_morning = session_in(muster, "S-THU-AM", "培训室A", MONDAY + timedelta(days=3, hours=-2))
    next_week = session_in(muster, "S-NEXT", "培训室A", MONDAY + timedelta(days=7))
    room_b = session_in(muster, "S-B", "培训室B", MONDAY + timedelta(days=1))
    alone = [photo_for(muster, mon, "monday, start"), photo_for(muster, mon, "monday, end")]
    had_memory = photo_for(muster, tue, "tuesday")
    had_one = photo_for(muster, tue, "tuesday, compared with one")
    failed = photo_for(muster, tue, "tuesday, failed")
    before_memory = photo_for(muster, tue, "tuesday, analysed by /8")
    waiting = photo_for(muster, tue, "tuesday, waiting")
    selfie = photo_for(muster, mon, "monday, a selfie", kind=PhotoKind.SELFIE)
    too_close = photo_for(muster, this_morning, "thursday morning")
    later = photo_for(muster, next_week, "next week")
    other_room = photo_for(muster, room_b, "room B")
    new = photo_for(muster, thu, "thursday")
    for photo_id in (*alone, too_close, later, other_room, selfie):
        analyse(muster, photo_id, {"room_memory_photos": 0})
    analyse(muster, had_memory, {"room_memory_photos": 2})
    analyse(muster, had_one, {"room_memory_photos": 1})
    analyse(muster, failed, None)
    analyse(muster, before_memory, {})
    analyse(muster, new, {"room_memory_photos": 0})
    del waiting
    assert muster.runner.wait_until_caught_up(30)

    def without(session_id: str, n: int = 3, fewer_than: int = 1) -> list[str]:
        gap = timedelta(hours=12)
        query = room_photos_short_of_memory(muster.store, session_id, gap, n, fewer_than)
        return sorted(asyncio.run(query))

    assert without(thu) == sorted([*alone, later])
    assert without(thu, fewer_than=2) == sorted([*alone, had_one, later])
    assert without(thu, fewer_than=3) == sorted([*alone, had_memory, had_one, later])
    # Only the n nearest sessions with room photos each side: Tuesday is nearer than Monday.
    assert without(thu, n=1) == [later]
    assert without(this_morning) == sorted([*alone, later])
    # Next week's three nearest sessions before it are Thursday's two and Tuesday.
    assert without(next_week) == sorted([new, too_close])
    assert without(room_b) == []
    assert without(str(uuid.uuid4())) == []


def room_jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, shade, shade)).save(out, format="JPEG")
    return out.getvalue()


def room_memory(muster: Muster, photo_id: str, session_id: str) -> list[bytes]:
    """The bytes the photo service hands the analyser as room memory for ``photo_id``."""

    async def read() -> list[bytes]:
        ids = await muster.photos._memory_ids(photo_id, session_id)
        return await muster.photos._read_memory(photo_id, ids)

    return asyncio.run(read())


def test_room_memory_leaves_out_what_it_cannot_read_and_never_stops_the_analysis(
    muster: Muster, plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier photo whose file is gone is left out (the others are still used); a store
    that cannot answer means an analysis without memory, not a failed one."""
    muster.photos.vision_processes = 0  # what is handed to the analyser, not the analysis
    now = session_in(muster, "S-THU", "培训室A", MONDAY + timedelta(days=3))
    days = [session_in(muster, f"S-{d}", "培训室A", MONDAY + timedelta(days=d)) for d in (1, 2)]
    assert muster.runner.wait_until_caught_up(30)
    stored = {}
    for n, session_id in enumerate([*days, now]):
        data = room_jpeg(40 * (n + 1))
        sent = PhotoUpload(data, session_id, PhotoKind.ROOM, f"up-{n}", None)
        reply = asyncio.run(muster.photos.upload(plant.p1_token, sent, "en"))
        stored[reply["photo_id"]] = data
    first, second, new = stored
    assert muster.runner.wait_until_caught_up(30)
    muster.photos.files.path(second).unlink()
    assert asyncio.run(muster.photos._session_and_memory(new)) == (now, 0)
    assert room_memory(muster, new, now) == [stored[first]]

    async def no_store(*_: object) -> list[str]:
        raise OSError("database is locked")

    monkeypatch.setattr(photos, "room_photos_apart", no_store)
    assert room_memory(muster, new, now) == []


def test_a_photo_whose_file_is_gone_fails_with_a_reason_and_a_recount_keeps_the_count(
    muster: Muster, plant: Plant
) -> None:
    """The stored file of a room photo is missing when its analysis runs: the photo fails
    with "photo_unreadable" (the page shows why) instead of a task dying unseen; a recount
    of a photo whose file is gone leaves its first analysis as it was."""
    muster.photos.vision_processes = 0  # store only: the analyses run below, one at a time
    monday = session_in(muster, "S-MON", "培训室A", MONDAY)
    tuesday = session_in(muster, "S-TUE", "培训室A", MONDAY + timedelta(days=1))
    assert muster.runner.wait_until_caught_up(30)
    ids = []
    for n, session_id in enumerate((monday, tuesday)):
        sent = PhotoUpload(room_jpeg(60 + 60 * n), session_id, PhotoKind.ROOM, f"up-{n}", None)
        ids.append(asyncio.run(muster.photos.upload(plant.p1_token, sent, "en"))["photo_id"])
    first, gone = ids
    analyse(muster, first, {"room_memory_photos": 0})
    assert muster.runner.wait_until_caught_up(30)
    muster.photos.vision_processes = 1
    try:
        # Tuesday's photo is there to compare with, Monday's own file is not.
        assert room_memory(muster, first, monday) == [room_jpeg(120)]
        muster.photos.files.path(first).unlink()
        asyncio.run(muster.photos._analyse(first, again=True))
        muster.photos.files.path(gone).unlink()
        asyncio.run(muster.photos._analyse(gone))
    finally:
        muster.photos.close()
    assert muster.runner.wait_until_caught_up(30)
    rows = {
        r["photo_id"]: r
        for r in muster.store.fetch("SELECT photo_id, status, failure, headcount FROM photos")
    }
    assert (rows[gone]["status"], rows[gone]["failure"]) == ("failed", "photo_unreadable")
    assert (rows[first]["status"], rows[first]["headcount"]) == ("analysed", 3)
    photo: Photo = muster.app.repository.get(Photo.create_id(first))
    assert photo.analysis is not None and "revises" not in photo.analysis


def test_a_recount_lost_when_the_worker_stopped_is_started_by_the_sweep(
    muster: Muster, plant: Plant
) -> None:
    """Monday's photo of 培训室A was analysed alone; Tuesday's was analysed with it, and the
    worker stopped before analysing Monday's again (``asyncio.run`` ends, cancelling the
    recount it had just started). The backlog sweep finds it: Monday's photo is counted again
    with Tuesday's, once. Room B's two photos, each already compared with the other, and
    Tuesday's, compared with all its room has, are left as they are."""
    fixtures = Path(__file__).parents[1] / "fixtures" / "vision"
    monday = session_in(muster, "S-MON", "培训室A", MONDAY)
    tuesday = session_in(muster, "S-TUE", "培训室A", MONDAY + timedelta(days=1))
    room_b = [session_in(muster, f"S-B{d}", "培训室B", MONDAY + timedelta(days=d)) for d in (0, 1)]
    assert muster.runner.wait_until_caught_up(30)

    def store(session_id: str, data: bytes, name: str) -> str:
        muster.photos.vision_processes = 0  # stored only: each analysis is run below
        sent = PhotoUpload(data, session_id, PhotoKind.ROOM, name, None)
        photo_id: str = asyncio.run(muster.photos.upload(plant.p1_token, sent, "en"))["photo_id"]
        muster.photos.vision_processes = 1
        return photo_id

    def memory_of(photo_id: str) -> dict[str, Any]:
        photo: Photo = muster.app.repository.get(Photo.create_id(photo_id))
        assert photo.analysis is not None
        return photo.analysis

    async def sweep_until_counted_again(photo_id: str) -> None:
        """``watch_backlog`` as `muster worker --vision` runs it, until ``photo_id`` has been
        analysed again (a minute at most)."""
        watch = asyncio.create_task(muster.photos.watch_backlog(every_s=0.05))
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                if "revises" in await asyncio.to_thread(memory_of, photo_id):
                    break
                await asyncio.sleep(0.1)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            await muster.photos.drain()

    try:
        first = store(monday, (fixtures / "room_memory_before.jpg").read_bytes(), "mon")
        asyncio.run(muster.photos._analyse(first))
        assert muster.runner.wait_until_caught_up(30)
        alone = memory_of(first)
        assert alone["room_memory_photos"] == 0
        second = store(tuesday, (fixtures / "room_memory_after.jpg").read_bytes(), "tue")
        room_b_photos = [
            store(sid, room_jpeg(60 + 60 * n), f"b-{n}") for n, sid in enumerate(room_b)
        ]
        for photo_id in room_b_photos:
            analyse(muster, photo_id, {"room_memory_photos": 1})
        asyncio.run(muster.photos._analyse(second))
        assert muster.runner.wait_until_caught_up(30)
        assert memory_of(second)["room_memory_photos"] == 1
        assert memory_of(first) == alone  # the recount was lost with the worker

        asyncio.run(sweep_until_counted_again(first))
        assert muster.runner.wait_until_caught_up(30)
        # Nothing more to compare with anywhere now: the next sweep starts none.
        assert asyncio.run(muster.photos.recount_backlog()) == 0
    finally:
        muster.photos.close()
    again = memory_of(first)
    assert again["room_memory_photos"] == 1
    assert again["revises"] == {
        "headcount": alone["headcount"],
        "headcount_max": alone["headcount_max"],
        "analyser": alone["analyser"],
        "room_memory_photos": 0,
    }
    row = muster.store.fetch_one("SELECT headcount FROM photos WHERE photo_id = :p", {"p": first})
    assert row is not None and row["headcount"] == again["headcount"]
    assert not any("revises" in memory_of(p) for p in (second, *room_b_photos))
