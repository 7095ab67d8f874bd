"""Who is in a selfie: the face engine behind face check-in. A selfie is checked (one sharp,
frontal face) and embedded; ``enrol`` makes templates from 1–5 selfies, ``verify`` compares a
selfie with one person's templates (1:1), ``identify`` finds who it is among a session's roster
first, then the plant (1:N). Templates are stored encrypted (``templates``)."""

from vision.identity.engine import (
    DEFAULT_SELFIE_RULES,
    DlibFaceEngine,
    Enrolment,
    FaceCheck,
    Selfie,
    SelfieRules,
)
from vision.identity.matching import DEFAULT_THRESHOLDS, Embedding, Gallery, Thresholds

__all__ = [
    "DEFAULT_SELFIE_RULES",
    "DEFAULT_THRESHOLDS",
    "DlibFaceEngine",
    "Embedding",
    "Enrolment",
    "FaceCheck",
    "Gallery",
    "Selfie",
    "SelfieRules",
    "Thresholds",
]
