"""Perceptual hashes and a near-duplicate index (Hamming distance) for reused-photo detection.

opencv-python-headless has no ``cv2.img_hash`` (that module lives in opencv-contrib), so the
DCT hash is computed here with ``cv2.dct``. Two hashes of each view of a photo:

* ``phash``: 64-bit DCT hash (8×8 lowest frequencies of a 32×32 DCT). Survives resizing,
  recompression and small rotations.
* ``detail``: 256-bit DCT hash (16×16 of a 64×64 DCT). Still stable under those edits but
  separates two *different* photos of the same room, which the coarse hash may confuse.

* ``fine``: 576-bit DCT hash (24×24 of a 128×128 DCT), used only as a veto: two photos from
  the same camera spot on different days (same room, other people) agree at 64×64 but not at
  128×128, where a reused copy still does.

Each view is area-averaged once, to 128×128 (in floats); the 64×64 and 32×32 copies are its
2×2 halvings, which is the same area average as resizing the view again, at a fraction of
the cost (three resizes a view were most of the hashing time of an upload).

A global DCT hash does not survive cropping: cutting 5% off one side shifts and rescales every
frequency. So each photo also keeps the hashes of nine 95% crops (a 3×3 grid of offsets). A
copy cropped by up to ~5% anywhere lies within 1.25% of one of those crops, close enough for
both hashes (docs/benchmarks.md). Crops are compared in both directions: a cropped copy of a
stored photo, and a stored crop of the photo now uploaded.

Two photos are near duplicates when, for one pair of views, all three distances are within
their thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

PHASH_BITS: Final = 64
DETAIL_BITS: Final = 256
# Calibrated by bench/vision_eval.py (docs/benchmarks.md).
PHASH_THRESHOLD: Final = 12
DETAIL_THRESHOLD: Final = 56
FINE_BITS: Final = 576
FINE_THRESHOLD: Final = 145
CROP_SIZE: Final = 0.95
CROP_GRID: Final = 3
HASH_SIDE: Final = 512


def _bits(small: NDArray[np.float32], keep: int) -> int:
    coeffs = cv2.dct(small)[:keep, :keep].flatten()
    # The DC term only says how bright the photo is; leave it out of the median.
    bits = coeffs > np.median(coeffs[1:])
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def _halved(small: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each 2×2 block's mean: an area average of an area average is the area average of the
    larger cells, so this equals resizing the original to half the side (up to rounding)."""
    side = small.shape[0] // 2
    return np.asarray(small.reshape(side, 2, side, 2).mean(axis=(1, 3)), dtype=np.float32)


def _pyramid(gray: NDArray[np.uint8] | NDArray[np.float32]) -> tuple[NDArray[np.float32], ...]:
    """The image area-averaged to 32×32, 64×64 and 128×128: one resize, two halvings."""
    fine = np.asarray(
        cv2.resize(gray.astype(np.float32, copy=False), (128, 128), interpolation=cv2.INTER_AREA),
        dtype=np.float32,
    )
    detail = _halved(fine)
    return _halved(detail), detail, fine


def phash(gray: NDArray[np.uint8]) -> int:
    """64-bit perceptual (DCT) hash of an 8-bit grey image, as an unsigned int."""
    return _bits(_pyramid(gray)[0], 8)


def detail_hash(gray: NDArray[np.uint8]) -> int:
    """256-bit perceptual (DCT) hash of an 8-bit grey image, as an unsigned int."""
    return _bits(_pyramid(gray)[1], 16)


def fine_hash(gray: NDArray[np.uint8]) -> int:
    """576-bit perceptual (DCT) hash of an 8-bit grey image, as an unsigned int."""
    return _bits(_pyramid(gray)[2], 24)


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


Grey = TypeVar("Grey", NDArray[np.uint8], NDArray[np.float32])


def crop_views(gray: Grey, size: float = CROP_SIZE, grid: int = CROP_GRID) -> list[Grey]:
    """The ``grid``×``grid`` crops of ``size`` (share of each side), corners and between."""
    h, w = gray.shape[:2]
    ch, cw = max(1, round(h * size)), max(1, round(w * size))
    steps = np.linspace(0.0, 1.0, grid)
    return [
        gray[round((h - ch) * fy) : round((h - ch) * fy) + ch, round((w - cw) * fx) :][:, :cw]
        for fy in steps
        for fx in steps
    ]


View = tuple[int, int, int]  # (phash, detail, fine) of one view of a photo


def _view(gray: NDArray[np.uint8] | NDArray[np.float32]) -> View:
    coarse, detail, fine = _pyramid(gray)
    return _bits(coarse, 8), _bits(detail, 16), _bits(fine, 24)


@dataclass(frozen=True)
class PhotoHashes:
    """Perceptual hashes of one photo: the whole image and its 95% crops.

    ``crops`` holds ``(phash, detail, fine)`` of each crop. Hashes read from payloads written
    before crops and fine hashes existed have ``crops == ()`` and ``fine is None``: they match
    whole image against whole image, without the veto.
    """

    phash: int
    detail: int
    crops: tuple[View, ...] = ()
    fine: int | None = None

    def to_payload(self) -> dict[str, str | list[str] | None]:
        """Plain dict with fixed-width hex strings."""
        return {
            "phash": hash_hex(self.phash, PHASH_BITS),
            "detail_hash": hash_hex(self.detail, DETAIL_BITS),
            "fine_hash": None if self.fine is None else hash_hex(self.fine, FINE_BITS),
            "crop_hashes": [
                ":".join(
                    (hash_hex(p, PHASH_BITS), hash_hex(d, DETAIL_BITS), hash_hex(f, FINE_BITS))
                )
                for p, d, f in self.crops
            ],
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> PhotoHashes:
        """The hashes back from ``to_payload`` (e.g. when rebuilding the index from events)."""
        crops = []
        raw = payload.get("crop_hashes") or []
        for item in raw if isinstance(raw, list) else []:
            p, d, f = str(item).split(":")
            crops.append((int(p, 16), int(d, 16), int(f, 16)))
        fine = payload.get("fine_hash")
        return cls(
            int(str(payload["phash"]), 16),
            int(str(payload["detail_hash"]), 16),
            tuple(crops),
            None if fine is None else int(str(fine), 16),
        )


def photo_hashes(gray: NDArray[np.uint8]) -> PhotoHashes:
    """Compute ``PhotoHashes`` of an 8-bit grey image (whole image and its crops).

    Works on a copy at most ``HASH_SIDE`` pixels wide: every hash averages down to 128×128 or
    less anyway, and thirty hashes of a 12-megapixel photo would otherwise cost ~100 ms.
    """
    scale = HASH_SIDE / max(gray.shape[:2])
    if scale < 1.0:
        gray = np.asarray(
            cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA),
            dtype=np.uint8,
        )
    # in floats once, so each view is resized without rounding to bytes in between
    exact = gray.astype(np.float32)
    p, d, f = _view(exact)
    return PhotoHashes(p, d, tuple(_view(c) for c in crop_views(exact)), f)


@dataclass(frozen=True)
class NearDuplicate:
    """An earlier photo that looks like the probe, with both Hamming distances."""

    photo_id: str
    distance: int
    detail_distance: int


_NO_FINE: Final = 0  # stands in for a missing fine hash; its distances are ignored


def _views(
    hashes: PhotoHashes,
) -> tuple[NDArray[np.uint64], NDArray[np.uint64], NDArray[np.uint64], bool]:
    views: list[View] = [(hashes.phash, hashes.detail, hashes.fine or _NO_FINE), *hashes.crops]
    views += [views[0]] * (1 + CROP_GRID**2 - len(views))
    coarse = np.stack([_words(p, PHASH_BITS) for p, _, _ in views])[:, 0]
    detail = np.stack([_words(d, DETAIL_BITS) for _, d, _ in views])
    fine = np.stack([_words(f, FINE_BITS) for _, _, f in views])
    return coarse, detail, fine, hashes.fine is not None


@dataclass
class DuplicateIndex:
    """In-memory index of photo hashes; ``find`` scans all of them vectorised.

    Rebuild it at start-up from the hashes kept in ``PhotoStored`` events
    (``PhotoHashes.from_payload``).
    """

    threshold: int = PHASH_THRESHOLD
    detail_threshold: int = DETAIL_THRESHOLD
    fine_threshold: int = FINE_THRESHOLD
    _ids: list[str] = field(default_factory=list)
    _coarse: list[NDArray[np.uint64]] = field(default_factory=list)
    _detail: list[NDArray[np.uint64]] = field(default_factory=list)
    _fine: list[NDArray[np.uint64]] = field(default_factory=list)
    _has_fine: list[bool] = field(default_factory=list)
    _stack: tuple[NDArray[np.uint64], ...] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, photo_id: str, hashes: PhotoHashes) -> None:
        """Remember a photo's hashes under ``photo_id``."""
        coarse, detail, fine, has_fine = _views(hashes)
        self._ids.append(photo_id)
        self._coarse.append(coarse)
        self._detail.append(detail)
        self._fine.append(fine)
        self._has_fine.append(has_fine)
        self._stack = None

    def extend(self, items: Iterable[tuple[str, PhotoHashes]]) -> None:
        """Add many photos at once."""
        for photo_id, hashes in items:
            self.add(photo_id, hashes)

    def find(self, hashes: PhotoHashes, exclude: str | None = None) -> list[NearDuplicate]:
        """Stored photos that look like ``hashes``, nearest first.

        Compared views: the probe's whole image against every stored view (a cropped copy of a
        stored photo), and the probe's crops against each stored whole image (the stored photo
        is a cropped copy of the probe). A pair matches when all distances are within the
        thresholds; the reported distances are those of the closest matching pair.
        """
        if not self._ids:
            return []
        if self._stack is None:
            self._stack = (
                np.stack(self._coarse),
                np.stack(self._detail),
                np.stack(self._fine),
                np.asarray(self._has_fine, dtype=np.uint64),
            )
        coarse, detail, fine, has_fine = self._stack  # (N, V), (N, V, words), (N,)
        q_coarse, q_detail, q_fine, q_has_fine = _views(hashes)

        def pairs(stored: NDArray[np.uint64], probe: NDArray[np.uint64]) -> NDArray[np.int64]:
            # Probe whole vs every stored view, then probe views vs stored whole: (N, 2V).
            if stored.ndim == 2:
                a = np.bitwise_count(stored ^ probe[0])
                b = np.bitwise_count(stored[:, :1] ^ probe[None, :])
            else:
                a = np.bitwise_count(stored ^ probe[0]).sum(axis=2)
                b = np.bitwise_count(stored[:, :1, :] ^ probe[None, :, :]).sum(axis=2)
            return np.concatenate([a, b], axis=1).astype(np.int64)

        d1, d2, d3 = pairs(coarse, q_coarse), pairs(detail, q_detail), pairs(fine, q_fine)
        vetoable = (has_fine.astype(bool) & q_has_fine)[:, None]
        ok = (
            (d1 <= self.threshold)
            & (d2 <= self.detail_threshold)
            & (~vetoable | (d3 <= self.fine_threshold))
        )
        # Among matching pairs pick the one with the smallest detail distance.
        score = np.where(ok, d2 * 1000 + d1, np.iinfo(np.int64).max)
        best = np.argmin(score, axis=1)
        rows = np.nonzero(ok.any(axis=1))[0]
        found = [
            NearDuplicate(self._ids[i], int(d1[i, best[i]]), int(d2[i, best[i]]))
            for i in rows
            if self._ids[i] != exclude
        ]
        return sorted(found, key=lambda n: (n.detail_distance, n.distance, n.photo_id))
