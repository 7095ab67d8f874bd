"""Selfies with the real dlib models: enrolment, 1:1, 1:N, the not-sure band, every refusal."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from skimage import data

from tests.vision.conftest import lfw_selfie
from vision.decode import encode_jpeg
from vision.identity.engine import DlibFaceEngine, SelfieRules
from vision.identity.matching import Thresholds
from vision.messages import message

pytestmark = pytest.mark.slow


def _darker(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    return np.asarray(np.clip(rgb * 0.7, 0, 255), dtype=np.uint8)


def _tilted(rgb: NDArray[np.uint8], degrees: float = 6.0) -> NDArray[np.uint8]:
    h, w = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(rgb, turn, (w, h), borderMode=cv2.BORDER_REPLICATE))


def _on_canvas(rgb: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    """The portrait shrunk by ``scale`` on a plain 640×480 background (a phone held far away)."""
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 200, np.uint8)
    canvas[40 : 40 + small.shape[0], 100 : 100 + small.shape[1]] = small
    return canvas


def test_a_clear_selfie_is_accepted_with_the_face_boxed(
    face_engine: DlibFaceEngine, astronaut_jpeg: bytes
) -> None:
    selfie = face_engine.check_selfie(astronaut_jpeg)
    assert selfie.accepted
    assert selfie.embedding is not None and selfie.embedding.shape == (128,)
    assert selfie.face is not None
    # Her face is in the upper middle of the portrait.
    cx, cy = selfie.face.centre
    assert 170 < cx < 290 and 70 < cy < 190
    assert selfie.message("en") == "Face verified."


def test_the_enrolled_person_is_verified_in_other_photos(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8], astronaut_jpeg: bytes
) -> None:
    enrolment = face_engine.enrol(
        [astronaut_jpeg, encode_jpeg(np.ascontiguousarray(astronaut[:, ::-1]))]
    )
    assert enrolment.accepted and len(enrolment.embeddings) == 2
    for probe in (_darker(astronaut), _tilted(astronaut)):
        check = face_engine.verify(encode_jpeg(probe), enrolment.embeddings)
        assert check.decision == "match"
        assert check.distance is not None and check.distance < 0.3


def test_someone_else_is_not_verified_and_is_asked_for_the_badge(
    lfw_engine: DlibFaceEngine, astronaut_jpeg: bytes, lfw: list[NDArray[np.uint8]]
) -> None:
    enrolment = lfw_engine.enrol([astronaut_jpeg])
    assert enrolment.accepted
    decisions = [
        lfw_engine.verify(encode_jpeg(lfw_selfie(face)), enrolment.embeddings).decision
        for face in lfw[:10]
    ]
    assert decisions.count("no_match") >= 9
    assert "match" not in decisions
    check = lfw_engine.verify(encode_jpeg(lfw_selfie(lfw[0])), enrolment.embeddings)
    assert check.message("en").endswith("Please use your badge.")


def test_a_degraded_photo_between_the_thresholds_is_not_sure(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8], astronaut_jpeg: bytes
) -> None:
    # A quarter-size, heavily compressed copy drifts away from her template; with the band set
    # around that drift the engine neither accepts nor rejects, it asks for the badge.
    strict = DlibFaceEngine(face_engine.models, thresholds=Thresholds(accept=0.25, reject=0.6))
    templates = strict.enrol([astronaut_jpeg]).embeddings
    small = cv2.resize(astronaut, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    blurry = cv2.resize(small, (512, 512), interpolation=cv2.INTER_CUBIC)
    degraded = DlibFaceEngine(face_engine.models, SelfieRules(min_sharpness=0.0), strict.thresholds)
    check = degraded.verify(encode_jpeg(blurry, 15), templates)
    assert check.decision == "unsure"
    assert check.distance is not None and 0.25 < check.distance <= 0.6
    assert check.message("en") == message("unsure", "en")
    # The same thresholds still accept the clear photo.
    assert strict.verify(encode_jpeg(_darker(astronaut)), templates).decision == "match"


def test_identify_looks_in_the_roster_first_then_the_plant(
    lfw_engine: DlibFaceEngine,
    astronaut: NDArray[np.uint8],
    astronaut_jpeg: bytes,
    lfw: list[NDArray[np.uint8]],
) -> None:
    collins = lfw_engine.enrol([astronaut_jpeg]).embeddings
    others = {
        f"emp-{i}": list(lfw_engine.enrol([encode_jpeg(lfw_selfie(lfw[i]))]).embeddings)
        for i in (1, 2, 3, 5, 6)
    }
    probe = encode_jpeg(_tilted(astronaut))
    roster = {"emp-1": others["emp-1"], "emp-2": others["emp-2"]}
    plant = {**others, "collins": list(collins)}
    found = lfw_engine.identify(probe, roster, plant)
    assert (found.decision, found.employee_id, found.scope) == ("match", "collins", "plant")
    on_roster = lfw_engine.identify(probe, {**roster, "collins": list(collins)}, plant)
    assert (on_roster.employee_id, on_roster.scope) == ("collins", "roster")
    stranger = lfw_engine.identify(encode_jpeg(lfw_selfie(lfw[7])), roster, None)
    assert stranger.employee_id is None and stranger.decision != "match"


def test_identify_is_not_sure_when_two_enrolled_people_look_alike(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8], astronaut_jpeg: bytes
) -> None:
    # Two records enrolled from photos of the same face (twins, or a duplicate record).
    roster = {
        "twin-a": list(face_engine.enrol([astronaut_jpeg]).embeddings),
        "twin-b": list(face_engine.enrol([encode_jpeg(_darker(astronaut))]).embeddings),
    }
    found = face_engine.identify(encode_jpeg(_tilted(astronaut)), roster)
    assert found.decision == "unsure"
    assert found.message("en") == "Not sure who this is. Please use your badge."


def test_a_photo_without_a_face_is_refused(face_engine: DlibFaceEngine) -> None:
    for sample in (data.coffee(), data.brick(), data.rocket()):
        rgb = np.dstack([sample] * 3) if sample.ndim == 2 else sample
        selfie = face_engine.check_selfie(encode_jpeg(np.ascontiguousarray(rgb)))
        assert selfie.reason == "no_face"
        assert selfie.embedding is None


def test_a_selfie_with_two_people_is_refused(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8]
) -> None:
    pair = np.ascontiguousarray(np.hstack([astronaut, astronaut[:, ::-1]]))
    selfie = face_engine.check_selfie(encode_jpeg(pair))
    assert selfie.reason == "several_faces"
    assert selfie.message("en") == "More than one face is in the photo. Please take it alone."


def test_a_face_too_far_from_the_camera_is_refused(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8]
) -> None:
    for scale in (0.5, 0.6):
        selfie = face_engine.check_selfie(encode_jpeg(_on_canvas(astronaut, scale)))
        assert selfie.reason == "face_too_small", scale
        assert selfie.face is not None and selfie.face.w < face_engine.rules.min_face
        assert selfie.message("en") == "The face is too small. Please move closer to the camera."


def test_a_blurred_selfie_is_refused(
    face_engine: DlibFaceEngine, astronaut: NDArray[np.uint8]
) -> None:
    selfie = face_engine.check_selfie(encode_jpeg(cv2.GaussianBlur(astronaut, (0, 0), 4)))
    assert selfie.reason == "face_blurred"
    assert selfie.sharpness is not None and selfie.sharpness < face_engine.rules.min_sharpness
    assert "blurred" in selfie.message("en")


def test_damaged_bytes_are_refused_not_raised(
    face_engine: DlibFaceEngine, astronaut_jpeg: bytes
) -> None:
    assert face_engine.check_selfie(b"not a photo").reason == "image_corrupt"
    assert face_engine.check_selfie(astronaut_jpeg[:2000]).reason == "image_corrupt"
    check = face_engine.verify(b"", [])
    assert check.decision == "image_empty"


def test_enrolment_needs_one_to_five_consistent_selfies(
    lfw_engine: DlibFaceEngine,
    face_engine: DlibFaceEngine,
    astronaut_jpeg: bytes,
    lfw: list[NDArray[np.uint8]],
) -> None:
    assert lfw_engine.enrol([astronaut_jpeg] * 6).reason == "too_many_selfies"
    assert lfw_engine.enrol([]).accepted is False
    mixed = lfw_engine.enrol([astronaut_jpeg, encode_jpeg(lfw_selfie(lfw[1]))])
    assert mixed.reason == "inconsistent_selfies" and mixed.embeddings == ()
    with_blur = face_engine.enrol(
        [astronaut_jpeg, encode_jpeg(cv2.GaussianBlur(data.astronaut(), (0, 0), 4))]
    )
    assert with_blur.reason == "face_blurred"
    assert face_engine.verify(astronaut_jpeg, []).decision == "not_enrolled"
