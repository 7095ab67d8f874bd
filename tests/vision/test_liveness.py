"""Selfie liveness: the shipped networks load from the repository and tell the astronaut's own
portrait from pictures of it held up on a phone or on paper (simulated: tests/support/spoofs.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import faces
from vision.identity.engine import DlibFaceEngine, SelfieRules
from vision.liveness import FaceLiveness, LivenessPolicy
from vision.liveness.model import DATA, NETWORKS

DEFAULT = LivenessPolicy()


@pytest.fixture(scope="module")
def engine() -> DlibFaceEngine:
    return DlibFaceEngine()


def test_the_networks_load_from_the_repository_and_score_between_0_and_1() -> None:
    live = FaceLiveness.load().score(faces.astronaut(), faces.ASTRONAUT_FACE)
    assert 0.0 <= live.score <= 1.0
    assert len(live.networks) == len(NETWORKS)
    assert all(abs(sum(p) - 1.0) < 1e-6 for p in live.networks)


def test_an_altered_model_file_is_refused(tmp_path: Path) -> None:
    for name in NETWORKS:
        shutil.copy(DATA / name, tmp_path / name)
    first = next(iter(NETWORKS))
    (tmp_path / first).write_bytes((tmp_path / first).read_bytes()[:-10])
    with pytest.raises(FileNotFoundError):
        FaceLiveness.load(tmp_path)
    (tmp_path / first).unlink()
    with pytest.raises(FileNotFoundError):
        FaceLiveness.load(tmp_path)


def test_a_live_portrait_is_not_suspected(engine: DlibFaceEngine) -> None:
    selfie = engine.check_selfie(faces.astronaut_selfies()[0])
    assert selfie.accepted and selfie.liveness is not None
    assert not selfie.spoof_suspected and not DEFAULT.suspected(selfie.liveness)


@pytest.mark.parametrize("held_up", [faces.astronaut_on_phone, faces.astronaut_printed])
def test_a_picture_held_up_to_the_camera_is_suspected_when_its_face_is_usable(
    engine: DlibFaceEngine, held_up: object
) -> None:
    """Each held-up picture the selfie check takes is suspected (and still shows the same
    person); one it does not take is refused for its quality before liveness is asked."""
    assert callable(held_up)
    honest = engine.check_selfie(faces.astronaut_selfies()[0]).embedding
    assert honest is not None
    taken = 0
    for seed in range(4):
        selfie = engine.check_selfie(held_up(seed))
        if not selfie.accepted:
            assert selfie.reason in {"face_blurred", "face_too_small"} and selfie.liveness is None
            continue
        taken += 1
        assert selfie.spoof_suspected and selfie.liveness is not None
        assert selfie.embedding is not None
        assert float(np.linalg.norm(selfie.embedding - honest)) < 0.5
    assert taken >= 2


def test_a_plant_that_refuses_spoofs_gets_a_refusal_with_a_reason(engine: DlibFaceEngine) -> None:
    strict = DlibFaceEngine(
        engine.models, SelfieRules(liveness=LivenessPolicy(spoof_below=0.5, refuse_below=0.5))
    )
    refused = strict.check_selfie(faces.astronaut_on_phone(0))
    assert refused.reason == "spoof_suspected" and refused.embedding is None
    assert refused.message("zh-CN") and refused.message("en") != refused.message("zh-CN")
    assert strict.check_selfie(faces.astronaut_selfies()[0]).accepted


@given(
    score=st.floats(0, 1),
    lower=st.floats(0, 1),
    spoof_below=st.floats(0, 1),
    refuse_below=st.none() | st.floats(0, 1),
)
def test_the_policy_is_monotone_and_refuses_only_what_it_would_flag(
    score: float, lower: float, spoof_below: float, refuse_below: float | None
) -> None:
    if refuse_below is not None:
        refuse_below = min(refuse_below, spoof_below)
    policy = LivenessPolicy(spoof_below, refuse_below)
    worse = min(score, lower)
    assert policy.suspected(worse) or not policy.suspected(score)
    assert policy.refused(worse) or not policy.refused(score)
    assert policy.suspected(score) or not policy.refused(score)
    assert not LivenessPolicy(0.0).suspected(score)


@pytest.mark.parametrize(
    ("selfies", "reason"),
    [
        (lambda: faces.astronaut_selfies(), None),
        (lambda: [faces.astronaut_selfies()[0], faces.astronaut_on_phone(0)], "spoof_at_enrolment"),
        (lambda: [faces.astronaut_printed(1)], "spoof_at_enrolment"),
    ],
    ids=["live", "one-of-two-on-a-phone", "a-print"],
)
def test_an_enrolment_with_a_picture_held_up_is_refused_and_stores_nothing(
    engine: DlibFaceEngine, selfies: object, reason: str | None
) -> None:
    """A template from a print would let that print check in from then on: an enrolment
    refuses a selfie that a check-in would only flag."""
    assert callable(selfies)
    enrolment = engine.enrol(selfies())
    assert enrolment.reason == reason
    assert (len(enrolment.embeddings) > 0) == (reason is None)
