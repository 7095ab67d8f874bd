"""Face enrolment and face check-in over HTTP, as a kiosk does it: real faces, real engine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests import faces
from tests.conftest import LiveServer, Plant, make_settings


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    return make_settings(backend, tmp_path, pg_schema, vision_processes=0, **faces.LFW_FRIENDLY)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enrol(
    server: LiveServer, token: str, employee: str, selfies: list[bytes], consent: str = "true"
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/face-enrolments",
        headers=auth(token),
        data={"employee_id": employee, "consent": consent},
        files=[("file", (f"s{i}.jpg", s, "image/jpeg")) for i, s in enumerate(selfies)],
        timeout=60,
    )


def selfie(server: LiveServer, plant: Plant, data: bytes) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/photos",
        headers=auth(plant.p1_token),
        data={
            "session_id": plant.session_id,
            "kind": "selfie",
            "client_event_id": str(uuid.uuid4()),
            "device_time": datetime.now(UTC).isoformat(),
        },
        files={"file": ("selfie.jpg", data, "image/jpeg")},
        timeout=30,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["message"] == "已存储"
    return str(reply.json()["photo_id"])


def face_check_in(server: LiveServer, plant: Plant, photo_id: str, **extra: str) -> httpx.Response:
    body = {
        "client_event_id": str(uuid.uuid4()),
        "session_id": plant.session_id,
        "method": "face",
        "face_photo_id": photo_id,
        "device_time": datetime.now(UTC).isoformat(),
        **extra,
    }
    return httpx.post(
        f"{server.url}/api/v1/checkins", headers=auth(plant.p1_token), json=body, timeout=60
    )


def test_an_enrolled_face_checks_in_with_name_and_success(server: LiveServer, plant: Plant) -> None:
    reply = enrol(server, plant.p1_token, "E01", faces.astronaut_selfies())
    assert reply.status_code == 201, reply.text
    assert reply.json() == {"employee_id": "E01", "enrolled": True, "templates": 2}
    answer = face_check_in(server, plant, selfie(server, plant, faces.astronaut_later()))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["employee"] == {"id": "E01", "name": "员工E01"}
    assert body["message"] == "签到成功" and body["status"] == "accepted"


@pytest.mark.parametrize(
    ("photo", "reason"),
    [
        (faces.no_face, "no_face"),
        (faces.two_faces, "two_faces"),
        (lambda: faces.lfw_person(7), "face_not_recognised"),
    ],
)
def test_a_selfie_that_names_nobody_is_refused_with_the_reason(
    server: LiveServer, plant: Plant, photo: object, reason: str
) -> None:
    assert enrol(server, plant.p1_token, "E01", faces.astronaut_selfies()).status_code == 201
    assert callable(photo)
    answer = face_check_in(server, plant, selfie(server, plant, photo()))
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["status"] == "rejected" and body["employee"] is None and "type" not in body
    assert body["reason"] == reason
    assert body["message"] and body["message"] == body["detail"]


def test_a_face_that_is_not_the_badge_holder_is_flagged(server: LiveServer, plant: Plant) -> None:
    assert enrol(server, plant.p1_token, "E01", faces.astronaut_selfies()).status_code == 201
    assert enrol(server, plant.p1_token, "E02", [faces.lfw_person(1)]).status_code == 201
    photo = selfie(server, plant, faces.astronaut_later())
    answer = face_check_in(server, plant, photo, badge_uid=plant.badges["E02"])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["employee"]["id"] == "E02" and body["status"] == "flagged"
    assert {"face_mismatch", "proxy_suspected"} <= set(body["flags"])
    honest = face_check_in(server, plant, photo, badge_uid=plant.badges["E01"])
    assert honest.json()["status"] == "accepted" and honest.json()["flags"] == []


def test_enrolment_needs_consent_and_a_face(server: LiveServer, plant: Plant) -> None:
    refused = enrol(server, plant.p1_token, "E01", faces.astronaut_selfies(), consent="false")
    assert refused.status_code == 422 and refused.json()["type"].endswith("/consent-required")
    no_face = enrol(server, plant.p1_token, "E01", [faces.no_face()])
    assert no_face.status_code == 422 and no_face.json()["reason"] == "no_face"
    too_many = enrol(server, plant.p1_token, "E01", faces.astronaut_selfies() * 3)
    assert too_many.status_code == 422
    unknown = enrol(server, plant.p1_token, "NOBODY", faces.astronaut_selfies())
    assert unknown.status_code == 404
    assert server.muster.faces.templates.consent_ref("E01") is None


def test_withdrawing_consent_stops_face_check_in(server: LiveServer, plant: Plant) -> None:
    assert enrol(server, plant.p1_token, "E01", faces.astronaut_selfies()).status_code == 201
    gone = httpx.delete(f"{server.url}/api/v1/face-enrolments/E01", headers=auth(plant.p1_token))
    assert gone.status_code == 200
    assert gone.json() == {"employee_id": "E01", "enrolled": False, "templates_deleted": 2}
    answer = face_check_in(server, plant, selfie(server, plant, faces.astronaut_later()))
    assert answer.json()["reason"] == "face_not_recognised"
    again = httpx.delete(f"{server.url}/api/v1/face-enrolments/E01", headers=auth(plant.p1_token))
    assert again.status_code == 404


def test_a_face_photo_never_uploaded_is_a_clear_problem(server: LiveServer, plant: Plant) -> None:
    answer = face_check_in(server, plant, "0" * 64)
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("/unknown-photo")


def user_token(server: LiveServer, login: str, password: str) -> str:
    reply = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"login": login, "password": password}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


def withdraw(server: LiveServer, token: str, employee: str) -> httpx.Response:
    return httpx.delete(f"{server.url}/api/v1/face-enrolments/{employee}", headers=auth(token))


def test_a_kiosk_enrols_and_withdraws_only_its_own_plants_people(
    server: LiveServer, plant: Plant
) -> None:
    templates = server.muster.faces.templates
    elsewhere = enrol(server, plant.p2_token, "E01", faces.astronaut_selfies())
    assert elsewhere.status_code == 403
    assert elsewhere.json()["type"].endswith("/employee-other-plant")
    assert templates.consent_ref("E01") is None  # nothing stored
    assert enrol(server, plant.p1_token, "E01", faces.astronaut_selfies()).status_code == 201
    refused = withdraw(server, plant.p2_token, "E01")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/employee-other-plant")
    assert templates.consent_ref("E01") is not None  # still enrolled
    answer = face_check_in(server, plant, selfie(server, plant, faces.astronaut_later()))
    assert answer.json()["employee"]["id"] == "E01"
    assert withdraw(server, plant.p1_token, "E01").status_code == 200


def test_a_person_enrols_only_themselves_and_staff_withdraw_only_inside_their_scope(
    server: LiveServer, plant: Plant
) -> None:
    app = server.muster.app
    app.add_user("e01", "employee", "W1-T1", "t", password="e01-password", employee_no="E01")
    app.add_user("e02", "employee", "W1-T1", "t", password="e02-password", employee_no="E02")
    app.add_user("hr-p2", "hr", "P2", "t", password="hr-p2-password")
    assert server.muster.runner.wait_until_caught_up(30)
    templates = server.muster.faces.templates
    other = enrol(server, user_token(server, "e02", "e02-password"), "E01", [faces.lfw_person(1)])
    assert other.status_code == 403 and other.json()["type"].endswith("/not-yourself")
    assert templates.consent_ref("E01") is None
    me = user_token(server, "e01", "e01-password")
    assert enrol(server, me, "E01", faces.astronaut_selfies()).status_code == 201
    outside = withdraw(server, user_token(server, "hr-p2", "hr-p2-password"), "E01")
    assert outside.status_code == 403 and outside.json()["type"].endswith("/forbidden")
    assert templates.consent_ref("E01") is not None
    inside = withdraw(server, user_token(server, "hr", "hr-password"), "E01")
    assert inside.status_code == 200 and inside.json()["templates_deleted"] == 2
    assert templates.consent_ref("E01") is None
