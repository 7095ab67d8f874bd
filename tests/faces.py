"""Real faces for check-in tests, shipped offline with scikit-image: the astronaut portrait
(a sharp 512×512 selfie) and the LFW crops (other people, soft when blown up)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage import data

from tests.support.spoofs import close_up, printed_photo, screen_replay
from vision.decode import encode_jpeg
from vision.geometry import Box

#: where HOG finds the astronaut's face
ASTRONAUT_FACE = Box(179, 83, 88, 88)

#: selfie rules that let the blown-up 25-px LFW crops through (the real engine otherwise). The
#: liveness check rightly takes those soft grey crops for reproductions (bench/liveness_eval.py
#: flags all of them), so tests about recognition turn its flag off; test_selfie_liveness.py
#: tests it with the engine's own rules.
LFW_FRIENDLY = {"face_min_sharpness": 0.0, "face_min_face_px": 60, "face_spoof_below": 0.0}


def astronaut() -> NDArray[np.uint8]:
    return np.asarray(data.astronaut(), dtype=np.uint8)


def astronaut_selfies() -> list[bytes]:
    """Two enrolment selfies of the astronaut: as taken, and mirrored."""
    face = astronaut()
    return [encode_jpeg(face), encode_jpeg(np.ascontiguousarray(face[:, ::-1]))]


def astronaut_later() -> bytes:
    """The astronaut at the kiosk another day: slightly turned and darker."""
    face = astronaut()
    h, w = face.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 6.0, 1.0)
    turned = cv2.warpAffine(face, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return encode_jpeg(np.asarray(np.clip(turned * 0.8, 0, 255), dtype=np.uint8))


def astronaut_on_phone(seed: int) -> bytes:
    """Someone holding up a phone that shows the astronaut's picture, zoomed in on the face."""
    rng = np.random.default_rng(seed)
    return encode_jpeg(screen_replay(close_up(astronaut(), ASTRONAUT_FACE), rng))


def astronaut_printed(seed: int) -> bytes:
    """Someone holding up a print of the astronaut's picture, cut around the face."""
    rng = np.random.default_rng(seed)
    return encode_jpeg(printed_photo(close_up(astronaut(), ASTRONAUT_FACE), rng))


def lfw_person(n: int) -> bytes:
    """LFW face `n` blown up to a selfie with replicated surroundings."""
    raw = np.load(Path(data.__file__).parent / "lfw_subset.npy")[n]
    face = np.dstack([(raw * 255).astype(np.uint8)] * 3)
    big = cv2.resize(face, (200, 200), interpolation=cv2.INTER_CUBIC)
    return encode_jpeg(np.asarray(cv2.copyMakeBorder(big, 50, 50, 50, 50, cv2.BORDER_REPLICATE)))


def no_face() -> bytes:
    return encode_jpeg(np.asarray(data.coffee(), dtype=np.uint8))


def two_faces() -> bytes:
    face = astronaut()
    return encode_jpeg(np.ascontiguousarray(np.hstack([face, face[:, ::-1]])))
