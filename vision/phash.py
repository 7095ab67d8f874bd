"""Perceptual hashes and a near-duplicate index (Hamming distance) for reused-photo detection.

opencv-python-headless has no ``cv2.img_hash`` (that module lives in opencv-contrib), so the
DCT hash is computed here with ``cv2.dct`` (see docs/decisions/0102). Two hashes:

* ``phash``: 64-bit DCT hash of the whole image (8×8 lowest frequencies of a 32×32 DCT).
  Survives resizing, recompression, small crops and rotations.
* ``detail_hash``: 256-bit DCT hash (16×16 of a 64×64 DCT). Still stable under those edits but
  separates two *different* photos of the same room, which the coarse hash may confuse.

A photo is a near duplicate when both distances are within their thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray

PHASH_BITS: Final = 64
DETAIL_BITS: Final = 256
# Calibrated by bench/vision_eval.py (docs/benchmarks-vision.md).
PHASH_THRESHOLD: Final = 12
DETAIL_THRESHOLD: Final = 56


def _dct_hash(gray: NDArray[np.uint8], size: int, keep: int) -> int:
    small = cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    coeffs = cv2.dct(small)[:keep, :keep].flatten()
    # The DC term only says how bright the photo is; leave it out of the median.
    bits = coeffs > np.median(coeffs[1:])
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def phash(gray: NDArray[np.uint8]) -> int:
    """64-bit perceptual (DCT) hash of an 8-bit grey image, as an unsigned int."""
    return _dct_hash(gray, 32, 8)


def detail_hash(gray: NDArray[np.uint8]) -> int:
    """256-bit perceptual (DCT) hash of an 8-bit grey image, as an unsigned int."""
    return _dct_hash(gray, 64, 16)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    if a < 0 or b < 0:
        raise ValueError("hashes are unsigned")
    return (a ^ b).bit_count()


def hash_hex(value: int, bits: int = PHASH_BITS) -> str:
    """Fixed-width hex of a hash (for events and storage)."""
    return f"{value:0{bits // 4}x}"


def _words(value: int, bits: int) -> NDArray[np.uint64]:
    return np.frombuffer(value.to_bytes(bits // 8, "big"), dtype=">u8").astype(np.uint64)


@dataclass(frozen=True)
class PhotoHashes:
    """Both perceptual hashes of one photo."""

    phash: int
    detail: int

    def to_payload(self) -> dict[str, str]:
        """Plain dict with fixed-width hex strings."""
        return {
            "phash": hash_hex(self.phash, PHASH_BITS),
            "detail_hash": hash_hex(self.detail, DETAIL_BITS),
        }


def photo_hashes(gray: NDArray[np.uint8]) -> PhotoHashes:
    """Compute ``PhotoHashes`` of an 8-bit grey image."""
    return PhotoHashes(phash(gray), detail_hash(gray))


@dataclass(frozen=True)
class NearDuplicate:
    """An earlier photo that looks like the probe, with both Hamming distances."""

    photo_id: str
    distance: int
    detail_distance: int


@dataclass
class DuplicateIndex:
    """In-memory index of photo hashes; ``find`` scans all of them vectorised (~µs per 1,000).

    Rebuild it at start-up from the hashes kept in ``PhotoAnalysed``/``PhotoStored`` events.
    """

    threshold: int = PHASH_THRESHOLD
    detail_threshold: int = DETAIL_THRESHOLD
    _ids: list[str] = field(default_factory=list)
    _coarse: list[NDArray[np.uint64]] = field(default_factory=list)
    _detail: list[NDArray[np.uint64]] = field(default_factory=list)
    _stack: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, photo_id: str, hashes: PhotoHashes) -> None:
        """Remember a photo's hashes under ``photo_id``."""
        self._ids.append(photo_id)
        self._coarse.append(_words(hashes.phash, PHASH_BITS))
        self._detail.append(_words(hashes.detail, DETAIL_BITS))
        self._stack = None

    def extend(self, items: Iterable[tuple[str, PhotoHashes]]) -> None:
        """Add many photos at once."""
        for photo_id, hashes in items:
            self.add(photo_id, hashes)

    def find(self, hashes: PhotoHashes, exclude: str | None = None) -> list[NearDuplicate]:
        """Stored photos within both thresholds of ``hashes``, nearest first."""
        if not self._ids:
            return []
        if self._stack is None:
            self._stack = (np.stack(self._coarse), np.stack(self._detail))
        coarse, detail = self._stack
        d1 = np.bitwise_count(coarse ^ _words(hashes.phash, PHASH_BITS)).sum(axis=1)
        d2 = np.bitwise_count(detail ^ _words(hashes.detail, DETAIL_BITS)).sum(axis=1)
        hits = np.nonzero((d1 <= self.threshold) & (d2 <= self.detail_threshold))[0]
        found = [
            NearDuplicate(self._ids[i], int(d1[i]), int(d2[i]))
            for i in hits
            if self._ids[i] != exclude
        ]
        return sorted(found, key=lambda n: (n.detail_distance, n.distance, n.photo_id))
