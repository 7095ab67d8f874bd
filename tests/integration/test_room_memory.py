"""Which earlier photos room memory compares a new room photo with (`earlier_room_photos`), on
both stores: other sessions in the same room, long enough before, the latest photo of each; and
how the photo service reads them (the analysis itself: tests/e2e/test_room_memory.py)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from app.bootstrap import Muster
from app.domain.evidence import Photo, PhotoKind
from app.projections.queries import earlier_room_photos
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


def test_one_photo_from_each_earlier_session_of_the_room_newest_first(
    muster: Muster, plant: Plant
) -> None:
    now = session_in(muster, "S-THU", "培训室A", MONDAY + timedelta(days=3))
    wed = session_in(muster, "S-WED", "培训室A", MONDAY + timedelta(days=2))
    tue = session_in(muster, "S-TUE", "培训室A", MONDAY + timedelta(days=1))
    mon = session_in(muster, "S-MON", "培训室A", MONDAY)
    this_morning = session_in(muster, "S-THU-AM", "培训室A", MONDAY + timedelta(days=3, hours=-2))
    exactly_12h = session_in(muster, "S-WED-PM", "培训室A", MONDAY + timedelta(days=2, hours=12))
    other_room = session_in(muster, "S-B", "培训室B", MONDAY + timedelta(days=2, hours=6))
    other_plant = session_in(muster, "S-P2-WED", "培训室A", MONDAY + timedelta(days=2), plant="P2")
    new = photo_for(muster, now, "thursday")
    photo_for(muster, now, "thursday, a second one")
    photo_for(muster, wed, "wednesday, first")
    wed_last = photo_for(muster, wed, "wednesday, last")
    photo_for(muster, wed, "wednesday, a selfie", kind=PhotoKind.SELFIE)
    tue_photo = photo_for(muster, tue, "tuesday")
    mon_photo = photo_for(muster, mon, "monday")
    photo_for(muster, this_morning, "thursday morning")
    at_12h = photo_for(muster, exactly_12h, "wednesday evening")
    photo_for(muster, other_room, "room B")
    photo_for(muster, other_plant, "plant 2")
    assert muster.runner.wait_until_caught_up(30)

    def earlier(session_id: str, photo_id: str, n: int = 3) -> list[str]:
        query = earlier_room_photos(muster.store, session_id, photo_id, timedelta(hours=12), n)
        return asyncio.run(query)

    # Not this session's other photo, nor this morning's, room B's, plant 2's or a selfie; a
    # session exactly 12 hours before counts; Wednesday's is its last photo.
    assert earlier(now, new) == [at_12h, wed_last, tue_photo]
    assert earlier(now, new, n=1) == [at_12h]
    assert earlier(exactly_12h, at_12h) == [wed_last, tue_photo, mon_photo]
    assert earlier(mon, mon_photo) == []
    assert earlier(str(uuid.uuid4()), new) == []


def room_jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, shade, shade)).save(out, format="JPEG")
    return out.getvalue()


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
    assert asyncio.run(muster.photos._room_memory(new)) == [stored[first]]

    async def no_store(*_: object) -> list[str]:
        raise OSError("database is locked")

    monkeypatch.setattr(photos, "earlier_room_photos", no_store)
    assert asyncio.run(muster.photos._room_memory(new)) == []
