"""QR code decoding for the phone check-in (the room screen shows a rotating QR payload)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.decode import MAX_BYTES, decode_image


def decode_qr_pixels(gray: NDArray[np.uint8]) -> tuple[str, ...]:
    """Texts of all QR codes OpenCV finds in an 8-bit image (empty tuple when none)."""
    detector = cv2.QRCodeDetector()
    ok, texts, _points, _ = detector.detectAndDecodeMulti(gray)
    found = tuple(t for t in texts if t) if ok else ()
    if found:
        return found
    text, _points, _ = detector.detectAndDecode(gray)
    return (text,) if text else ()


def decode_qr(data: bytes, max_bytes: int = MAX_BYTES) -> tuple[str, ...]:
    """Decode QR codes in image bytes. Raises ``ImageRejected`` if the bytes are not an image."""
    image = decode_image(data, max_bytes)
    return decode_qr_pixels(image.gray)
