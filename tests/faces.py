"""Real faces for check-in tests, shipped offline with scikit-image: the astronaut portrait
(a sharp 512×512 selfie) and the LFW crops (other people, soft when blown up)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage import data

from vision.decode import encode_jpeg

#: selfie rules that let the blown-up 25-px LFW crops through (the real engine otherwise)
LFW_FRIENDLY = {"face_min_sharpness": 0.0, "face_min_face_px": 60}


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
