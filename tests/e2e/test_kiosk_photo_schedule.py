"""The kiosk's room-photo schedule is each plant's own (`evidence_by_plant`), as the tablet
reads it from `GET /api/v1/kiosk`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.adapters import Adapters
from app.settings import Settings
from tests.conftest import LiveServer, Plant, fake_adapters, make_settings


@pytest.fixture
def backend() -> str:
    return "sqlite"  # a setting read on the way out: the store does not matter


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(
        "sqlite",
        tmp_path,
        "public",
        kiosk_photo_every_minutes=12,
        evidence_by_plant={"P2": {"kiosk_photo_every_minutes": 3, "kiosk_photo_every_checkins": 5}},
    )


@pytest.fixture
def adapters() -> Adapters:
    return fake_adapters()  # the kiosk warms its face engine: the fake one is enough here


def schedule(server: LiveServer, token: str) -> dict[str, int]:
    reply = httpx.get(f"{server.url}/api/v1/kiosk", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["photo_policy"])


def test_each_plants_tablets_photograph_the_room_on_the_plants_own_schedule(
    server: LiveServer, plant: Plant
) -> None:
    assert schedule(server, plant.p1_token) == {"every_minutes": 12, "every_checkins": 15}
    assert schedule(server, plant.p2_token) == {"every_minutes": 3, "every_checkins": 5}
