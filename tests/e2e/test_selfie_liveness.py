"""A photo of a photo at the face kiosk: someone holds up a phone or a print showing a
colleague's picture. The real engine scores the selfie's liveness; the check-in is flagged
`selfie_spoof_suspected` (or refused, where a plant asks for that) and HR finds it in
`GET /api/v1/anomalies` with the score as evidence. The honest twin is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings
from tests import faces
from tests.conftest import LiveServer, Plant, make_settings
from tests.e2e.anomaly_support import anomalies
from tests.e2e.test_face_checkin import enrol, face_check_in, selfie


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the flag travels through the same events on both stores


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, pg_schema: str) -> Settings:
    refuse_below = getattr(request, "param", None)
    return make_settings(
        "sqlite", tmp_path, pg_schema, vision_processes=0, face_spoof_refuse_below=refuse_below
    )


def test_a_colleagues_picture_held_up_with_a_badge_is_flagged_for_hr(
    server: LiveServer, plant: Plant
) -> None:
    assert enrol(server, plant.p1_token, "E01", faces.astronaut_selfies()).status_code == 201
    honest = face_check_in(server, plant, selfie(server, plant, faces.astronaut_selfies()[0]))
    assert honest.status_code == 201, honest.text
    assert honest.json()["status"] == "accepted" and honest.json()["flags"] == []
    held_up = selfie(server, plant, faces.astronaut_on_phone(0))
    cheat = face_check_in(server, plant, held_up, badge_uid=plant.badges["E02"])
    assert cheat.status_code == 201, cheat.text
    assert cheat.json()["status"] == "flagged"
    assert "selfie_spoof_suspected" in cheat.json()["flags"]
    found = [a for a in anomalies(server) if a["kind"] == "selfie_spoof_suspected"]
    assert [(a["checkin_id"], a["employee_id"]) for a in found] == [
        (cheat.json()["checkin_id"], "E02")
    ]
    assert found[0]["severity"] == "medium" and found[0]["status"] == "open"
    assert float(found[0]["evidence"]["selfie_liveness"]) < 0.5


@pytest.mark.parametrize("settings", [0.5], indirect=True)
def test_a_plant_that_refuses_spoofs_turns_the_picture_away_and_keeps_the_attempt(
    server: LiveServer, plant: Plant
) -> None:
    assert enrol(server, plant.p1_token, "E01", faces.astronaut_selfies()).status_code == 201
    refused = face_check_in(server, plant, selfie(server, plant, faces.astronaut_on_phone(0)))
    assert refused.status_code == 201, refused.text
    assert refused.headers["content-type"].startswith("application/json")
    assert refused.json()["status"] == "rejected" and refused.json()["message"]
    assert refused.json()["reason"] == "selfie_spoof_suspected"
    (found,) = [a for a in anomalies(server) if a["kind"] == "selfie_spoof_suspected"]
    assert found["evidence"]["refused"] == "selfie_spoof_suspected"
    honest = face_check_in(server, plant, selfie(server, plant, faces.astronaut_selfies()[0]))
    assert honest.status_code == 201 and honest.json()["status"] == "accepted", honest.text


def test_an_enrolment_from_a_picture_held_up_is_refused_and_nothing_is_stored(
    server: LiveServer, plant: Plant
) -> None:
    held_up = enrol(server, plant.p1_token, "E01", [faces.astronaut_on_phone(0)])
    assert held_up.status_code == 422, held_up.text
    assert held_up.headers["content-type"].startswith("application/problem+json")
    problem = held_up.json()
    assert problem["type"].endswith("face-refused") and problem["detail"]
    assert problem["reason"] == "selfie_spoof_suspected"
    assert "翻拍" in problem["reason_text"]
    assert server.muster.faces.templates.consent_ref("E01") is None
    # nobody is recognised from that picture: the badge is still the way in
    cheat = face_check_in(server, plant, selfie(server, plant, faces.astronaut_selfies()[0]))
    assert cheat.status_code == 201 and cheat.json()["status"] == "rejected"
    assert cheat.json()["reason"] == "face_not_recognised"
    honest = enrol(server, plant.p1_token, "E01", faces.astronaut_selfies())
    assert honest.status_code == 201 and honest.json()["templates"] == 2, honest.text
