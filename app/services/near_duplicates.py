"""Which stored photos a new one looks like: a resized, recompressed or cropped copy."""

from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

import structlog

from app.stores.base import ReadStore
from vision.forensics import DuplicateIndex, PhotoHashes

log = structlog.get_logger(__name__)
#: near-duplicates kept in a new photo's facts (nearest first)
MAX_NEAR = 5


class NearDuplicates:
    """Which earlier photos a new one looks like (resized, recompressed, cropped copies):
    the vision package's in-memory index, filled from the `photo_hashes` read model and kept
    current with what this process stores. Another process's photo of the last moments may
    not be in it yet; byte-identical uploads are caught by SHA-256 regardless."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self._index = DuplicateIndex()
        self._sessions: dict[str, str] = {}
        self._since = ""
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        rows = self.store.fetch(
            "SELECT photo_id, session_id, stored_at, hashes FROM photo_hashes "
            "WHERE stored_at >= :since ORDER BY stored_at",
            {"since": self._since},
        )
        for row in rows:
            self._since = max(self._since, row["stored_at"])
            if row["photo_id"] in self._sessions:
                continue
            try:
                hashes = PhotoHashes.from_payload(json.loads(row["hashes"]))
            except (ValueError, KeyError, TypeError) as exc:  # an old or damaged payload
                log.warning(
                    "photo left out of the duplicate index",
                    photo=row["photo_id"][:12],
                    error=str(exc),
                )
                self._sessions[row["photo_id"]] = row["session_id"]
                continue
            self._index.add(row["photo_id"], hashes)
            self._sessions[row["photo_id"]] = row["session_id"]

    def find(self, sha256: str, hashes: PhotoHashes) -> list[dict[str, Any]]:
        """Stored photos that look like `hashes`, nearest first, with their sessions."""
        with self._lock:
            self._refresh()
            hits = self._index.find(hashes, exclude=sha256)[:MAX_NEAR]
            return [
                {
                    "photo_id": hit.photo_id,
                    "session_id": self._sessions[hit.photo_id],
                    "distance": hit.distance,
                    "detail_distance": hit.detail_distance,
                }
                for hit in hits
            ]

    def add(self, sha256: str, session_id: UUID, hashes: PhotoHashes) -> None:
        with self._lock:
            if sha256 not in self._sessions:
                self._index.add(sha256, hashes)
                self._sessions[sha256] = str(session_id)
