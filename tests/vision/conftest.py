"""Vision test fixtures: real models loaded once, scikit-image's public-domain sample images,
and the JSON-described images for the fake adapters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import settings
from numpy.typing import NDArray
from skimage import data

from vision.decode import encode_jpeg
from vision.identity.engine import DlibFaceEngine, SelfieRules
from vision.liveness import LivenessPolicy
from vision.room.analysis import DlibRoomAnalyzer

from .heads import FIXTURES

# Eight engineers' test runs share two cores: a property's timing says nothing here.
settings.register_profile("shared_machine", deadline=None)
settings.load_profile("shared_machine")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """tests/fixtures/vision: tiny images with a JSON answer beside each."""
    return FIXTURES


@pytest.fixture(scope="session")
def astronaut() -> NDArray[np.uint8]:
    """Eileen Collins' NASA portrait (public domain), 512×512 RGB."""
    return np.asarray(data.astronaut(), dtype=np.uint8)


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut: NDArray[np.uint8]) -> bytes:
    """The portrait as a JPEG selfie."""
    return encode_jpeg(astronaut)


@pytest.fixture(scope="session")
def astronaut_head(astronaut: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Her head with a little hair and chin: what the synthetic rooms seat in a chair."""
    return np.ascontiguousarray(astronaut[40:215, 140:305])


@pytest.fixture(scope="session")
def lfw() -> list[NDArray[np.uint8]]:
    """The 100 LFW face crops bundled with scikit-image (25×25), as RGB uint8."""
    raw = np.load(Path(data.__file__).parent / "lfw_subset.npy")[:100]
    return [np.dstack([(f * 255).astype(np.uint8)] * 3) for f in raw]


def lfw_selfie(face: NDArray[np.uint8], side: int = 200) -> NDArray[np.uint8]:
    """An LFW crop blown up to selfie size with replicated surroundings."""
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return np.asarray(cv2.copyMakeBorder(big, 50, 50, 50, 50, cv2.BORDER_REPLICATE))


@pytest.fixture(scope="session")
def face_engine() -> DlibFaceEngine:
    """The real dlib engine (models load once for the whole session)."""
    return DlibFaceEngine()


@pytest.fixture(scope="session")
def lfw_engine(face_engine: DlibFaceEngine) -> DlibFaceEngine:
    """The real engine with the sharpness gate and the liveness flag off: LFW crops are 25 px,
    so every blow-up of one is soft and looks like a reproduction (as `faces.LFW_FRIENDLY`;
    liveness is tested in test_liveness.py). Same models, same recognition thresholds."""
    rules = SelfieRules(min_sharpness=0.0, min_face=60, liveness=LivenessPolicy(spoof_below=0.0))
    return DlibFaceEngine(face_engine.models, rules)


@pytest.fixture(scope="session")
def room_analyzer(face_engine: DlibFaceEngine) -> Iterator[DlibRoomAnalyzer]:
    """The real room analyser."""
    analyzer = DlibRoomAnalyzer(face_engine.models)
    yield analyzer
    analyzer.close()
