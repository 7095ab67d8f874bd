"""A photo that looks like one stored for another plant: staff who may not see that plant learn
that it does (reuse across plants is evidence), but not which photo or session it is, on the
session page, the attendance API, the photo evidence page and every live push."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from dataclasses import dataclass

import httpx
import numpy as np
import pytest
import websockets
from PIL import Image

from app.projections.queries import redact_near
from tests.conftest import LiveServer, Plant
from tests.e2e.test_live import badge_check_in, user_token, ws_url
from tests.e2e.test_photo_page import staff
from tests.e2e.test_photos import jpeg_of, jpeg_with_exif, upload

pytestmark = pytest.mark.vision("none")  # about look-alikes, not analysis


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the redaction is in the queries, the same on both stores


@dataclass(frozen=True)
class Reuse:
    original: str  # the photo stored for the plant-2 session
    copy: str  # a smaller copy of it, uploaded for the plant-1 session


def reuse_across_plants(server: LiveServer, plant: Plant) -> Reuse:
    original = upload(
        server, plant.p2_token, jpeg_with_exif(), plant.other_plant_session_id, "x-1"
    ).json()["photo_id"]
    assert server.muster.runner.wait_until_caught_up(10)
    small = Image.open(io.BytesIO(jpeg_with_exif())).resize((384, 384))
    copy = upload(
        server, plant.p1_token, jpeg_of(np.asarray(small), 60), plant.session_id, "x-2"
    ).json()["photo_id"]
    assert server.muster.runner.wait_until_caught_up(10)
    return Reuse(original, copy)


def assert_names_nothing_of_plant_2(text: str, plant: Plant, reuse: Reuse) -> None:
    assert reuse.original not in text and reuse.original[:8] not in text
    assert plant.other_plant_session_id not in text


def attendance(server: LiveServer, plant: Plant, login: str, password: str) -> httpx.Response:
    token = user_token(server, login, password)
    return httpx.get(
        f"{server.url}/api/v1/sessions/{plant.session_id}/attendance",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_plant_staff_learn_a_photo_looks_like_one_in_another_plant_but_not_which(
    server: LiveServer, plant: Plant
) -> None:
    reuse = reuse_across_plants(server, plant)
    reply = attendance(server, plant, "sz1", "sz1-password")  # plant P1 only
    assert reply.status_code == 200
    (photo,) = reply.json()["photos"]
    assert photo["photo_id"] == reuse.copy
    (near,) = photo["near_duplicates"]
    assert near["other_plant"] is True
    assert set(near) == {"other_plant", "distance", "detail_distance"}
    assert_names_nothing_of_plant_2(reply.text, plant, reuse)
    with staff(server, "sz1", "sz1-password") as client:
        page = client.get(f"/sessions/{plant.session_id}?lang=en")
        evidence = client.get(f"/photos/{reuse.copy}/evidence")
        api = client.get(f"/api/v1/photos/{reuse.copy}")
    assert page.status_code == 200
    assert "Looks like a photo from another plant" in page.text
    assert_names_nothing_of_plant_2(page.text, plant, reuse)
    assert evidence.status_code == 200
    assert "a photo from another plant" in evidence.text  # the language chosen sticks
    assert_names_nothing_of_plant_2(evidence.text, plant, reuse)
    assert [n["other_plant"] for n in api.json()["near_duplicates"]] == [True]
    assert_names_nothing_of_plant_2(api.text, plant, reuse)


def test_group_staff_see_which_photo_in_the_other_plant_it_looks_like(
    server: LiveServer, plant: Plant
) -> None:
    reuse = reuse_across_plants(server, plant)
    (photo,) = attendance(server, plant, "hr", "hr-password").json()["photos"]
    (near,) = photo["near_duplicates"]
    assert (near["photo_id"], near["session_id"], near["other_plant"]) == (
        reuse.original,
        plant.other_plant_session_id,
        False,
    )
    with staff(server, "hr", "hr-password") as client:
        page = client.get(f"/sessions/{plant.session_id}?lang=en").text
        evidence = client.get(f"/photos/{reuse.copy}/evidence").text
    assert f'<a href="/photos/{reuse.original}/evidence">{reuse.original[:8]}</a>' in page
    assert f'<a href="/sessions/{plant.other_plant_session_id}">another session</a>' in page
    assert "another plant" not in page
    assert f'<a href="/photos/{reuse.original}/evidence">' in evidence
    assert "another plant" not in evidence


async def recv_text(socket: websockets.ClientConnection) -> str:
    text = await asyncio.wait_for(socket.recv(), 5)
    assert isinstance(text, str)
    return text


async def test_live_pushes_show_each_viewer_only_the_look_alikes_they_may_see(
    server: LiveServer, plant: Plant
) -> None:
    """Plant and group staff watching the same session get different pushes of one change."""
    reuse = reuse_across_plants(server, plant)
    scope = f"scope=session:{plant.session_id}&lang=en"
    urls = {
        (login, fmt): ws_url(
            server, f"{scope}&format={fmt}&token={user_token(server, login, login + '-password')}"
        )
        for login in ("sz1", "hr")
        for fmt in ("json", "html")
    }
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            k: await stack.enter_async_context(websockets.connect(url)) for k, url in urls.items()
        }
        snapshots = {k: await recv_text(s) for k, s in clients.items()}
        await badge_check_in(server, plant, "E01")
        pushes = {k: await recv_text(s) for k, s in clients.items()}
    for sent in (snapshots, pushes):
        plant_json, group_json = json.loads(sent["sz1", "json"]), json.loads(sent["hr", "json"])
        (plant_near,) = plant_json["session"]["photos"][0]["near_duplicates"]
        assert plant_near["other_plant"] is True
        assert_names_nothing_of_plant_2(sent["sz1", "json"], plant, reuse)
        (group_near,) = group_json["session"]["photos"][0]["near_duplicates"]
        assert group_near["photo_id"] == reuse.original
        assert "Looks like a photo from another plant" in sent["sz1", "html"]
        assert_names_nothing_of_plant_2(sent["sz1", "html"], plant, reuse)
        assert f'<a href="/sessions/{plant.other_plant_session_id}">' in sent["hr", "html"]
    assert json.loads(pushes["sz1", "json"])["session"]["checked_in"] == 1


@pytest.mark.parametrize(
    ("plants_of", "shown"),
    [
        ({"s1": "P1"}, {"photo_id": "a", "session_id": "s1", "distance": 3, "other_plant": False}),
        ({"s1": "P2"}, {"distance": 3, "other_plant": True}),
        ({}, {"distance": 3, "other_plant": True}),  # a session not (yet) known: hidden
    ],
)
def test_a_look_alike_names_its_photo_only_to_who_may_see_its_plant(
    plants_of: dict[str, str], shown: dict[str, object]
) -> None:
    near = [{"photo_id": "a", "session_id": "s1", "distance": 3}]
    assert redact_near(near, plants_of, {"P1"}) == [shown]
