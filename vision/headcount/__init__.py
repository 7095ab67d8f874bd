"""How many people a room photo shows: ``count_faces`` over face detections by one
``CountPolicy``, with room photos from other days setting pictures on the wall aside
(``pictures.RoomMemory``)."""

from vision.headcount.pictures import (
    EARLIER_PHOTOS,
    FULL_MEMORY,
    STATIC_GAP,
    MemoryUse,
    RoomMemory,
    earlier_views,
)
from vision.headcount.policy import CountPolicy, Face, Headcount, Reason, count_faces

__all__ = [
    "EARLIER_PHOTOS",
    "FULL_MEMORY",
    "STATIC_GAP",
    "CountPolicy",
    "Face",
    "Headcount",
    "MemoryUse",
    "Reason",
    "RoomMemory",
    "count_faces",
    "earlier_views",
]
