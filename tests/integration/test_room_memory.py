"""Which photos room memory compares a room photo with (`room_photos_apart`), on both stores:
other sessions in the same room, long enough before or after, nearest first, the latest photo
of each; which photos a new one lets the app analyse again (`room_photos_short_of_memory`); and
how the photo service reads them (the analysis itself: tests/e2e/test_room_memory.py)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.bootstrap import Adapters, Muster, build
from app.domain.evidence import Photo, PhotoKind
from app.domain.recount import RecountPolicy
from app.services.photos import PhotoUpload
from app.services.room_memory import RoomMemory
from app.services.vision_adapters import InlineRoomAnalyser
from app.settings import Settings
from tests.conftest import Plant, fake_adapters, fixture_index, load_plant
from vision.fake import FakeRoomAnalyzer
from vision.room.analysis import RoomAnalysis
from vision.runtime import JobOutcome

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
        return memory(muster, photos=n).photos_apart(session_id, photo_id)

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


def memory(muster: Muster, photos: int = 3) -> RoomMemory:
    return RoomMemory(muster.store, muster.photos.files, RecountPolicy(timedelta(hours=12), photos))


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

    def without(session_id: str, photos: int = 3) -> list[str]:
        return sorted(memory(muster, photos=photos).short_of_memory(session_id))

    assert without(thu) == sorted([*alone, had_memory, had_one, later])
    assert without(thu, photos=2) == sorted([*alone, had_one, later])
    # Only the nearest session with room photos each side: Tuesday is nearer than Monday.
    assert without(thu, photos=1) == [later]
    assert without(this_morning) == sorted([*alone, had_memory, had_one, later])
    # Next week's three nearest sessions before it are Thursday's two and Tuesday.
    assert without(next_week) == sorted([new, too_close, had_memory, had_one])
    assert without(room_b) == []
    assert without(str(uuid.uuid4())) == []


def room_jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, shade, shade)).save(out, format="JPEG")
    return out.getvalue()


class RecordingAnalyser(InlineRoomAnalyser):
    """The fake room analyser, noting what room memory each analysis was given."""

    def __init__(self) -> None:
        super().__init__(FakeRoomAnalyzer(fixture_index()))
        self.given: dict[str, list[bytes]] = {}

    def analyse(self, data: bytes, earlier: Sequence[bytes]) -> JobOutcome[RoomAnalysis]:
        self.given[hashlib.sha256(data).hexdigest()] = list(earlier)
        return super().analyse(data, earlier)


@pytest.fixture
def recording() -> RecordingAnalyser:
    return RecordingAnalyser()


@pytest.fixture
def adapters(recording: RecordingAnalyser) -> Adapters:
    return replace(fake_adapters(), analyser=recording)


def store(muster: Muster, plant: Plant, session_id: str, data: bytes, name: str) -> str:
    sent = PhotoUpload(data, session_id, PhotoKind.ROOM, name, None)
    return asyncio.run(muster.photos.upload(plant.p1_token, sent)).photo_id


def follow(muster: Muster) -> None:
    """Project, then let the photo analysis handle what it may see, until both are idle."""
    assert muster.analysis is not None
    for _ in range(5):
        assert muster.runner.wait_until_caught_up(30)
        assert muster.analysis.wait_until_idle(30)
    assert muster.runner.wait_until_caught_up(30)


def analysis_of(muster: Muster, photo_id: str) -> dict[str, Any]:
    photo: Photo = muster.app.repository.get(Photo.create_id(photo_id))
    assert photo.analysis is not None
    return photo.analysis


def test_room_memory_leaves_out_what_it_cannot_read_and_never_stops_the_analysis(
    muster: Muster, plant: Plant, recording: RecordingAnalyser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier photo whose file is gone is left out (the others are still used); a store
    that cannot answer means an analysis without memory, not a failed one."""
    now = session_in(muster, "S-THU", "培训室A", MONDAY + timedelta(days=3))
    days = [session_in(muster, f"S-{d}", "培训室A", MONDAY + timedelta(days=d)) for d in (1, 2)]
    assert muster.runner.wait_until_caught_up(30)
    first, second = (
        store(muster, plant, s, room_jpeg(40 * (n + 1)), f"up-{n}") for n, s in enumerate(days)
    )
    follow(muster)
    muster.photos.files.path(second).unlink()
    new = store(muster, plant, now, room_jpeg(120), "up-2")
    follow(muster)
    assert recording.given[new] == [room_jpeg(40)]
    assert analysis_of(muster, new)["room_memory_photos"] == 1

    def no_store(*_: object) -> list[str]:
        raise OSError("database is locked")

    monkeypatch.setattr(RoomMemory, "photos_apart", no_store)
    later = session_in(muster, "S-FRI", "培训室A", MONDAY + timedelta(days=4))
    assert muster.runner.wait_until_caught_up(30)
    fri = store(muster, plant, later, room_jpeg(160), "up-3")
    follow(muster)
    assert recording.given[fri] == []
    assert analysis_of(muster, fri)["room_memory_photos"] == 0
    del first


def test_a_photo_whose_file_is_gone_fails_with_a_reason_and_a_recount_keeps_the_count(
    muster: Muster, plant: Plant
) -> None:
    """The stored file of a room photo is missing when its analysis runs: the photo fails
    with "photo_unreadable" (the page shows why) instead of a job dying unseen; a recount
    of a photo whose file is gone leaves its first analysis as it was."""
    monday = session_in(muster, "S-MON", "培训室A", MONDAY)
    tuesday = session_in(muster, "S-TUE", "培训室A", MONDAY + timedelta(days=1))
    assert muster.runner.wait_until_caught_up(30)
    first = store(muster, plant, monday, room_jpeg(60), "up-0")
    follow(muster)
    counted = analysis_of(muster, first)
    muster.photos.files.path(first).unlink()  # Monday's own file is gone before its recount
    gone = store(muster, plant, tuesday, room_jpeg(120), "up-1")
    muster.photos.files.path(gone).unlink()  # and Tuesday's before its first analysis
    follow(muster)
    rows = {
        r["photo_id"]: r
        for r in muster.store.fetch("SELECT photo_id, status, failure, headcount FROM photos")
    }
    assert (rows[gone]["status"], rows[gone]["failure"]) == ("failed", "photo_unreadable")
    assert rows[first]["status"] == "analysed"
    assert analysis_of(muster, first) == counted and "revises" not in counted


def photo_events(muster: Muster) -> list[tuple[str, str]]:
    """(event name, photo aggregate id) of every photo analysis recorded, in order."""
    notifications = muster.app.recorder.select_notifications(start=1, limit=100_000)
    return [
        (n.topic.rsplit(".", 1)[-1], str(n.originator_id))
        for n in notifications
        if n.topic.endswith(("PhotoAnalysed", "PhotoAnalysisFailed"))
    ]


def test_a_restart_resumes_from_the_checkpoint_and_analyses_nothing_twice(
    settings: Settings, adapters: Adapters
) -> None:
    """Monday's photo of 培训室A was analysed alone; Tuesday's was stored while the photo
    analysis was not running. When it runs again (a new process on the same store), it
    resumes from its checkpoint: Tuesday's photo is analysed with Monday's, and Monday's is
    counted again with Tuesday's, once. Started again from the very first event, it finds
    everything done and records nothing."""
    fixtures = Path(__file__).parents[1] / "fixtures" / "vision"
    first_run = build(settings, adapters)
    try:
        plant = load_plant(first_run)
        monday = session_in(first_run, "S-MON", "培训室A", MONDAY)
        tuesday = session_in(first_run, "S-TUE", "培训室A", MONDAY + timedelta(days=1))
        assert first_run.runner.wait_until_caught_up(30)
        before = (fixtures / "room_memory_before.jpg").read_bytes()
        first = store(first_run, plant, monday, before, "mon")
        follow(first_run)
        alone = analysis_of(first_run, first)
        assert alone["room_memory_photos"] == 0
        after = (fixtures / "room_memory_after.jpg").read_bytes()
        second = store(first_run, plant, tuesday, after, "tue")
        assert first_run.runner.wait_until_caught_up(30)  # stored; the analysis stopped here
    finally:
        first_run.close()
    restarted = build(settings, adapters)
    try:
        assert restarted.analysis is not None
        resumed_from = restarted.analysis.position()
        assert resumed_from > 0
        follow(restarted)
        assert analysis_of(restarted, second)["room_memory_photos"] == 1
        again = analysis_of(restarted, first)
        assert again["room_memory_photos"] == 1
        assert again["revises"] == {
            "headcount": alone["headcount"],
            "headcount_max": alone["headcount_max"],
            "analyser": alone["analyser"],
            "room_memory_photos": 0,
        }
        recorded = photo_events(restarted)
        assert len(recorded) == 3  # Monday alone, Tuesday, Monday again
        with restarted.store.transaction() as tx:
            tx.execute("UPDATE projection_tracking SET position = 0 WHERE name = 'photo_analysis'")
    finally:
        restarted.close()
    from_scratch = build(settings, adapters)
    try:
        assert from_scratch.analysis is not None and from_scratch.analysis.position() == 0
        follow(from_scratch)
        assert photo_events(from_scratch) == recorded
    finally:
        from_scratch.close()
