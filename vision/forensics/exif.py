"""EXIF facts of a photo: capture time (with its UTC offset when the camera wrote one), camera, GPS.

Missing or malformed EXIF never raises: the field is simply ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from PIL import Image

from vision.decode import MAX_BYTES, MAX_PIXELS, open_image

IFD_EXIF: Final = 0x8769
IFD_GPS: Final = 0x8825
TAG_MAKE: Final = 271
TAG_MODEL: Final = 272
TAG_DATETIME: Final = 306
TAG_DATETIME_ORIGINAL: Final = 36867
TAG_DATETIME_DIGITIZED: Final = 36868
TAG_OFFSET_TIME: Final = 36880
TAG_OFFSET_TIME_ORIGINAL: Final = 36881
TAG_OFFSET_TIME_DIGITIZED: Final = 36882
TAG_SUBSEC_ORIGINAL: Final = 37521

_DATETIME = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})\s*$")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")


@dataclass(frozen=True)
class GpsPosition:
    """Latitude and longitude in decimal degrees (north and east positive)."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class ExifFacts:
    """What the camera said about a photo.

    ``captured_at`` is timezone-aware when the camera recorded an offset (EXIF 2.31
    OffsetTimeOriginal), naive local camera time otherwise, and ``None`` without EXIF time.
    """

    captured_at: datetime | None
    has_offset: bool
    camera_make: str | None
    camera_model: str | None
    gps: GpsPosition | None


NO_EXIF: Final = ExifFacts(None, False, None, None, None)


def parse_exif_offset(value: object) -> timezone | None:
    """Parse an EXIF ``OffsetTime*`` value like ``"+08:00"``; ``None`` when absent or malformed."""
    if not isinstance(value, str):
        return None
    m = _OFFSET.match(value.strip("\x00"))
    if not m:
        return None
    sign, hh, mm = m.groups()
    hours, minutes = int(hh), int(mm)
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def parse_exif_datetime(
    value: object, offset: object = None, subsec: object = None
) -> datetime | None:
    """Parse an EXIF ``"YYYY:MM:DD HH:MM:SS"`` time, attaching ``offset`` when it is valid.

    Returns ``None`` for missing, blank (``"    :  :     :  :  "``) or impossible values.
    """
    if not isinstance(value, str):
        return None
    m = _DATETIME.match(value.strip("\x00"))
    if not m:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        parsed = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if isinstance(subsec, str) and subsec.strip("\x00 ").isdigit():
        digits = subsec.strip("\x00 ")[:6].ljust(6, "0")
        parsed = parsed.replace(microsecond=int(digits))
    tz = parse_exif_offset(offset)
    return parsed.replace(tzinfo=tz) if tz is not None else parsed


def _rational(value: Any) -> float:
    return float(value)


def parse_gps(gps: dict[int, Any]) -> GpsPosition | None:
    """Decimal degrees from an EXIF GPS IFD (tags 1–4); ``None`` when absent or malformed."""
    try:
        lat_ref, lat, lon_ref, lon = gps[1], gps[2], gps[3], gps[4]
        latitude = sum(_rational(v) / 60**i for i, v in enumerate(lat))
        longitude = sum(_rational(v) / 60**i for i, v in enumerate(lon))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if str(lat_ref).upper().startswith("S"):
        latitude = -latitude
    if str(lon_ref).upper().startswith("W"):
        longitude = -longitude
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return GpsPosition(round(latitude, 7), round(longitude, 7))


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ").strip()
    return text or None


def exif_facts_of(image: Image.Image) -> ExifFacts:
    """Read ``ExifFacts`` from an opened Pillow image (pixels need not be decoded)."""
    try:
        exif = image.getexif()
        sub = dict(exif.get_ifd(IFD_EXIF))
        gps_ifd = dict(exif.get_ifd(IFD_GPS))
    except Exception:  # malformed EXIF blocks raise many different errors inside Pillow
        return NO_EXIF
    captured = parse_exif_datetime(
        sub.get(TAG_DATETIME_ORIGINAL),
        sub.get(TAG_OFFSET_TIME_ORIGINAL),
        sub.get(TAG_SUBSEC_ORIGINAL),
    )
    if captured is None:
        captured = parse_exif_datetime(
            sub.get(TAG_DATETIME_DIGITIZED), sub.get(TAG_OFFSET_TIME_DIGITIZED)
        )
    if captured is None:
        captured = parse_exif_datetime(exif.get(TAG_DATETIME), sub.get(TAG_OFFSET_TIME))
    return ExifFacts(
        captured_at=captured,
        has_offset=captured is not None and captured.tzinfo is not None,
        camera_make=_text(exif.get(TAG_MAKE)),
        camera_model=_text(exif.get(TAG_MODEL)),
        gps=parse_gps(gps_ifd) if gps_ifd else None,
    )


def read_exif(data: bytes, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> ExifFacts:
    """EXIF facts of image bytes. Raises ``ImageRejected`` only if the bytes are not an image."""
    return exif_facts_of(open_image(data, max_bytes, max_pixels))
