"""Site photos: stored once by content (SHA-256) outside the event store, recorded as
events with their forensic facts, and analysed by the vision workers off the event loop."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from app.application import Training
from app.domain.evidence import Photo, PhotoKind
from app.domain.ids import natural_id
from app.projections.queries import room_photos_apart, room_photos_short_of_memory
from app.services.checkin import CheckInService
from app.services.devices import DeviceIdentity
from app.services.phones import PhoneIdentity, any_session
from app.stores.base import ReadStore, iso
from app.web.i18n import t
from app.web.problems import Problem
from vision.errors import ImageRejected
from vision.forensics import DuplicateIndex, PhotoHashes, photo_facts
from vision.headcount import EARLIER_PHOTOS, FULL_MEMORY, STATIC_GAP
from vision.messages import message as vision_message
from vision.runtime import RunnerBusy, VisionRunner

log = structlog.get_logger(__name__)
MAX_PHOTO_BYTES = 15 * 1024 * 1024
#: near-duplicates kept in a new photo's facts (nearest first)
MAX_NEAR = 5
#: how far back the sweep looks for room photos whose recounts were lost
RECOUNT_WITHIN = timedelta(days=3)


class PhotoFiles:
    """Content-addressed originals: `<root>/ab/abcdef…`; the same bytes are written once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


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


@dataclass(frozen=True)
class PhotoUpload:
    """`POST /api/v1/photos` after parsing the multipart form."""

    data: bytes
    session_id: str
    kind: str
    client_event_id: str
    device_time: datetime | None


class PhotoService:
    """Store, record and analyse photos; answers `已存储` as soon as the bytes are safe."""

    def __init__(
        self,
        app: Training,
        checkins: CheckInService,
        files: PhotoFiles,
        vision_processes: int,
    ) -> None:
        self.app = app
        self.checkins = checkins
        self.files = files
        self.vision_processes = vision_processes
        self._runner: VisionRunner | None = None
        self._runner_lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()
        self.near = NearDuplicates(checkins.store)

    def runner(self) -> VisionRunner | None:
        """The vision process pool, started on the first room photo (models load once)."""
        if self.vision_processes <= 0:
            return None
        with self._runner_lock:
            if self._runner is None:
                self._runner = VisionRunner(
                    processes=self.vision_processes, queue_size=32, timeout=30.0
                )
                self._runner.start()
            return self._runner

    def close(self) -> None:
        with self._runner_lock:
            if self._runner is not None:
                self._runner.close()
                self._runner = None

    async def upload(
        self, token: str | None, upload: PhotoUpload, lang: str, phone: PhoneIdentity | None = None
    ) -> dict[str, Any]:
        """Store one photo for a session; the same bytes again give the same `photo_id`. An
        employee's `phone` may add a room photo to any session (its login already checked)."""
        if upload.kind not in PhotoKind.ALL:
            raise Problem(
                422,
                "invalid-body",
                "problem.invalid_body",
                errors=[f"kind must be one of {', '.join(PhotoKind.ALL)}"],
            )
        if not upload.client_event_id or len(upload.client_event_id) > 128:
            raise Problem(
                422,
                "invalid-body",
                "problem.invalid_body",
                errors=["client_event_id is required (≤ 128 characters)"],
            )
        if len(upload.data) > MAX_PHOTO_BYTES:
            raise Problem(
                413, "photo-too-large", "problem.photo_too_large", max_bytes=MAX_PHOTO_BYTES
            )
        if phone is not None and upload.kind != PhotoKind.ROOM:
            raise Problem(422, "invalid-body", "problem.invalid_body", errors=["phones: kind=room"])
        photo, created = await asyncio.to_thread(self._store, phone or token, upload, lang)
        if created and photo.kind == PhotoKind.ROOM and self.vision_processes > 0:
            self._start_analysis(photo.sha256)
        return {
            "photo_id": photo.sha256,
            "exif_time": photo.facts.get("exif_time"),
            "status": "stored",
            "message": t("photo.stored", lang),
        }

    def _store(
        self, token: str | PhoneIdentity | None, upload: PhotoUpload, lang: str
    ) -> tuple[Photo, bool]:
        if isinstance(token, PhoneIdentity):
            device: DeviceIdentity = token
            session = any_session(self.checkins.store, upload.session_id)
        else:
            device = self.checkins.authenticate_device(token)
            session = self.checkins.device_session(device, upload.session_id)
        try:
            facts = photo_facts(upload.data)
        except ImageRejected as exc:
            raise Problem(
                422,
                "image-rejected",
                "problem.image_rejected",
                reason=exc.reason,
                reason_text=vision_message(exc.reason, lang),
            ) from exc
        sha = facts.sha256
        self.files.put(sha, upload.data)  # bytes safe on disk before the event says so
        session_id = UUID(session["id"])
        actor = f"device:{device.name}"
        for _attempt in range(3):
            existing: Photo | None = self.app.get_or_none(natural_id("photo", sha))
            if existing is not None:
                if not existing.seen_upload(device.id, upload.client_event_id):
                    existing.reuse(
                        session_id=session_id,
                        kind=upload.kind,
                        device_id=device.id,
                        client_event_id=upload.client_event_id,
                        device_time=upload.device_time,
                        actor=actor,
                    )
                    try:
                        self.app.save(existing)
                    except IntegrityError:
                        continue  # another upload of these bytes raced us: reload
                return existing, False
            photo = Photo(
                sha256=sha,
                session_id=session_id,
                kind=upload.kind,
                device_id=device.id,
                client_event_id=upload.client_event_id,
                device_time=upload.device_time,
                facts={**facts.to_payload(), "near_duplicates": self.near.find(sha, facts.hashes)},
                actor=actor,
            )
            try:
                self.app.save(photo)
            except IntegrityError:
                continue
            self.near.add(sha, session_id, facts.hashes)
            return photo, True
        raise Problem(409, "conflict", "problem.invalid_body", errors=["concurrent uploads"])

    def _start_analysis(self, sha256: str, again: bool = False) -> None:
        """Analyse a room photo in the background; ``again``: analyse it once more with room
        memory, because it was last compared with fewer than ``FULL_MEMORY`` other photos of
        its room and the room now has another."""
        self._in_flight.add(sha256)
        task = asyncio.create_task(self._analyse(sha256, again))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._in_flight.discard(sha256))

    def _free_slots(self) -> int:
        """How many more analyses the vision processes can be given now (two each)."""
        if self.vision_processes <= 0:
            return 0
        return self.vision_processes * 2 - len(self._in_flight)

    async def analyse_backlog(self, older_than_s: float = 0.0) -> int:
        """Start analysing room photos still waiting for it: uploaded to a web process that
        leaves vision to `muster worker --vision`, or whose analysis a restart interrupted.
        Takes no more than the vision processes can hold, oldest first; returns how many."""
        room = self._free_slots()
        if room <= 0:
            return 0
        cutoff = iso(datetime.now(UTC) - timedelta(seconds=older_than_s))
        rows = await self.checkins.store.afetch(
            "SELECT photo_id FROM photos WHERE kind = :kind AND status = 'stored' "
            "AND stored_at <= :cutoff ORDER BY stored_at LIMIT :n",
            {"kind": PhotoKind.ROOM, "cutoff": cutoff, "n": room + len(self._in_flight)},
        )
        waiting = [r["photo_id"] for r in rows if r["photo_id"] not in self._in_flight][:room]
        for sha256 in waiting:
            self._start_analysis(sha256)
        return len(waiting)

    async def recount_backlog(self, within: timedelta = RECOUNT_WITHIN) -> int:
        """Start the recounts room photos stored in the last ``within`` should have given
        and did not: the worker stopped between recording a photo's analysis and analysing
        its room's first photos again with it, the vision queue was full, or the read model
        did not yet show them analysed. Each photo ``_give_memory`` would pick is started only
        if its room has more photos to compare it with now than its analysis had, at most as
        many as the vision processes can hold; returns how many."""
        room = self._free_slots()
        if room <= 0:
            return 0
        since = iso(datetime.now(UTC) - within)
        rows = await self.checkins.store.afetch(
            "SELECT session_id, MAX(stored_at) AS last FROM photos WHERE kind = :kind "
            "AND status = 'analysed' AND stored_at >= :since GROUP BY session_id "
            "ORDER BY last DESC",
            {"kind": PhotoKind.ROOM, "since": since},
        )
        looked_at: set[str] = set()
        started = 0
        for row in rows:
            waiting = await room_photos_short_of_memory(
                self.checkins.store, row["session_id"], STATIC_GAP, EARLIER_PHOTOS, FULL_MEMORY
            )
            for sha256 in waiting:
                if sha256 in looked_at or sha256 in self._in_flight:
                    continue
                looked_at.add(sha256)
                session_id, compared = await self._session_and_memory(sha256)
                if len(await self._memory_ids(sha256, session_id)) <= compared:
                    continue
                log.info("room photo analysed again: its recount was lost", photo=sha256[:12])
                self._start_analysis(sha256, again=True)
                started += 1
                if started >= room:
                    return started
        return started

    async def watch_backlog(
        self, every_s: float, older_than_s: float = 0.0, recount_every_s: float = 600.0
    ) -> None:
        """Sweep the backlog forever (a task of `muster worker --vision` or the web process),
        and every ``recount_every_s`` the recounts that were lost (at the first sweep with a
        free vision process, too)."""
        next_recount = 0.0
        while True:
            try:
                await self.analyse_backlog(older_than_s)
                if time.monotonic() >= next_recount and self._free_slots() > 0:
                    next_recount = time.monotonic() + recount_every_s
                    await self.recount_backlog()
            except Exception:  # a store hiccup: say so and sweep again later
                log.exception("photo backlog sweep failed")
            await asyncio.sleep(every_s)

    async def _analyse(self, sha256: str, again: bool = False) -> None:
        """Run the room analysis in a vision worker and record what it found (or why not).

        Each analysis records how many photos of the room's other sessions it compared with
        (``room_memory_photos``). A photo analysed with fewer than ``FULL_MEMORY`` (a room's
        first sessions) is analysed ``again`` each time the room gets a photo of another
        session, until it has that many: a sure face is judged a picture only then
        (``vision.headcount``). A revision says what it revises, and a failed revision leaves the
        analysis it would have revised."""
        runner = await asyncio.to_thread(self.runner)
        if runner is None:
            return
        session_id, compared = await self._session_and_memory(sha256)
        ids = await self._memory_ids(sha256, session_id)
        if again and len(ids) <= compared:
            return  # nothing more to compare with than last time
        earlier = await self._read_memory(sha256, ids)
        if again and len(earlier) <= compared:
            return  # one of them cannot be read: no more than last time either
        try:
            data = await asyncio.to_thread(self.files.read, sha256)
        except OSError as exc:  # the stored file is gone or unreadable: say so, keep going
            if again:
                log.warning("room photo not analysed again", photo=sha256[:12], error=str(exc))
            else:
                await asyncio.to_thread(self._record_failure, sha256, "photo_unreadable", str(exc))
            return
        try:
            outcome = await runner.analyse_room(data, earlier=earlier)
        except RunnerBusy as busy:
            outcome = None
            reason, detail = busy.reason, busy.detail
        else:
            reason, detail = outcome.reason or "failed", outcome.detail[:500]
        if outcome is not None and outcome.ok and outcome.value is not None:
            result = {
                **outcome.value.to_payload(),
                "elapsed_ms": round(outcome.elapsed_ms, 1),
                "room_memory_photos": len(earlier),
            }
            recorded = await asyncio.to_thread(self._record_analysis, sha256, result, again)
            if recorded and session_id is not None:
                await self._give_memory(sha256, session_id)
        elif again:
            log.warning("room photo not analysed again", photo=sha256[:12], reason=reason)
        else:
            await asyncio.to_thread(self._record_failure, sha256, reason, detail)

    async def _give_memory(self, sha256: str, session_id: str) -> None:
        """Analyse again the photos of this room's nearby sessions that had fewer than
        ``FULL_MEMORY`` other photos of the room to compare with when they were last analysed
        (a room's first sessions): this photo is one more now. A store hiccup only leaves them
        as they were."""
        try:
            waiting = await room_photos_short_of_memory(
                self.checkins.store, session_id, STATIC_GAP, EARLIER_PHOTOS, FULL_MEMORY
            )
        except Exception:
            log.exception("photos short of room memory not looked up", photo=sha256[:12])
            return
        for other in waiting:
            if other not in self._in_flight:
                log.info("room photo analysed again", photo=other[:12], memory_from=sha256[:12])
                self._start_analysis(other, again=True)

    async def _session_and_memory(self, sha256: str) -> tuple[str | None, int]:
        """The session a photo was first stored for (``None``, logged, if the event store
        cannot say: the photo is then analysed without room memory), and how many other photos
        of the room its last analysis compared with (0 if none yet)."""
        try:
            photo: Photo = await asyncio.to_thread(
                self.app.repository.get, natural_id("photo", sha256)
            )
        except Exception:
            log.exception("photo's session unknown: analysing without room memory")
            return None, 0
        return str(photo.session_id), int((photo.analysis or {}).get("room_memory_photos") or 0)

    async def _memory_ids(self, sha256: str, session_id: str | None) -> list[str]:
        """The photos room memory compares this one with: one from each of the nearest other
        sessions of its room at least ``STATIC_GAP`` before or after its own (``vision.headcount``:
        a picture on the wall is found in them, a person is not). Not finding them only means
        analysing without memory, never failing."""
        if session_id is None:
            return []
        try:
            return await room_photos_apart(
                self.checkins.store, session_id, sha256, STATIC_GAP, EARLIER_PHOTOS
            )
        except Exception:  # a store hiccup: the count without memory beats no count
            log.exception("room memory unavailable: analysing without it", photo=sha256[:12])
            return []

    async def _read_memory(self, sha256: str, ids: list[str]) -> list[bytes]:
        """The bytes of those photos (``_memory_ids``); a file that cannot be read is left
        out, logged."""
        earlier = []
        for photo_id in ids:
            try:
                earlier.append(await asyncio.to_thread(self.files.read, photo_id))
            except OSError as exc:
                log.warning(
                    "earlier room photo unreadable: left out of room memory",
                    photo=sha256[:12],
                    earlier=photo_id[:12],
                    error=str(exc),
                )
        return earlier

    def _record_analysis(self, sha256: str, result: dict[str, Any], again: bool = False) -> bool:
        if not again:
            if self._record(sha256, lambda photo: photo.analysed(result=result, actor="vision")):
                log.info("photo analysed", photo=sha256[:12], headcount=result.get("headcount"))
                return True
            return False

        def revise(photo: Photo) -> bool:
            last = photo.analysis or {}
            compared = last.get("room_memory_photos")
            if not isinstance(compared, int) or compared >= result["room_memory_photos"]:
                return False  # another worker revised it already, or it predates memory
            keys = ("headcount", "headcount_max", "analyser", "room_memory_photos")
            revises = {k: last.get(k) for k in keys}
            photo.analysed(result={**result, "revises": revises}, actor="vision")
            return True

        if self._record(sha256, revise, first=False):
            log.info(
                "photo analysed again with room memory",
                photo=sha256[:12],
                headcount=result.get("headcount"),
                memory=result.get("room_memory_photos"),
            )
            return True
        return False

    def _record_failure(self, sha256: str, reason: str, detail: str) -> None:
        def record(photo: Photo) -> None:
            photo.analysis_failed(reason=reason, detail=detail, actor="vision")

        if self._record(sha256, record):
            log.warning("photo analysis failed", photo=sha256[:12], reason=reason)

    def _record(
        self, sha256: str, apply: Callable[[Photo], bool | None], first: bool = True
    ) -> bool:
        """Append an analysis outcome: a ``first`` one unless the photo already has one
        (another worker was first); otherwise when ``apply`` says it still applies. A
        concurrent upload or worker means reload and try again."""
        for _attempt in range(3):
            photo: Photo = self.app.repository.get(natural_id("photo", sha256))
            if first and photo.analysis is not None:
                return False
            if apply(photo) is False:
                return False
            try:
                self.app.save(photo)
            except IntegrityError:
                continue
            return True
        return False

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait for analyses in flight (tests, shutdown), and for the ones they start (a
        room's first photo analysed again)."""

        async def settle() -> None:
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

        await asyncio.wait_for(settle(), timeout)
