"""The photo evidence page over HTTP: who may see a photo, how its times read, and where it was
used. The boxes themselves are checked in a real browser (test_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from app.web import pages
from tests.conftest import LiveServer, Plant
from tests.e2e.test_photos import jpeg_with_exif, upload


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the page reads the same projection on both stores


@contextmanager
def staff(server: LiveServer, login: str, password: str) -> Iterator[httpx.Client]:
    """An HTTP client logged in through the login form (the session cookie)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        reply = client.post("/login", data={"login": login, "password": password, "next": "/"})
        assert reply.status_code == 302, reply.text
        yield client


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:span|dd)>', html, re.S)
    assert found, f"#{element_id} not on the page"
    return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip()


@pytest.mark.vision("none")
def test_exif_time_without_a_zone_is_plant_time_and_the_gap_to_upload_shows(
    server: LiveServer, plant: Plant
) -> None:
    """A camera that records no time zone writes the plant's wall clock: 08:05 stays 08:05 on
    the page (not 16:05, as UTC read into Shanghai would give), and the minutes between taking
    and uploading are worked out from it."""
    photo = upload(
        server,
        plant.p1_token,
        jpeg_with_exif("2026:11:24 08:05:00", offset=None),
        plant.session_id,
        "z-1",
    ).json()
    assert server.muster.runner.wait_until_caught_up(10)
    with staff(server, "hr", "hr-password") as client:
        html = client.get(f"/photos/{photo['photo_id']}/evidence?lang=en").text
    assert text_of(html, "photo-exif").startswith("2026-11-24 08:05:00")
    assert "read as plant time" in text_of(html, "photo-exif")
    # Uploaded now, long after 2026-11-24 08:05 Shanghai: a large gap, flagged.
    assert re.fullmatch(r"taken \d+ min before upload", text_of(html, "photo-gap"))
    assert 'class="flag" id="photo-gap"' in html


@pytest.mark.vision("none")
def test_in_scale_out_the_page_waits_for_a_worker_only_as_long_as_one_could_come(
    server: LiveServer, plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web process analyses nothing; a `muster worker --vision` it cannot see does. A room
    photo just stored reads "Analysing…" and the page listens for the result; one no worker
    has taken ten minutes on reads "—"."""
    photo = upload(server, plant.p1_token, jpeg_with_exif(), plant.session_id, "w-1").json()
    assert server.muster.runner.wait_until_caught_up(10)
    url = f"/photos/{photo['photo_id']}/evidence?lang=en"
    with staff(server, "hr", "hr-password") as client:
        waiting = client.get(url).text
        monkeypatch.setattr(pages, "ANALYSIS_EXPECTED_S", 0)  # ten minutes on, still no worker
        given_up = client.get(url).text
    live = f'ws-connect="/ws/live?scope=photo:{photo["photo_id"]}&session={plant.session_id}'
    assert live in waiting
    assert "Analysing…" in waiting
    assert "hx-trigger" not in waiting  # pushed, never polled
    assert "Analysing…" not in given_up


@pytest.mark.vision("none")
def test_a_photo_used_for_two_sessions_lists_both_and_links_back(
    server: LiveServer, plant: Plant
) -> None:
    photo = jpeg_with_exif("2026:11:24 08:05:00")
    first = upload(server, plant.p1_token, photo, plant.session_id, "r-1").json()
    upload(server, plant.p1_token, photo, plant.later_session_id, "r-2")
    assert server.muster.runner.wait_until_caught_up(10)
    with staff(server, "hr", "hr-password") as client:
        session_page = client.get(f"/sessions/{plant.later_session_id}").text
        link = f"/photos/{first['photo_id']}/evidence?session={plant.later_session_id}"
        assert link in session_page
        html = client.get(link).text
    assert "上传到的场次" in html
    assert html.count('<li><a href="/sessions/') == 2
    # The page compares with, and goes back to, the session it was opened from.
    assert f'<a href="/sessions/{plant.later_session_id}">←' in html
    assert "TabletCam 3" in html


@pytest.mark.vision("none")
def test_a_photo_is_only_shown_to_staff_who_may_see_its_plant(
    server: LiveServer, plant: Plant
) -> None:
    photo = upload(
        server, plant.p2_token, jpeg_with_exif(), plant.other_plant_session_id, "s-1"
    ).json()
    assert server.muster.runner.wait_until_caught_up(10)
    url = f"/photos/{photo['photo_id']}/evidence"
    anonymous = httpx.get(server.url + url, follow_redirects=False)
    assert anonymous.status_code in (302, 303)
    assert anonymous.headers["location"] == f"/login?next={url}"
    with staff(server, "sz1", "sz1-password") as client:  # plant P1 only
        refused = client.get(url)
        assert refused.status_code == 404 and "找不到该照片" in refused.text
        assert client.get("/photos/" + "0" * 64 + "/evidence").status_code == 404
    with staff(server, "hr", "hr-password") as client:  # the whole group
        assert client.get(url).status_code == 200
