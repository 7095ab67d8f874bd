"""Helpers for the anomaly scenarios: everything through the public HTTP contract."""

from __future__ import annotations

import io
import json
import time
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from app.adapters import Adapters
from app.bootstrap import Muster
from app.services.vision_adapters import InlineRoomAnalyser
from tests.conftest import LiveServer, fake_adapters
from vision.fake import FakeRoomAnalyzer, FixtureIndex


class GrowingFixtures(FixtureIndex):
    """The fake analyser's answers, looked for again when a photo written since is asked."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        super().__init__(directory)

    def answer(self, data: bytes) -> dict[str, Any]:
        found = super().answer(data)
        if not found:
            super().__init__(self.directory)
            found = super().answer(data)
        return found


def counted_beside(rooms: Path) -> InlineRoomAnalyser:
    """Room photos analysed at once, counted from the JSON `room_photo` writes beside them."""
    return InlineRoomAnalyser(FakeRoomAnalyzer(GrowingFixtures(rooms)))


@pytest.fixture
def adapters(rooms: Path) -> Adapters:
    """The fakes, with room photos counted from `rooms` (the fixture in conftest); a module
    that wants it imports it."""
    return replace(fake_adapters(), analyser=counted_beside(rooms))


def staff_token(server: LiveServer, login: str = "hr", password: str = "hr-password") -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def anomalies(server: LiveServer, token: str | None = None, **query: Any) -> list[dict[str, Any]]:
    """`GET /api/v1/anomalies` once the rules have seen everything stored so far."""
    settle(server.muster)
    reply = httpx.get(
        f"{server.url}/api/v1/anomalies",
        params={k: v for k, v in query.items() if v is not None},
        headers={"Authorization": f"Bearer {token or staff_token(server)}"},
    )
    assert reply.status_code == 200, reply.text
    return list(reply.json()["anomalies"])


def settle(muster: Muster, timeout: float = 30) -> None:
    """Projections, photo analysis and anomaly rules caught up with the log (a few rounds:
    each can give the next more to do)."""
    deadline = time.monotonic() + timeout
    for _ in range(4):
        assert muster.runner.wait_until_caught_up(max(deadline - time.monotonic(), 1))
        for subscriber in muster.subscribers:
            assert subscriber.wait_until_idle(max(deadline - time.monotonic(), 1))
    assert muster.runner.wait_until_caught_up(max(deadline - time.monotonic(), 1))


def room_photo(
    directory: Path,
    name: str,
    *,
    taken: datetime | None,
    people: int,
    seed: int = 0,
) -> bytes:
    """A room photo written beside its fake-analyser answer (``people`` faces counted),
    with its EXIF time (``None``: none at all). Each seed gives other pixels."""
    image = Image.effect_noise((320, 240), 60 + seed).convert("RGB")
    exif = Image.Exif()
    if taken is not None:
        exif[0x0110] = "TabletCam 3"
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
        ifd[0x9011] = taken.strftime("%z")[:3] + ":" + taken.strftime("%z")[3:]
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, exif=exif)
    data = out.getvalue()
    (directory / f"{name}.jpg").write_bytes(data)
    faces = [{"box": [10 + 24 * i, 40, 20, 20]} for i in range(people)]
    (directory / f"{name}.json").write_text(json.dumps({"faces": faces}))
    return data


def upload_photo(
    server: LiveServer,
    token: str,
    data: bytes,
    session_id: str,
    device_time: datetime | None,
    kind: str = "room",
) -> str:
    form = {"session_id": session_id, "kind": kind, "client_event_id": str(uuid.uuid4())}
    if device_time is not None:
        form["device_time"] = device_time.isoformat()
    reply = httpx.post(
        f"{server.url}/api/v1/photos",
        headers={"Authorization": f"Bearer {token}"},
        data=form,
        files={"file": ("room.jpg", data, "image/jpeg")},
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    return str(reply.json()["photo_id"])


def badge_in(server: LiveServer, token: str, session_id: str, badge: str, **extra: Any) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/checkins",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "client_event_id": str(uuid.uuid4()),
            "session_id": session_id,
            "method": "badge",
            "badge_uid": badge,
            **extra,
        },
        timeout=30,
    )
    assert reply.status_code in (200, 201), reply.text
    return str(reply.json()["checkin_id"])
