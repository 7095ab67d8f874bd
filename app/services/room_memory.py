"""Room memory as the app sees it: which stored photos of a room a photo is compared with,
and which photos a new one gives more to compare with (``app.domain.recount``). Reads the
evidence read model (both stores, `:name` SQL) and the photo files; called from worker
threads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import structlog

from app.domain.recount import RecountPolicy
from app.services.photo_files import PhotoFiles
from app.stores.base import ReadStore, from_iso, iso

log = structlog.get_logger(__name__)


def _memory_of(analysis: str | None) -> float:
    """How many other photos of the room an analysis (JSON) compared with; infinite for one
    from before room memory, which is never analysed again for it."""
    memory = json.loads(analysis or "{}").get("room_memory_photos")
    return memory if isinstance(memory, int) else float("inf")


class RoomMemory:
    """Which photos of a room are compared with which, under one `RecountPolicy`."""

    def __init__(self, store: ReadStore, files: PhotoFiles, policy: RecountPolicy) -> None:
        self.store = store
        self.files = files
        self.policy = policy

    def _sides(
        self, session_id: str
    ) -> tuple[datetime, dict[str, Any], list[tuple[str, str, str]]] | None:
        """When ``session_id`` starts, the parameters that pick other sessions of its plant
        and room, and for each side (before, after) the comparison, the order (nearest first)
        and the bound at least `policy.gap` away. ``None`` for an unknown session."""
        here = self.store.fetch_one(
            "SELECT plant, room, starts_at FROM sessions WHERE id = :id", {"id": session_id}
        )
        if here is None:
            return None
        starts = from_iso(here["starts_at"])
        gap = self.policy.gap
        params = {"sid": session_id, "plant": here["plant"], "room": here["room"]}
        bounds = [("<=", "DESC", iso(starts - gap)), (">=", "ASC", iso(starts + gap))]
        return starts, params, bounds

    def photos_apart(self, session_id: str, photo_id: str) -> list[str]:
        """The room photos (ids) ``photo_id`` is compared with: one from each of the
        `policy.photos` other sessions in the same plant and room nearest to ``session_id``
        that started at least `policy.gap` before or after it (the last photo stored in
        each, nearest session first). Later sessions count too: a tablet that syncs last
        week's photos today finds both sides."""
        room = self._sides(session_id)
        if room is None:
            return []
        starts, params, bounds = room
        n = self.policy.photos
        sides = []
        for when, order, bound in bounds:
            sides += self.store.fetch(
                "SELECT photo_id, starts_at FROM (SELECT p.photo_id, s.starts_at, "
                "s.id AS session_id, ROW_NUMBER() OVER (PARTITION BY p.session_id "
                "ORDER BY p.stored_at DESC, p.photo_id) AS nth FROM photos p "
                "JOIN sessions s ON s.id = p.session_id WHERE p.kind = 'room' "
                "AND p.photo_id <> :photo AND s.id <> :sid AND s.plant = :plant "
                f"AND s.room = :room AND s.starts_at {when} :bound) latest "
                f"WHERE nth = 1 ORDER BY starts_at {order}, session_id LIMIT :n",
                {**params, "photo": photo_id, "bound": bound, "n": n},
            )
        nearest = sorted(sides, key=lambda r: abs(from_iso(r["starts_at"]) - starts))
        return [r["photo_id"] for r in nearest[:n]]

    def short_of_memory(self, session_id: str) -> list[str]:
        """Analysed room photos of the `policy.photos` sessions each side nearest to
        ``session_id`` (same plant and room, at least `policy.gap` apart) last compared with
        fewer than `policy.photos` others: the photos a new photo of this session's room may
        give more to compare with. Analyses from before room memory are left."""
        room = self._sides(session_id)
        if room is None:
            return []
        _, params, bounds = room
        found = []
        for when, order, bound in bounds:
            rows = self.store.fetch(
                "SELECT p.photo_id, p.analysis FROM photos p JOIN (SELECT s.id FROM sessions s "
                "WHERE s.id <> :sid AND s.plant = :plant AND s.room = :room "
                f"AND s.starts_at {when} :bound AND EXISTS (SELECT 1 FROM photos q "
                "WHERE q.session_id = s.id AND q.kind = 'room') "
                f"ORDER BY s.starts_at {order}, s.id LIMIT :n) near ON near.id = p.session_id "
                "WHERE p.kind = 'room' AND p.status = 'analysed' ORDER BY p.stored_at, p.photo_id",
                {**params, "bound": bound, "n": self.policy.photos},
            )
            found += [r["photo_id"] for r in rows if _memory_of(r["analysis"]) < self.policy.photos]
        return found

    def read(self, photo_id: str, ids: list[str]) -> list[bytes]:
        """The bytes of the photos ``ids``; a file that cannot be read is left out, logged."""
        earlier = []
        for other in ids:
            try:
                earlier.append(self.files.read(other))
            except OSError as exc:
                log.warning(
                    "earlier room photo unreadable: left out of room memory",
                    photo=photo_id[:12],
                    earlier=other[:12],
                    error=str(exc),
                )
        return earlier
