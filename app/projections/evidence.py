"""Evidence: every stored photo with its forensic facts, uploads and analysis, per session."""

from __future__ import annotations

import json
from typing import Any

from app.domain.evidence import Photo
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso

#: the fields of `PhotoStored.facts` that `vision.forensics.hashes.PhotoHashes.from_payload` reads
HASH_FIELDS = ("phash", "detail_hash", "fine_hash", "crop_hashes")


class Evidence(Projection):
    name = "evidence"
    owned_tables = ("photos", "photo_uploads")
    tables = (
        "CREATE TABLE IF NOT EXISTS photos (photo_id TEXT PRIMARY KEY, id TEXT NOT NULL, "
        "session_id TEXT NOT NULL, kind TEXT NOT NULL, device_id TEXT NOT NULL, "
        "stored_at TEXT NOT NULL, exif_time TEXT, camera TEXT, width INTEGER, height INTEGER, "
        "phash TEXT, detail_hash TEXT, uploads INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL, "
        "headcount INTEGER, headcount_max INTEGER, attention_share REAL, analysis TEXT, "
        "failure TEXT)",
        "CREATE INDEX IF NOT EXISTS photos_session ON photos (session_id, stored_at)",
        "CREATE INDEX IF NOT EXISTS photos_id ON photos (id)",
        "CREATE TABLE IF NOT EXISTS photo_uploads (photo_id TEXT NOT NULL, "
        "session_id TEXT NOT NULL, device_id TEXT NOT NULL, client_event_id TEXT NOT NULL, "
        "uploaded_at TEXT NOT NULL, PRIMARY KEY (photo_id, device_id, client_event_id))",
    )

    @handles(Photo.PhotoStored)
    def stored(self, e: Any, b: Batch) -> None:
        facts = e.facts
        camera = " ".join(x for x in (facts.get("camera_make"), facts.get("camera_model")) if x)
        b.insert(
            "photos",
            "photo_id",
            photo_id=e.sha256,
            id=str(e.originator_id),
            session_id=str(e.session_id),
            kind=e.kind,
            device_id=str(e.device_id),
            stored_at=iso(e.timestamp),
            exif_time=facts.get("exif_time"),
            camera=camera or None,
            width=facts.get("width"),
            height=facts.get("height"),
            phash=facts.get("phash"),
            detail_hash=facts.get("detail_hash"),
            status="stored",
        )
        self._upload(e, b)

    @handles(Photo.PhotoReused)
    def reused(self, e: Any, b: Batch) -> None:
        b.sql("UPDATE photos SET uploads = uploads + 1 WHERE id = :id", id=str(e.originator_id))
        self._upload(e, b)

    @staticmethod
    def _upload(e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO photo_uploads (photo_id, session_id, device_id, client_event_id, "
            "uploaded_at) SELECT photo_id, :sid, :device, :cei, :at FROM photos WHERE id = :id "
            "ON CONFLICT DO NOTHING",
            id=str(e.originator_id),
            sid=str(e.session_id),
            device=str(e.device_id),
            cei=e.client_event_id,
            at=iso(e.timestamp),
        )
        b.changes.add(str(e.session_id))

    @handles(Photo.PhotoAnalysed)
    def analysed(self, e: Any, b: Batch) -> None:
        result = e.result
        b.update(
            "photos",
            "id",
            str(e.originator_id),
            status="analysed",
            headcount=result.get("headcount"),
            headcount_max=result.get("headcount_max"),
            attention_share=result.get("attention_share"),
            analysis=json.dumps(result, ensure_ascii=False),
        )
        self._changed_session(e, b)

    @handles(Photo.PhotoAnalysisFailed)
    def analysis_failed(self, e: Any, b: Batch) -> None:
        b.update("photos", "id", str(e.originator_id), status="failed", failure=e.reason)
        self._changed_session(e, b)

    @staticmethod
    def _changed_session(e: Any, b: Batch) -> None:
        b.changes.add(str(e.session_id))


class PhotoIndex(Projection):
    """The perceptual hashes of every stored photo, for the near-duplicate index the photo
    service keeps in memory, and what each new photo was found to look like."""

    name = "photo_index"
    owned_tables = ("photo_hashes",)
    tables = (
        "CREATE TABLE IF NOT EXISTS photo_hashes (photo_id TEXT PRIMARY KEY, "
        "session_id TEXT NOT NULL, stored_at TEXT NOT NULL, hashes TEXT NOT NULL, "
        "near TEXT NOT NULL DEFAULT '[]')",
        "CREATE INDEX IF NOT EXISTS photo_hashes_stored ON photo_hashes (stored_at)",
    )

    @handles(Photo.PhotoStored)
    def stored(self, e: Any, b: Batch) -> None:
        facts = e.facts
        b.insert(
            "photo_hashes",
            "photo_id",
            session_id=str(e.session_id),
            stored_at=iso(e.timestamp),
            photo_id=e.sha256,
            hashes=json.dumps({k: facts.get(k) for k in HASH_FIELDS}),
            near=json.dumps(facts.get("near_duplicates") or []),
        )


class PhotoPurges(Projection):
    """Photos whose original was deleted after the retention period (the evidence pages say
    so; the hashes, EXIF facts and analysis stay in `photos`)."""

    name = "photo_purges"
    owned_tables = ("photo_purges",)
    tables = (
        "CREATE TABLE IF NOT EXISTS photo_purges (photo_id TEXT PRIMARY KEY, "
        "purged_at TEXT NOT NULL, retention_days INTEGER NOT NULL, actor TEXT)",
    )

    @handles(Photo.PhotoOriginalPurged)
    def purged(self, e: Any, b: Batch) -> None:
        b.insert(
            "photo_purges",
            "photo_id",
            photo_id=e.photo_id,
            purged_at=iso(e.timestamp),
            retention_days=e.retention_days,
            actor=e.actor,
        )
        b.changes.add(str(e.session_id))
