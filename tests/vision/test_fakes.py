"""The fake adapters: answers from the JSON beside each fixture image, same contract as the
real engines (refusals, the not-sure band, headcount, materials), in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision.errors import ImageRejected
from vision.fake import FakeFaceEngine, FakeRoomAnalyzer, FixtureIndex
from vision.room.materials import CourseKit


@pytest.fixture(scope="module")
def fixtures(fixtures_dir: Path) -> FixtureIndex:
    """Every fixture image with its JSON answer."""
    return FixtureIndex(fixtures_dir)


def _photo(fixtures_dir: Path, name: str) -> bytes:
    return (fixtures_dir / f"{name}.png").read_bytes()


def test_every_fixture_image_has_its_answer(fixtures: FixtureIndex, fixtures_dir: Path) -> None:
    assert len(fixtures) == len(list(fixtures_dir.glob("*.json")))


def test_fake_engine_verifies_the_enrolled_person_and_doubts_a_poor_likeness(
    fixtures: FixtureIndex, fixtures_dir: Path
) -> None:
    engine = FakeFaceEngine(fixtures)
    wang = engine.enrol([_photo(fixtures_dir, "selfie_wang")])
    assert wang.accepted
    again = engine.verify(_photo(fixtures_dir, "selfie_wang_again"), wang.embeddings)
    assert again.decision == "match"
    doubtful = engine.verify(_photo(fixtures_dir, "selfie_wang_doubtful"), wang.embeddings)
    assert doubtful.decision == "unsure"
    assert doubtful.message("en") == "Not sure who this is. Please use your badge."
    assert engine.verify(_photo(fixtures_dir, "selfie_li"), wang.embeddings).decision == "no_match"


def test_fake_engine_identifies_from_the_roster(fixtures: FixtureIndex, fixtures_dir: Path) -> None:
    engine = FakeFaceEngine(fixtures)
    roster = {
        "emp-wang": list(engine.enrol([_photo(fixtures_dir, "selfie_wang")]).embeddings),
        "emp-li": list(engine.enrol([_photo(fixtures_dir, "selfie_li")]).embeddings),
    }
    found = engine.identify(_photo(fixtures_dir, "selfie_wang_again"), roster)
    assert (found.decision, found.employee_id, found.scope) == ("match", "emp-wang", "roster")


def test_fake_engine_refuses_like_the_real_one(
    fixtures: FixtureIndex, fixtures_dir: Path, astronaut_jpeg: bytes
) -> None:
    engine = FakeFaceEngine(fixtures)
    blurred = engine.check_selfie(_photo(fixtures_dir, "selfie_blurred"))
    assert blurred.reason == "face_blurred"
    assert blurred.message("en") == "The photo is blurred. Please hold still and try again."
    assert engine.check_selfie(astronaut_jpeg).reason == "no_face"  # no JSON: nobody known
    assert engine.check_selfie(b"garbage").reason == "image_corrupt"
    assert engine.enrol([_photo(fixtures_dir, "selfie_blurred")]).reason == "face_blurred"


def test_fake_room_counts_confirmed_faces_attention_and_materials(
    fixtures: FixtureIndex, fixtures_dir: Path
) -> None:
    photo = _photo(fixtures_dir, "room_three_people")
    kit = CourseKit.from_names({"screen": 1, "ppe": 3, "handouts": 5})
    result = FakeRoomAnalyzer(fixtures).analyse(photo, kit)
    assert (result.headcount, result.headcount_max, result.attentive) == (3, 5, 2)
    assert result.attention_share == pytest.approx(2 / 3)
    assert result.materials is not None
    assert result.materials.present == ("ppe", "screen")
    assert result.materials.missing == ("handouts",)
    payload = result.to_payload()
    assert [f["box"] for f in payload["faces"]][:3] == [
        [20, 40, 30, 30],
        [85, 38, 30, 30],
        [150, 42, 30, 30],
    ]
    assert payload["photo"]["width"] == 200 and payload["analyser"] == "fake"


def test_fake_room_sets_a_picture_aside_only_given_earlier_photos_of_the_room(
    fixtures: FixtureIndex, fixtures_dir: Path
) -> None:
    """The JSON's fourth face (``"static": true``) is a picture on the wall: a possible face
    when the photo is analysed alone, set aside when photos of the room from other days are
    given. The fifth (``"promoted": true``) is a possible face, counted once they are."""
    photo = _photo(fixtures_dir, "room_three_people")
    analyzer = FakeRoomAnalyzer(fixtures)
    alone = analyzer.analyse(photo)
    assert (alone.headcount, alone.headcount_max) == (3, 5)
    assert [f.reason for f in alone.faces][3:] == ["possible_face", "possible_face"]
    remembered = analyzer.analyse(photo, None, [b"an earlier photo of the room"])
    assert (remembered.headcount, remembered.headcount_max) == (4, 4)
    payload = [f.to_payload() for f in remembered.faces]
    assert [(f["reason"], f["confirmed"]) for f in payload] == [
        ("detectors_agree", True),
        ("detectors_agree", True),
        ("detectors_agree", True),
        ("picture", False),
        ("detectors_agree", True),
    ]


def test_fake_room_refuses_bytes_that_are_not_a_photo(fixtures: FixtureIndex) -> None:
    with pytest.raises(ImageRejected) as refused:
        FakeRoomAnalyzer(fixtures).analyse(b"\x89PNG broken")
    assert refused.value.reason == "image_corrupt"
