"""Faces and clutter to build synthetic rooms from: scikit-image's public-domain samples (the
astronaut portrait, the 25×25 px LFW crops, brick, text, page, coffee, rocket and coins).

Used by the evaluation harness (``bench/vision_eval.py``) and the demo's room photos. scikit-image
is a development dependency: importing this module without it raises ``ImportError``.
"""

# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from skimage import data

from app.demo.synthetic import Image


def lfw_faces() -> list[Image]:
    """The 100 face crops of scikit-image's LFW subset (25×25 grey), as RGB uint8."""
    raw = np.load(Path(data.__file__).parent / "lfw_subset.npy")[:100]
    return [np.dstack([(f * 255).astype(np.uint8)] * 3) for f in raw]


def room_faces() -> list[Image]:
    """Head crops to seat in synthetic rooms: the astronaut plus LFW faces."""
    astro = np.asarray(data.astronaut()[40:215, 140:305], dtype=np.uint8)
    # The LFW subset's faces sit left of their crops' centre: the mean face's axis of symmetry
    # is column 10.5 of 25 (centre 12). A head is turned about the crop's centre, so pad 3 px on
    # the left only (axis 13.5 of 28): a face turned left must not fold away sooner than one
    # turned right (before this, 81% of left-turned and 98% of right-turned heads were found).
    lfw = [
        np.asarray(cv2.copyMakeBorder(f, 3, 3, 3, 0, cv2.BORDER_REPLICATE), dtype=np.uint8)
        for f in lfw_faces()[:60]
    ]
    return [astro, *lfw]


def textures() -> list[Image]:
    """Clutter for backgrounds: no people, but the coffee cup and the coins' heads are what
    the detectors most often take for faces (the benchmark's hard negatives)."""
    samples = (data.brick, data.text, data.page, data.coffee, data.rocket, data.coins)
    return [np.asarray(sample(), dtype=np.uint8) for sample in samples]
