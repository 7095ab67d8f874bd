"""Safe image decoding: size limit, pixel limit (decompression bombs), corrupt bytes.

Everything that turns untrusted bytes into pixels goes through ``decode_image``.
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError

from vision.errors import ImageRejected

MAX_BYTES: Final = 15 * 1024 * 1024
MAX_PIXELS: Final = 40_000_000
ACCEPTED_FORMATS: Final = frozenset({"JPEG", "PNG", "WEBP", "MPO"})

RGBImage = NDArray[np.uint8]


@dataclass(frozen=True)
class DecodedImage:
    """Pixels (RGB, H×W×3, uint8, EXIF orientation applied) plus the container facts."""

    rgb: RGBImage
    format: str
    width: int
    height: int

    @functools.cached_property
    def gray(self) -> NDArray[np.uint8]:
        """The image in 8-bit grey (ITU-R 601 luma), computed once."""
        return np.asarray(cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def open_image(
    data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Open ``data`` with Pillow after the byte and pixel checks, without decoding pixels yet.

    Raises ``ImageRejected`` with reason ``image_empty``, ``image_too_large``,
    ``image_too_many_pixels`` or ``image_corrupt``.
    """
    if not data:
        raise ImageRejected("image_empty")
    if len(data) > max_bytes:
        raise ImageRejected("image_too_large", f"{len(data)} bytes > {max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as e:
        reason = (
            "image_corrupt" if isinstance(e, UnidentifiedImageError) else "image_too_many_pixels"
        )
        raise ImageRejected(reason, str(e)) from e
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageRejected("image_corrupt", str(e)) from e
    # Checked from the header, before a single pixel is decoded.
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected("image_too_many_pixels", f"{width}x{height} > {max_pixels} pixels")
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected("image_corrupt", f"unsupported format {image.format}")
    return image


def decode_image(
    data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> DecodedImage:
    """Decode JPEG/PNG/WebP bytes into RGB pixels, refusing anything unsafe.

    Raises ``ImageRejected`` (reason codes as in ``open_image``) for oversized files, decompression
    bombs, truncated or corrupt bytes and unsupported formats; never returns a partial image.
    """
    image = open_image(data, max_bytes, max_pixels)
    fmt = str(image.format)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image) or image
            rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageRejected("image_corrupt", str(e)) from e
    rgb = np.ascontiguousarray(rgb)
    return DecodedImage(rgb=rgb, format=fmt, width=int(rgb.shape[1]), height=int(rgb.shape[0]))


def encode_jpeg(rgb: RGBImage, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB array (used by tests, the benchmark and the fake camera)."""
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def encode_png(rgb: NDArray[np.uint8]) -> bytes:
    """PNG bytes of an RGB or grey array."""
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()
