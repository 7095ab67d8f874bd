"""The photo evidence page is pushed over /ws/live, like the session page: its analysis
arriving, and the photo turning up in another session, reach an open page without asking."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

import pytest
import websockets

from app.bootstrap import Adapters
from app.services.vision_adapters import InlineRoomAnalyser
from tests.conftest import VISION_FIXTURES, LiveServer, Plant, fake_adapters, fixture_index
from tests.e2e.test_live import next_json, user_token, ws_url
from tests.e2e.test_photos import upload
from vision.fake import FakeRoomAnalyzer
from vision.room.analysis import RoomAnalysis
from vision.runtime import JobOutcome


class HeldAnalyser(InlineRoomAnalyser):
    """The fake analyser, holding each analysis until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(FakeRoomAnalyzer(fixture_index()))
        self.go = threading.Event()

    def analyse(self, data: bytes, earlier: Sequence[bytes]) -> JobOutcome[RoomAnalysis]:
        assert self.go.wait(30)
        return super().analyse(data, earlier)


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the hub reads the same queries on both stores


@pytest.fixture
def held() -> HeldAnalyser:
    return HeldAnalyser()


@pytest.fixture
def adapters(held: HeldAnalyser) -> Adapters:
    return replace(fake_adapters(), analyser=held)


async def test_an_open_photo_page_gets_its_analysis_and_its_reuse_pushed(
    server: LiveServer, plant: Plant, held: HeldAnalyser
) -> None:
    photo = (VISION_FIXTURES / "room_three_people.png").read_bytes()
    stored = upload(server, plant.p1_token, photo, plant.session_id, "live-1").json()
    assert server.muster.runner.wait_until_caught_up(10)
    token = user_token(server, "hr", "hr-password")
    query = f"scope=photo:{stored['photo_id']}&session={plant.session_id}&format=json"
    async with websockets.connect(ws_url(server, f"{query}&token={token}")) as socket:
        snapshot = await next_json(socket)
        assert (snapshot["type"], snapshot["kind"]) == ("session", "photo")
        assert snapshot["id"] == stored["photo_id"]
        assert snapshot["photo"]["status"] == "stored" and snapshot["pending"]  # type: ignore[index]
        held.go.set()
        pushed = await next_json(socket, timeout=10)
        assert pushed["photo"]["status"] == "analysed"  # type: ignore[index]
        assert pushed["photo"]["analysis"]["headcount"] == 3  # type: ignore[index]
        assert not pushed["pending"]
        upload(server, plant.p1_token, photo, plant.later_session_id, "live-2")
        reused = await next_json(socket, timeout=10)
        assert reused["photo"]["uploads"] == 2  # type: ignore[index]
