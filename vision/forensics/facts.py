"""Photo forensics in one pass: content hash, EXIF facts, perceptual hashes."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from vision.decode import DecodedImage, open_image
from vision.errors import ImageRejected
from vision.forensics.exif import ExifFacts, exif_facts_of
from vision.forensics.hashes import HASH_SIDE, PhotoHashes, photo_hashes


@dataclass(frozen=True)
class PhotoFacts:
    """What a stored photo is: SHA-256 (its ``photo_id``), size, EXIF facts, perceptual hashes."""

    sha256: str
    byte_size: int
    format: str
    width: int
    height: int
    exif: ExifFacts
    hashes: PhotoHashes

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON-ready dict (ISO 8601 times, hex hashes)."""
        gps = self.exif.gps
        return {
            "sha256": self.sha256,
            "byte_size": self.byte_size,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "exif_time": self.exif.captured_at.isoformat() if self.exif.captured_at else None,
            "exif_time_has_offset": self.exif.has_offset,
            "camera_make": self.exif.camera_make,
            "camera_model": self.exif.camera_model,
            "gps": None if gps is None else {"lat": gps.latitude, "lon": gps.longitude},
            **self.hashes.to_payload(),
        }


def facts_of(data: bytes, image: DecodedImage, opened: Image.Image | None = None) -> PhotoFacts:
    """``PhotoFacts`` of already decoded bytes (saves decoding twice)."""
    exif = exif_facts_of(opened if opened is not None else open_image(data))
    return PhotoFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        byte_size=len(data),
        format=image.format,
        width=image.width,
        height=image.height,
        exif=exif,
        hashes=photo_hashes(image.gray),
    )


def photo_facts(data: bytes) -> PhotoFacts:
    """Decode ``data`` safely and compute its ``PhotoFacts``; raises ``ImageRejected``.

    The hashes need a grey copy at most ``HASH_SIDE`` wide, so a JPEG is decoded in grey at
    the smallest DCT scale that still covers it (a quarter of each side for a 12-megapixel
    photo): several times less work than decoding every pixel in colour, which is what an
    upload waits for. Every byte of the file is still read, so a truncated file is refused."""
    opened = open_image(data)
    fmt = str(opened.format)
    exif = exif_facts_of(opened)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            full = opened.size
            if fmt == "JPEG":
                opened.draft("L", (HASH_SIDE, HASH_SIDE))
            opened.load()
            turned = ImageOps.exif_transpose(opened) or opened
            gray = np.ascontiguousarray(np.asarray(turned.convert("L"), dtype=np.uint8))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageRejected("image_corrupt", str(e)) from e
    quarter_turn = (turned.size[0] > turned.size[1]) != (opened.size[0] > opened.size[1])
    width, height = (full[1], full[0]) if quarter_turn else full
    return PhotoFacts(
        sha256=hashlib.sha256(data).hexdigest(),
        byte_size=len(data),
        format=fmt,
        width=width,
        height=height,
        exif=exif,
        hashes=photo_hashes(gray),
    )
