"""Selfies: quality checks, alignment and 128-d embeddings (dlib ResNet), enrolment, 1:1 and 1:N.

Every refusal carries a reason code from ``vision.messages`` (zh-CN and en texts).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import dlib
import numpy as np
from numpy.typing import NDArray

from vision.decode import decode_image
from vision.detectors.hog import hog_detect, to_dlib_rect
from vision.detectors.models import Models, load_models
from vision.errors import ImageRejected
from vision.geometry import Box, non_max_suppression
from vision.identity.matching import (
    DEFAULT_THRESHOLDS,
    Embedding,
    Gallery,
    Identification,
    Thresholds,
    Verification,
    distance_to_templates,
    identify,
    verify,
)
from vision.liveness.model import LivenessPolicy
from vision.messages import message


@dataclass(frozen=True)
class SelfieRules:
    """Selfie quality limits (pixels refer to the image as sent)."""

    max_side: int = 800  # larger selfies are scaled down before detection (speed)
    min_face: int = 80  # narrower faces carry too little detail for a reliable embedding
    large_face_share: float = 0.5  # a second face this wide (vs the largest) means "several"
    solid_face_score: float = 0.3  # HOG's weak extra boxes (score ~0.1) are not a second person
    min_sharpness: float = 40.0  # variance of the Laplacian on the aligned 150 px face chip
    max_enrol_distance: float = 0.55  # enrolment selfies must match each other this closely
    #: when the face looks like a photo of a photo (a print, a phone screen)
    liveness: LivenessPolicy = field(default_factory=LivenessPolicy)


DEFAULT_SELFIE_RULES = SelfieRules()


@dataclass(frozen=True)
class Selfie:
    """A checked selfie: ``reason`` is ``None`` when accepted (then ``embedding`` is set)."""

    reason: str | None
    face: Box | None = None
    sharpness: float | None = None
    embedding: Embedding | None = field(default=None, repr=False, compare=False)
    #: how live the face looks, 0–1 (``None``: not scored, no usable face)
    liveness: float | None = None
    #: the liveness policy found it a suspected photo of a photo (the selfie is still used)
    spoof_suspected: bool = False

    @property
    def accepted(self) -> bool:
        """Whether the selfie passed every check."""
        return self.reason is None

    def message(self, locale: str = "zh-CN") -> str:
        """The human text for the refusal (or for success) in ``locale``."""
        return message(self.reason or "match", locale)


@dataclass(frozen=True)
class Enrolment:
    """Result of enrolling from 1–5 selfies: embeddings to store, or the reason it failed."""

    reason: str | None
    embeddings: tuple[Embedding, ...]
    selfies: tuple[Selfie, ...]

    @property
    def accepted(self) -> bool:
        """Whether templates can be stored."""
        return self.reason is None


@dataclass(frozen=True)
class FaceCheck:
    """A verification or identification answer with the selfie behind it."""

    selfie: Selfie
    decision: str  # match | unsure | no_match | the selfie's refusal reason
    distance: float | None = None
    employee_id: str | None = None
    scope: str | None = None

    def message(self, locale: str = "zh-CN") -> str:
        """The human text for this answer in ``locale``."""
        return message(self.decision, locale)


def sharpness(chip: NDArray[np.uint8]) -> float:
    """Variance of the Laplacian of a face chip: low means blurred."""
    gray = cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


class SelfieMatcher(ABC):
    """Enrolment, 1:1 and 1:N on top of ``check_selfie``: written once for every adapter."""

    rules: SelfieRules
    thresholds: Thresholds

    @abstractmethod
    def check_selfie(self, data: bytes) -> Selfie:
        """Decode, find the face, check it and embed it."""

    def enrol(self, selfies: Sequence[bytes]) -> Enrolment:
        """Templates from 1–5 selfies. Every selfie must pass, none may look like a photo of
        a photo (``spoof_at_enrolment``: a template made from a print would let that print
        check in from then on, and no one reviews an enrolment afterwards, so what a check-in
        only flags is refused here; the person is there to take it again), and all must
        look alike."""
        if not 1 <= len(selfies) <= 5:
            return Enrolment("too_many_selfies" if selfies else "no_face", (), ())
        checked = tuple(self.check_selfie(s) for s in selfies)
        refused = next((c for c in checked if not c.accepted), None)
        if refused is not None:
            return Enrolment(refused.reason, (), checked)
        if any(c.spoof_suspected for c in checked):
            return Enrolment("spoof_at_enrolment", (), checked)
        vectors = tuple(c.embedding for c in checked if c.embedding is not None)
        for i, v in enumerate(vectors):
            others = vectors[:i] + vectors[i + 1 :]
            if others and distance_to_templates(v, others) > self.rules.max_enrol_distance:
                return Enrolment("inconsistent_selfies", (), checked)
        return Enrolment(None, vectors, checked)

    def verify(self, data: bytes, templates: Sequence[Embedding]) -> FaceCheck:
        """1:1: is the person in the selfie the one whose ``templates`` these are?"""
        selfie = self.check_selfie(data)
        if selfie.embedding is None:
            return FaceCheck(selfie, selfie.reason or "no_face")
        if not templates:
            return FaceCheck(selfie, "not_enrolled")
        result: Verification = verify(selfie.embedding, templates, self.thresholds)
        return FaceCheck(selfie, result.decision, result.distance)

    def identify(self, data: bytes, roster: Gallery, plant: Gallery | None = None) -> FaceCheck:
        """1:N: who is this? The session roster first, then the plant."""
        selfie = self.check_selfie(data)
        if selfie.embedding is None:
            return FaceCheck(selfie, selfie.reason or "no_face")
        found: Identification = identify(selfie.embedding, roster, plant, self.thresholds)
        return FaceCheck(selfie, found.decision, found.distance, found.employee_id, found.scope)


class DlibFaceEngine(SelfieMatcher):
    """The default ``FaceEngine``: dlib HOG + 5-point alignment + ResNet embedding."""

    def __init__(
        self,
        models: Models | None = None,
        rules: SelfieRules = DEFAULT_SELFIE_RULES,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        self.models = models or load_models()
        self.rules = rules
        self.thresholds = thresholds

    def check_selfie(self, data: bytes) -> Selfie:
        """Decode, find the face, check it and embed it. Undecodable bytes give a refusal
        (``image_*`` reason), never an exception."""
        try:
            image = decode_image(data)
        except ImageRejected as e:
            return Selfie(e.reason)
        return self.check_selfie_pixels(image.rgb)

    def check_selfie_pixels(self, rgb: NDArray[np.uint8]) -> Selfie:
        """``check_selfie`` on RGB pixels."""
        rules = self.rules
        scale = min(1.0, rules.max_side / max(rgb.shape[:2]))
        small = (
            rgb
            if scale == 1.0
            else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        found = hog_detect(np.ascontiguousarray(small), 0)
        if not found:
            # HOG's window is 80 px: only an upsampled pass sees a face too small to use, and
            # "move closer" helps the user more than "no face".
            found = hog_detect(np.ascontiguousarray(small), 1)
        if not found:
            return Selfie("no_face")
        keep = non_max_suppression([d.box for d in found], [d.score for d in found])
        kept = sorted(
            (found[i] for i in keep), key=lambda d: (d.score < rules.solid_face_score, -d.box.w)
        )
        boxes = [d.box.scaled(1 / scale) for d in kept if d.score >= rules.solid_face_score]
        face = kept[0].box.scaled(1 / scale)
        if sum(1 for b in boxes if b != face and b.w >= rules.large_face_share * face.w) > 0:
            return Selfie("several_faces", face)
        if face.w < rules.min_face:
            return Selfie("face_too_small", face)
        shape = self.models.shape5(rgb, to_dlib_rect(face))
        chip = np.asarray(dlib.get_face_chip(rgb, shape, size=150, padding=0.25), dtype=np.uint8)
        sharp = sharpness(chip)
        if sharp < rules.min_sharpness:
            return Selfie("face_blurred", face, sharp)
        live = self.models.liveness.score(rgb, face).score
        if rules.liveness.refused(live):
            return Selfie("spoof_suspected", face, sharp, liveness=live, spoof_suspected=True)
        vector = np.asarray(self.models.encoder.compute_face_descriptor(chip), dtype=np.float64)
        return Selfie(None, face, sharp, vector, live, rules.liveness.suspected(live))
