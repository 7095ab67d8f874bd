"""Photo forensics in one pass: content hash, EXIF facts, perceptual hashes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from PIL import Image

from vision.decode import DecodedImage, decode_image, open_image
from vision.forensics.exif import ExifFacts, exif_facts_of
from vision.forensics.hashes import PhotoHashes, photo_hashes


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
    """Decode ``data`` safely and compute its ``PhotoFacts``; raises ``ImageRejected``."""
    return facts_of(data, decode_image(data))
