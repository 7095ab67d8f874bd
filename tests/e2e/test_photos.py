"""Site photos through the API: stored once by content, reuse recorded, analysed offline by the
real vision models in a worker process, shown with the session."""

from __future__ import annotations

import hashlib
import io
import time
import uuid

import httpx
import numpy as np
import pytest
from PIL import Image
from skimage import data as skimage_data

from tests.conftest import LiveServer, Plant
from vision.room.analysis import ANALYSER_VERSION


@pytest.fixture
def backend() -> str:
    return "sqlite"  # photo storage is files + events; the store matrix is covered elsewhere


def jpeg_with_exif(taken: str = "2026:11:24 08:05:00", offset: str | None = "+08:00") -> bytes:
    image = Image.fromarray(skimage_data.astronaut())
    exif = Image.Exif()
    exif[0x0110] = "TabletCam 3"  # Model
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = taken  # DateTimeOriginal
    if offset is not None:
        ifd[0x9011] = offset  # OffsetTimeOriginal
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()


def upload(
    server: LiveServer, token: str, data: bytes, session_id: str, cei: str, kind: str = "room"
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/photos",
        headers={"Authorization": f"Bearer {token}"},
        data={
            "session_id": session_id,
            "kind": kind,
            "client_event_id": cei,
            "device_time": "2026-11-24T08:05:03+08:00",
        },
        files={"file": ("room.jpg", data, "image/jpeg")},
        timeout=30,
    )


def attendance(server: LiveServer, session_id: str) -> dict[str, object]:
    token = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": "hr", "password": "hr-password"}
    ).json()["token"]
    reply = httpx.get(
        f"{server.url}/api/v1/sessions/{session_id}/attendance",
        headers={"Authorization": f"Bearer {token}"},
    )
    return reply.json()  # type: ignore[no-any-return]


@pytest.mark.vision("real")
def test_room_photo_is_stored_once_and_analysed(server: LiveServer, plant: Plant) -> None:
    photo = jpeg_with_exif()
    first = upload(server, plant.p1_token, photo, plant.session_id, "p-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["photo_id"] == hashlib.sha256(photo).hexdigest()
    assert body == {
        "photo_id": body["photo_id"],
        "exif_time": "2026-11-24T08:05:00+08:00",
        "status": "stored",
        "message": "已存储",
    }
    again = upload(server, plant.p1_token, photo, plant.session_id, "p-1")  # a retry
    assert again.json()["photo_id"] == body["photo_id"]
    deadline = time.monotonic() + 90  # the first job loads the dlib models in the worker
    photos: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        photos = attendance(server, plant.session_id)["photos"]  # type: ignore[assignment]
        if photos and photos[0]["status"] != "stored":
            break
        time.sleep(0.5)
    assert len(photos) == 1
    (shown,) = photos
    assert shown["status"] == "analysed", shown
    assert shown["headcount"] == 1  # the astronaut
    assert shown["uploads"] == 1
    assert shown["camera"] == "TabletCam 3"
    hr = {"Authorization": "Bearer " + token(server, "hr", "hr-password")}
    image = httpx.get(f"{server.url}/photos/{body['photo_id']}", headers=hr)
    assert image.status_code == 200 and image.content == photo
    # The evidence behind the count: one face box, on the astronaut's face (x 180–270 in 512).
    evidence = httpx.get(f"{server.url}/api/v1/photos/{body['photo_id']}", headers=hr).json()
    analysis = evidence["analysis"]
    assert analysis["headcount"] == 1 and analysis["analyser"] == ANALYSER_VERSION
    ((x, y, w, h),) = [f["box"] for f in analysis["faces"] if f["confirmed"]]
    assert 170 <= x + w / 2 <= 280 and 60 <= y + h / 2 <= 180
    assert [u["session_id"] for u in evidence["uploads_seen"]] == [plant.session_id]
    assert evidence["camera"] == "TabletCam 3"


def token(server: LiveServer, login: str, password: str) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
    )
    return reply.json()["token"]  # type: ignore[no-any-return]


@pytest.mark.vision("none")
def test_photo_evidence_api_is_scoped_and_plain_about_unknown_ids(
    server: LiveServer, plant: Plant
) -> None:
    photo = upload(server, plant.p2_token, jpeg_with_exif(), plant.other_plant_session_id, "q-1")
    photo_id = photo.json()["photo_id"]
    assert server.muster.runner.wait_until_caught_up(10)
    url = f"{server.url}/api/v1/photos/{photo_id}"
    p1_only = {"Authorization": "Bearer " + token(server, "sz1", "sz1-password")}
    refused = httpx.get(url, headers=p1_only)
    assert refused.status_code == 403 and refused.json()["type"].endswith("forbidden")
    unknown = httpx.get(f"{server.url}/api/v1/photos/{'0' * 64}", headers=p1_only)
    assert unknown.status_code == 404 and unknown.json()["photo_id"] == "0" * 64
    assert httpx.get(url).status_code == 401
    group = {"Authorization": "Bearer " + token(server, "hr", "hr-password")}
    seen = httpx.get(url, headers=group).json()
    assert seen["status"] == "stored" and seen["analysis"] is None
    assert seen["exif_time"] == "2026-11-24T08:05:00+08:00"
    # A smaller copy of that plant-2 photo turns up in plant 1: plant-1 staff see their copy,
    # and that it looks like a photo in another plant, but not which; group HR sees both.
    small = Image.open(io.BytesIO(jpeg_with_exif())).resize((300, 300))
    copy = upload(server, plant.p1_token, jpeg_of(np.asarray(small), 60), plant.session_id, "q-2")
    copy_url = f"{server.url}/api/v1/photos/{copy.json()['photo_id']}"
    assert server.muster.runner.wait_until_caught_up(10)
    hidden = httpx.get(copy_url, headers=p1_only)
    assert [n["other_plant"] for n in hidden.json()["near_duplicates"]] == [True]
    assert photo_id not in hidden.text and plant.other_plant_session_id not in hidden.text
    near = httpx.get(copy_url, headers=group).json()["near_duplicates"]
    assert [n["photo_id"] for n in near] == [photo_id]


@pytest.mark.vision("none")  # this test is about storage, not analysis
def test_the_same_picture_for_another_session_is_recorded_as_reuse(
    server: LiveServer, plant: Plant
) -> None:
    photo = jpeg_with_exif("2026:11:20 09:00:00")
    first = upload(server, plant.p1_token, photo, plant.session_id, "a-1").json()
    second = upload(server, plant.p1_token, photo, plant.later_session_id, "b-1").json()
    assert first["photo_id"] == second["photo_id"]
    assert server.muster.runner.wait_until_caught_up(10)
    later = attendance(server, plant.later_session_id)["photos"]
    assert [(p["photo_id"], p["uploads"], p["first_session"]) for p in later] == [  # type: ignore[index, union-attr]
        (first["photo_id"], 2, plant.session_id)
    ]
    topics = [
        n.topic for n in server.muster.app.recorder.select_notifications(start=1, limit=10_000)
    ]
    assert sum(t.endswith("Photo.PhotoReused") for t in topics) == 1


def jpeg_of(rgb: object, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)  # type: ignore[arg-type]
    return out.getvalue()


@pytest.mark.vision("none")
def test_a_resized_recompressed_copy_is_found_as_looking_like_the_earlier_photo(
    server: LiveServer, plant: Plant
) -> None:
    """Borrowed photos are rarely byte-identical: a resized, recompressed copy uploaded for
    another session carries which stored photo it looks like; an unrelated photo carries none."""
    original = jpeg_with_exif("2026:11:20 09:00:00")
    small = Image.open(io.BytesIO(original)).resize((384, 384))
    copy = jpeg_of(np.asarray(small), quality=60)
    other = jpeg_of(skimage_data.coffee())
    first = upload(server, plant.p1_token, original, plant.session_id, "n-1").json()
    assert server.muster.runner.wait_until_caught_up(10)
    second = upload(server, plant.p1_token, copy, plant.later_session_id, "n-2").json()
    third = upload(server, plant.p1_token, other, plant.later_session_id, "n-3").json()
    assert len({first["photo_id"], second["photo_id"], third["photo_id"]}) == 3
    assert server.muster.runner.wait_until_caught_up(10)
    later = {p["photo_id"]: p for p in attendance(server, plant.later_session_id)["photos"]}  # type: ignore[union-attr]
    near = later[second["photo_id"]]["near_duplicates"]
    assert [(n["photo_id"], n["session_id"]) for n in near] == [
        (first["photo_id"], plant.session_id)
    ]
    assert later[third["photo_id"]]["near_duplicates"] == []
    earlier = attendance(server, plant.session_id)["photos"]
    assert [p["near_duplicates"] for p in earlier] == [[]]  # type: ignore[index]


@pytest.mark.vision("none")
def test_bad_photos_get_problems_and_store_nothing(server: LiveServer, plant: Plant) -> None:
    corrupt = upload(
        server, plant.p1_token, b"\xff\xd8\xff\xe0 not really a jpeg", plant.session_id, "c-1"
    )
    assert corrupt.status_code == 422 and corrupt.json()["type"].endswith("image-rejected")
    assert corrupt.json()["reason"] == "image_corrupt"
    huge = upload(server, plant.p1_token, b"\xff" * (15 * 1024 * 1024 + 1), plant.session_id, "c-2")
    assert huge.status_code == 413
    other_plant = upload(server, plant.p2_token, jpeg_with_exif(), plant.session_id, "c-3")
    assert other_plant.status_code == 403
    no_file = httpx.post(
        f"{server.url}/api/v1/photos",
        headers={"Authorization": f"Bearer {plant.p1_token}"},
        data={"session_id": plant.session_id, "kind": "room", "client_event_id": "c-4"},
        files={"other": ("x", b"x")},
    )
    assert no_file.status_code == 422
    wrong_kind = upload(
        server, plant.p1_token, jpeg_with_exif(), plant.session_id, "c-5", kind="poster"
    )
    assert wrong_kind.status_code == 422
    anonymous = httpx.post(
        f"{server.url}/api/v1/photos",
        files={"file": ("a.jpg", b"x")},
        data={"session_id": plant.session_id, "kind": "room", "client_event_id": str(uuid.uuid4())},
    )
    assert anonymous.status_code == 401
    assert server.muster.runner.wait_until_caught_up(10)
    assert server.muster.store.fetch("SELECT photo_id FROM photos") == []
    # written beside the forensics, the refused bytes were removed before the answer
    assert list((server.muster.settings.var_dir / "photos").rglob("*")) == []


def photo_topics(server: LiveServer) -> list[str]:
    notifications = server.muster.app.recorder.select_notifications(start=1, limit=10_000)
    return [n.topic.rsplit(".", 1)[-1] for n in notifications if ".Photo" in n.topic]


@pytest.mark.vision("none")  # storage only: no analysis events arrive meanwhile
def test_the_same_client_event_id_with_other_bytes_is_refused_and_nothing_is_stored(
    server: LiveServer, plant: Plant
) -> None:
    """A tablet bug (or a forged resend) reuses a photo's `client_event_id` for another
    picture: 409 `idempotency-key-reused` naming the photo the key belongs to, and no event,
    no file; the honest resend of the first picture still answers as before."""
    first = upload(server, plant.p1_token, jpeg_with_exif(), plant.session_id, "k-1")
    assert first.status_code == 201, first.text
    before = photo_topics(server)
    files = sorted(p.name for p in (server.muster.settings.var_dir / "photos").rglob("*"))
    other = jpeg_of(skimage_data.coffee())
    reused = upload(server, plant.p1_token, other, plant.session_id, "k-1")
    assert reused.status_code == 409, reused.text
    problem = reused.json()
    assert problem["type"].endswith("/idempotency-key-reused")
    assert problem["photo_id"] == first.json()["photo_id"]
    assert problem["client_event_id"] == "k-1"
    also_elsewhere = upload(server, plant.p1_token, other, plant.later_session_id, "k-1")
    assert also_elsewhere.status_code == 409
    assert photo_topics(server) == before
    assert sorted(p.name for p in (server.muster.settings.var_dir / "photos").rglob("*")) == files
    again = upload(server, plant.p1_token, jpeg_with_exif(), plant.session_id, "k-1")
    assert (again.status_code, again.json()["photo_id"]) == (201, first.json()["photo_id"])
    assert photo_topics(server) == before
    # Another tablet may use the same id for its own photo: keys are per device.
    own = upload(server, plant.p2_token, other, plant.other_plant_session_id, "k-1")
    assert own.status_code == 201, own.text
