"""Face enrolment under consent and recognition, with the real engine on both stores."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.bootstrap import Muster, build
from app.services.faces import ConsentRequired, FaceRefused, NotEnrolled
from app.settings import Settings
from tests import faces
from tests.conftest import Plant, load_plant, make_settings


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    return make_settings(backend, tmp_path, pg_schema, **faces.LFW_FRIENDLY)


@pytest.fixture
def muster(settings: Settings) -> Iterator[Muster]:
    wired = build(settings)
    yield wired
    wired.close()


def stored(muster: Muster, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    muster.photos.files.put(sha, data)
    return sha


def topics(muster: Muster) -> list[str]:
    return [n.topic for n in muster.app.recorder.select_notifications(start=1, limit=10_000)]


def test_no_consent_no_face_data(muster: Muster, plant: Plant) -> None:
    before = topics(muster)
    with pytest.raises(ConsentRequired):
        muster.faces.enrol("E01", faces.astronaut_selfies(), False, "device:t", "device:t")
    assert topics(muster) == before
    assert muster.faces.templates.consent_ref("E01") is None


def test_enrolled_face_is_recognised_and_templates_stay_out_of_events(
    muster: Muster, plant: Plant
) -> None:
    enrolled = muster.faces.enrol("E01", faces.astronaut_selfies(), True, "user:e01", "user:e01")
    assert enrolled.templates == 2
    new = [t for t in topics(muster) if "Face" in t]
    assert [t.rsplit(".", 1)[1] for t in new] == ["FaceConsentGiven", "FaceEnrolled"]
    states = [
        json.loads(n.state)
        for n in muster.app.recorder.select_notifications(start=1, limit=10_000)
        if "Face" in n.topic
    ]
    assert all(len(json.dumps(s)) < 400 for s in states)  # counts and refs, no 128-d vectors
    row = muster.store.fetch_one("SELECT blob FROM face_templates WHERE employee_no = 'E01'")
    assert row is not None and "consent" not in row["blob"]  # encrypted, not readable JSON

    found = muster.faces.recognise(stored(muster, faces.astronaut_later()), plant.session_id, "P1")
    assert (found.employee_no, found.scope) == ("E01", "roster")


def test_someone_not_enrolled_is_not_recognised(muster: Muster, plant: Plant) -> None:
    muster.faces.enrol("E01", faces.astronaut_selfies(), True, "t", "t")
    muster.faces.enrol("E02", [faces.lfw_person(1)], True, "t", "t")
    with pytest.raises(FaceRefused) as refused:
        muster.faces.recognise(stored(muster, faces.lfw_person(7)), plant.session_id, "P1")
    assert refused.value.reason == "face_not_recognised"


def test_selfies_without_one_face_are_refused_with_the_reason(muster: Muster, plant: Plant) -> None:
    muster.faces.enrol("E01", faces.astronaut_selfies(), True, "t", "t")
    for photo, reason in ((faces.no_face(), "no_face"), (faces.two_faces(), "two_faces")):
        with pytest.raises(FaceRefused) as refused:
            muster.faces.recognise(stored(muster, photo), plant.session_id, "P1")
        assert refused.value.reason == reason
    with pytest.raises(FaceRefused) as refused:
        muster.faces.enrol("E03", [faces.no_face()], True, "t", "t")
    assert refused.value.reason == "no_face"
    assert muster.faces.templates.consent_ref("E03") is None


def test_a_face_that_is_not_the_badge_holder_names_who_it_is(muster: Muster, plant: Plant) -> None:
    muster.faces.enrol("E01", faces.astronaut_selfies(), True, "t", "t")
    muster.faces.enrol("E02", [faces.lfw_person(1)], True, "t", "t")
    selfie = stored(muster, faces.astronaut_later())
    other = muster.faces.compare(selfie, "E02", "P1")
    assert other.mismatch and other.looks_like == "E01"
    same = muster.faces.compare(selfie, "E01", "P1")
    assert same.decision == "match" and not same.mismatch
    # a badge holder who never enrolled: the face is still clearly someone else's
    borrowed = muster.faces.compare(selfie, "E03", "P1")
    assert borrowed.decision == "not_enrolled" and borrowed.mismatch
    assert borrowed.looks_like == "E01"
    stranger = muster.faces.compare(stored(muster, faces.lfw_person(7)), "E03", "P1")
    assert stranger.decision == "not_enrolled" and not stranger.mismatch


def test_withdrawing_consent_deletes_the_templates(muster: Muster, plant: Plant) -> None:
    muster.faces.enrol("E01", faces.astronaut_selfies(), True, "t", "t")
    selfie = stored(muster, faces.astronaut_later())
    assert muster.faces.recognise(selfie, plant.session_id, "P1").employee_no == "E01"
    assert muster.faces.withdraw("E01", "user:e01") == 2
    assert topics(muster)[-1].endswith("FaceConsentWithdrawn")
    assert muster.store.fetch("SELECT * FROM face_templates") == []
    with pytest.raises(FaceRefused):
        muster.faces.recognise(selfie, plant.session_id, "P1")
    with pytest.raises(NotEnrolled):
        muster.faces.withdraw("E01", "user:e01")


def test_enrolling_again_replaces_the_templates_under_a_new_consent(
    muster: Muster, plant: Plant
) -> None:
    first = muster.faces.enrol("E01", faces.astronaut_selfies(), True, "t", "t")
    again = muster.faces.enrol("E01", faces.astronaut_selfies()[:1], True, "t", "t")
    assert first.consent_ref != again.consent_ref
    names = [t.rsplit(".", 1)[1] for t in topics(muster) if "Face" in t]
    assert names[-3:] == ["FaceConsentWithdrawn", "FaceConsentGiven", "FaceEnrolled"]
    templates = muster.faces.templates.load("E01")
    assert templates is not None and len(templates.embeddings) == 1


def test_plant_is_loaded_again_only_when_templates_change(muster: Muster) -> None:
    plant = load_plant(muster)
    muster.faces.enrol("E01", faces.astronaut_selfies(), True, "t", "t")
    first = muster.faces.templates.plant_gallery("P1")
    assert muster.faces.templates.plant_gallery("P1") is first
    muster.faces.enrol("E02", [faces.lfw_person(1)], True, "t", "t")
    assert set(muster.faces.templates.plant_gallery("P1").templates) == {"E01", "E02"}
    assert plant.session_id
