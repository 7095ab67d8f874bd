"""When a room photo is counted again: the recount policy of room memory.

A room photo is analysed with photos of the same room from other sessions (``vision`` sets
aside a face found unchanged at the same place in them: a picture on the wall). A room's
first photos have few or none to compare with, so each is counted again whenever its room
gets a photo of another session, until it was compared with as many as memory uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RecountPolicy:
    """The two knobs of room memory, as the app applies them."""

    #: the least time between two sessions whose photos are compared: another shift or day,
    #: never the same people in the same seats a few minutes before
    gap: timedelta = timedelta(hours=12)
    #: how many other sessions' photos (one each, the nearest in time) a photo is compared
    #: with; a photo compared with fewer is counted again when its room gets another
    photos: int = 3

    def needs_recount(self, compared: int, available: int) -> bool:
        """Whether a photo last compared with ``compared`` other photos of its room should
        be counted again now that ``available`` could be compared (never past ``photos``)."""
        return compared < self.photos and min(available, self.photos) > compared
