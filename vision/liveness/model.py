"""Silent-Face-Anti-Spoofing's two MiniFASNet networks (minivision-ai, Apache-2.0), run by
``cv2.dnn`` from the ONNX files in ``data/``.

Each network looks at an 80×80 crop around the face at its own scale (2.7× and 4× the face box),
so it sees the face and what surrounds it: a paper edge, a phone bezel, screen moiré, glare. Each
answers three probabilities, one of which is "live face"; the score is the mean of the two
networks' "live" probability. The files were converted from upstream's PyTorch checkpoints by
``tools/convert_minifasnet.py`` (which checks OpenCV's output against PyTorch's);
docs/decisions/0129-selfie-liveness.md says what was measured and what was not.

The networks were trained on crops around RetinaFace boxes; Muster finds the face with dlib's
HOG, whose box is a little smaller. On the same 30 real photos the RetinaFace box was a median
1.06× the HOG box's width (1.08× its height), but from 0.88× to 1.24× photo by photo, and the
networks' answer moves with the crop (one honest portrait: 0.60 to 0.89 across that range). So
each network looks at three crops, the HOG box grown ``HOG_GROWTH`` times (the median and
±10 %), and the score is the mean of all six answers: the detectors' disagreement is averaged
out instead of guessed.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.geometry import Box

DATA: Final = Path(__file__).parent / "data"
#: file name -> (crop scale around the face box, sha256 of the shipped file)
NETWORKS: Final = {
    "2.7_80x80_MiniFASNetV2.onnx": (
        2.7,
        "80220fb410ff8b3ddc2be085e276ad4367655e903f7664796845b2d03e0b14d1",
    ),
    "4_0_0_80x80_MiniFASNetV1SE.onnx": (
        4.0,
        "ea863d82ce0da6539b3335a88a82196047264cb478f1dc29e7a033562b7c71cb",
    ),
}
SIDE: Final = 80
#: index of the "live face" class in the networks' output
LIVE: Final = 1
#: how much a HOG box is grown (width; height grows 2 % more) to stand for the trained box
HOG_GROWTH: Final = (0.96, 1.06, 1.16)


@dataclass(frozen=True)
class LivenessPolicy:
    """When a selfie's liveness score makes it a suspected spoof.

    ``spoof_below``: a selfie scoring under it is flagged ``selfie_spoof_suspected`` (the
    check-in still counts; HR looks). ``refuse_below``: under it the check-in is refused and
    the person is asked for their badge; ``None`` never refuses. Chosen on the training split
    of ``bench/liveness_eval.py``; see docs/decisions/0129-selfie-liveness.md."""

    spoof_below: float = 0.5
    refuse_below: float | None = None

    def suspected(self, score: float) -> bool:
        """Whether a selfie with this liveness ``score`` is a suspected spoof."""
        return score < self.spoof_below

    def refused(self, score: float) -> bool:
        """Whether a selfie with this liveness ``score`` is refused outright."""
        return self.refuse_below is not None and score < self.refuse_below


@dataclass(frozen=True)
class Liveness:
    """How live the face looks: ``score`` in 0–1 (mean "live" probability of the networks
    over their crops), and each network's three probabilities (mean over its crops)."""

    score: float
    networks: tuple[tuple[float, float, float], ...]


def liveness_crop(
    bgr: NDArray[np.uint8], face: Box, scale: float, growth: float = HOG_GROWTH[1]
) -> NDArray[np.uint8]:
    """The ``SIDE``×``SIDE`` crop one network sees: the face box (a HOG box grown ``growth``
    times to stand for the trained box) grown ``scale`` times about its centre, shrunk to fit
    the image, and shifted inside it rather than cut."""
    height, width = bgr.shape[:2]
    box_w, box_h = face.w * growth, face.h * growth * 1.02
    cx, cy = face.x + face.w / 2, face.y + face.h / 2
    scale = min((height - 1) / box_h, (width - 1) / box_w, scale)
    w, h = box_w * scale, box_h * scale
    left = min(max(cx - w / 2, 0.0), width - 1 - w)
    top = min(max(cy - h / 2, 0.0), height - 1 - h)
    x0, y0 = int(left), int(top)
    crop = bgr[y0 : int(top + h) + 1, x0 : int(left + w) + 1]
    return np.asarray(cv2.resize(crop, (SIDE, SIDE)), dtype=np.uint8)


def _softmax(logits: NDArray[np.float32]) -> NDArray[np.float64]:
    shifted = np.exp(logits.astype(np.float64) - logits.max())
    return np.asarray(shifted / shifted.sum(), dtype=np.float64)


class FaceLiveness:
    """The two loaded networks. ``score`` is thread-safe: a ``cv2.dnn`` net keeps its input and
    buffers inside, so each thread gets its own copy."""

    def __init__(self, folder: Path) -> None:
        self._files = [(str(folder / name), scale) for name, (scale, _) in NETWORKS.items()]
        self._local = threading.local()
        self._nets()  # fail at load, not on the first selfie

    @classmethod
    def load(cls, folder: Path = DATA, check_sha256: bool = True) -> FaceLiveness:
        """Read both networks from ``folder``, checking each file's sha256; raises
        ``FileNotFoundError`` when one is missing, altered or unreadable."""
        for name, (_, digest) in NETWORKS.items():
            try:
                onnx = (folder / name).read_bytes()
            except OSError as exc:
                raise FileNotFoundError(f"liveness model missing at {folder / name}") from exc
            if check_sha256 and hashlib.sha256(onnx).hexdigest() != digest:
                raise FileNotFoundError(f"liveness model {folder / name} is not the shipped file")
        try:
            return cls(folder)
        except cv2.error as exc:
            raise FileNotFoundError(f"liveness model did not load from {folder}: {exc}") from exc

    def _nets(self) -> list[tuple[cv2.dnn.Net, float]]:
        nets: list[tuple[cv2.dnn.Net, float]] | None = getattr(self._local, "nets", None)
        if nets is None:
            nets = [(cv2.dnn.readNetFromONNX(path), scale) for path, scale in self._files]
            self._local.nets = nets
        return nets

    def score(self, rgb: NDArray[np.uint8], face: Box) -> Liveness:
        """How live the face in ``face`` (image pixels, a HOG box) of an RGB image looks."""
        # the networks were trained on OpenCV's BGR order, 0–255, no normalisation
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        answers: list[tuple[float, float, float]] = []
        for net, scale in self._nets():
            seen = []
            for growth in HOG_GROWTH:  # the files take one image at a time (batch of 1)
                crop = liveness_crop(bgr, face, scale, growth).astype(np.float32)
                net.setInput(cv2.dnn.blobFromImage(crop))
                seen.append(_softmax(np.asarray(net.forward(), dtype=np.float32).reshape(-1)))
            p = np.mean(seen, axis=0)
            answers.append((float(p[0]), float(p[1]), float(p[2])))
        live = float(np.mean([a[LIVE] for a in answers]))
        return Liveness(live, tuple(answers))
