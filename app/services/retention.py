"""Photo retention: originals are deleted once no upload has used them for the retention
period. What they showed stays as evidence (content hash, EXIF time, perceptual hashes,
analysis), and each deletion is recorded (`PhotoOriginalPurged`), so the evidence pages say
the original was purged rather than showing a broken picture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from app.alerts.follower import Clock, Follower, events_of, system_clock
from app.application import Training
from app.domain.evidence import Photo
from app.services.photo_files import PhotoFiles
from app.stores.base import ReadStore, from_iso, iso

log = structlog.get_logger(__name__)
ACTOR = "retention"

#: photos whose last upload lies before the cutoff and whose original was not purged yet
_DUE = (
    "SELECT p.photo_id, p.id, p.session_id FROM photos p "
    "WHERE NOT EXISTS (SELECT 1 FROM photo_purges x WHERE x.photo_id = p.photo_id) "
    "AND COALESCE((SELECT MAX(u.uploaded_at) FROM photo_uploads u "
    "WHERE u.photo_id = p.photo_id), p.stored_at) < :cutoff ORDER BY p.stored_at, p.photo_id"
)


@dataclass(frozen=True)
class PurgeResult:
    """What one run did: the photos whose originals it deleted (or, in a dry run, would),
    and the cutoff (uploads before it are past the retention period)."""

    cutoff: datetime
    photo_ids: list[str]
    dry_run: bool


class PhotoRetention:
    """Deletes photo originals past the retention period; safe to run again at any time
    (a file already gone is recorded as purged, a recorded purge is not recorded twice)."""

    def __init__(
        self, app: Training, store: ReadStore, files: PhotoFiles, retention_days: int
    ) -> None:
        self.app = app
        self.store = store
        self.files = files
        self.retention_days = retention_days

    def due(
        self, now: datetime, retention_days: int | None = None
    ) -> tuple[datetime, list[dict[str, str]]]:
        """The cutoff and the photos past it (oldest first)."""
        days = self.retention_days if retention_days is None else retention_days
        cutoff = now - timedelta(days=days)
        return cutoff, self.store.fetch(_DUE, {"cutoff": iso(cutoff)})

    def purge(
        self,
        now: datetime,
        actor: str,
        *,
        retention_days: int | None = None,
        dry_run: bool = False,
    ) -> PurgeResult:
        """Delete every original past the retention period as of `now` (the projections
        must be up to date). Blocking: call it from a worker thread."""
        days = self.retention_days if retention_days is None else retention_days
        cutoff, rows = self.due(now, days)
        if dry_run:
            return PurgeResult(cutoff, [r["photo_id"] for r in rows], dry_run=True)
        done = []
        for row in rows:
            # the file first: a run stopped in between finds the photo due again, its file
            # already gone, and records the purge then
            self.files.delete(row["photo_id"])
            photo: Photo = self.app.repository.get(UUID(row["id"]))
            if not photo.original_purged:
                photo.purge_original(
                    photo_id=row["photo_id"],
                    session_id=photo.session_id,
                    retention_days=days,
                    actor=actor,
                )
                self.app.save(photo)
            done.append(row["photo_id"])
        if done:
            log.info("photo originals purged", photos=len(done), cutoff=iso(cutoff))
        return PurgeResult(cutoff, done, dry_run=False)


#: the earliest last upload of a photo whose original is still kept
_EARLIEST = (
    "SELECT MIN(last) AS last FROM (SELECT COALESCE(MAX(u.uploaded_at), p.stored_at) AS last "
    "FROM photos p LEFT JOIN photo_uploads u ON u.photo_id = p.photo_id "
    "WHERE NOT EXISTS (SELECT 1 FROM photo_purges x WHERE x.photo_id = p.photo_id) "
    "GROUP BY p.photo_id, p.stored_at) kept"
)


class RetentionSchedule(Follower):
    """Deletes each original when its retention period ends: it sleeps until the earliest
    such moment it knows (new uploads only come later), purges, and looks again."""

    name = "photo_retention"
    #: only a new photo can bring a deadline nearer
    topics = events_of(Photo)
    depends_on = ("evidence", "photo_purges")

    def __init__(
        self, retention: PhotoRetention, *, clock: Clock = system_clock, poll_s: float = 60.0
    ) -> None:
        super().__init__(retention.app, retention.store, clock=clock, poll_s=poll_s)
        self.retention = retention
        self._due: datetime | None = None
        self._known = False

    def _next_due(self, now: datetime) -> datetime | None:
        row = self.store.fetch_one(_EARLIEST)
        if not row or not row["last"]:
            return None
        due = from_iso(row["last"]) + timedelta(days=self.retention.retention_days)
        return max(due, now + timedelta(seconds=1))  # the read model may lag the purge

    def run_once(self) -> datetime | None:
        start, end, events = self.read()
        now = self.clock()
        if not self._known or (self._due is None and events):
            self._due, self._known = self._next_due(now), True
        if self._due is not None and self._due <= now:
            self.retention.purge(now, ACTOR)
            self._due = self._next_due(now)
        with self.store.transaction() as tx:
            self.move(tx, start, end)
        return self._due
