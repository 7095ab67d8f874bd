"""Rooms as people type them: one room, however its name is spaced or which width of
characters the keyboard gave ("培训室 A", "培训室A", "培训室Ａ", "培训室　a")."""

from __future__ import annotations

import unicodedata


def room_key(room: str) -> str:
    """The key two room names are compared by: NFKC (full-width letters, digits and spaces
    become their plain forms), every whitespace removed, case folded. The name itself is
    kept as it was typed; only comparisons use the key."""
    return "".join(unicodedata.normalize("NFKC", room).split()).casefold()


def same_room(plant: str, room: str, other_plant: str, other_room: str) -> bool:
    """The same room of the same plant."""
    return plant == other_plant and room_key(room) == room_key(other_room)
