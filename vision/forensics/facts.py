"""Photo forensics in one pass: content hash, EXIF facts, perceptual hashes."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from PIL import Image, ImageOps

from vision.decode import DecodedImage, open_image
from vision.errors import ImageRejected
from vision.forensics.exif import ExifFacts, exif_facts_of
from vision.forensics.hashes import PhotoHashes, photo_hashes

#: the long side, in pixels, a JPEG is at least decoded at for its hashes: libjpeg scales by
#: 1/2, 1/4 or 1/8 while decoding (in the DCT domain), so a 4000-px photo comes out 500 px
#: wide and a 1920-px one 960 px (as before). Every hash averages a 95% crop down to 128×128
#: or less, so 500 px still gives each of the finest hash's cells several pixels a side.
DECODE_SIDE: Final = 500


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


def draft_size(width: int, height: int, side: int = DECODE_SIDE) -> tuple[int, int]:
    """The size to ask Pillow's ``Image.draft`` for: it picks the largest DCT scale (1/8,
    1/4, 1/2) that keeps both sides at least this big, so the long side stays ≥ ``side``."""
    long = max(width, height)
    if long <= side:
        return width, height
    return max(1, width * side // long), max(1, height * side // long)


def photo_facts(data: bytes, decode_side: int = DECODE_SIDE) -> PhotoFacts:
    """Decode ``data`` safely and compute its ``PhotoFacts``; raises ``ImageRejected``.

    The hashes need a small grey copy, so a JPEG is decoded in grey at the smallest DCT
    scale whose long side is still ``decode_side`` (an eighth of each side for a 12-megapixel
    photo, where it was a quarter): libjpeg then skips most of the inverse DCT and the
    colour work, which is what an upload waits for. Every byte of the file is still read,
    so a truncated file is refused.
    Photos stored with hashes of a larger copy (at least 512 px a side until 2026-12) still
    match their copies: the hashes of the two scales differ by a few bits, well inside the
    near-duplicate thresholds (tests/vision/test_forensics.py)."""
    opened = open_image(data)
    fmt = str(opened.format)
    exif = exif_facts_of(opened)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            full = opened.size
            if fmt == "JPEG":
                opened.draft("L", draft_size(*full, decode_side))
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
