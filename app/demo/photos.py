"""Room photos for the demo: each running session's tablet photographs the room about ten
minutes in, with as many people in it as have checked in by then, so the session page and the
photo evidence page have something real to show. Two sessions tell the stories HR looks for:
three people fewer in the photo than checked in (someone badged in for a friend), and a photo
taken the day before (an old picture sent again).

The pictures are synthetic rooms (``app.demo.synthetic``) built from scikit-image's samples,
which is a development dependency: without it the demo runs without photos.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import structlog
from PIL import Image

log = structlog.get_logger(__name__)

CAMERA = "Muster Tablet T1"  # EXIF text is ASCII
#: the stories, by the session's place in the demo's list of running sessions
FEWER_IN_PHOTO = 1
TAKEN_YESTERDAY = 3


@dataclass(frozen=True)
class RoomShot:
    """One photo the demo takes: JPEG bytes, and how many people are in it."""

    jpeg: bytes
    people: int


class Photographer:
    """Builds room photos; ``None`` from ``load`` when scikit-image is not installed."""

    def __init__(self, faces: list[Any], textures: list[Any]) -> None:
        self.faces = faces
        self.textures = textures

    @classmethod
    def load(cls) -> Photographer | None:
        try:
            from app.demo.samples import room_faces, textures
        except ImportError:
            log.info("demo room photos off: scikit-image is not installed")
            return None
        return cls(room_faces(), textures())

    def shoot(self, people: int, taken: datetime, seed: int) -> RoomShot:
        """A 1920×1080 room with ``people`` seated in rows, EXIF time ``taken`` as its clock
        reads (the plant's, with its offset) and the tablet's camera model."""
        from app.demo.synthetic import make_room

        rng = np.random.default_rng(seed)
        room = make_room(rng, self.faces, self.textures, max(people, 1))
        exif = Image.Exif()
        exif[0x0110] = CAMERA  # Model
        ifd = exif.get_ifd(0x8769)
        ifd[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
        ifd[0x9011] = taken.isoformat()[-6:]  # OffsetTimeOriginal, "+08:00"
        out = io.BytesIO()
        Image.fromarray(room.rgb).save(out, format="JPEG", quality=88, exif=exif)
        return RoomShot(out.getvalue(), room.headcount)


def story(index: int, checked_in: int, now: datetime) -> tuple[int, datetime]:
    """How many people the ``index``-th running session's photo shows, and when it was taken."""
    if index == FEWER_IN_PHOTO:
        return max(checked_in - 3, 1), now
    if index == TAKEN_YESTERDAY:
        return checked_in, now - timedelta(days=1, minutes=7)
    return checked_in, now
