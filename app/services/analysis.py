"""Photo analysis as a process manager: it follows the event log from its own checkpoint
and answers events with analyses, whose results are new events.

- `PhotoStored` of a room photo: analyse it, with the photos of its room from other
  sessions (room memory); and count again the photos of nearby sessions of that room that
  were compared with fewer than memory uses (the room now has one more).
- `PhotoAnalysed`: if the room had more photos to compare with than this analysis used (one
  was stored while it ran), count it again.

Whether a photo is counted again is one rule, `app.domain.recount.RecountPolicy`. Each job
looks at the photo's aggregate first, so replaying the events after a restart analyses
nothing twice; results are recorded with the aggregate's version, so two workers never
record two first analyses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError

from app.application import Training
from app.domain.evidence import Photo, PhotoKind
from app.projections.subscriber import Subscriber
from app.services.room_memory import RoomMemory
from app.services.vision_adapters import RoomAnalyser

log = structlog.get_logger(__name__)
#: a job that hits a store hiccup is tried this many times before it is left to the log
ATTEMPTS = 3


class PhotoAnalysis(Subscriber):
    """Analyses room photos as they are stored, and counts them again as their room grows."""

    name = "photo_analysis"
    depends_on = ("evidence",)
    topics = (Photo.PhotoStored, Photo.PhotoAnalysed)

    def __init__(
        self, app: Training, analyser: RoomAnalyser, memory: RoomMemory, concurrency: int = 2
    ) -> None:
        self.app = app
        self.analyser = analyser
        self.memory = memory
        self.policy = memory.policy
        self._jobs = ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="analysis")
        self._lock = threading.Lock()
        self._in_flight: dict[str, Future[None]] = {}
        self._look_again: set[str] = set()

    # -- events ----------------------------------------------------------------------------

    def handle(self, event: Any) -> Sequence[Future[None]]:
        if isinstance(event, Photo.PhotoStored):
            if event.kind != PhotoKind.ROOM:
                return []
            jobs = [self._start(event.sha256)]
            for other in self.memory.short_of_memory(str(event.session_id)):
                jobs.append(self._start(other, again=True))
            return jobs
        row = self.memory.store.fetch_one(
            "SELECT photo_id, session_id FROM photos WHERE id = :id AND kind = 'room'",
            {"id": str(event.originator_id)},
        )
        compared = event.result.get("room_memory_photos")
        if row is None or not isinstance(compared, int) or compared >= self.policy.photos:
            return []
        return [self._start(row["photo_id"], again=True)]

    def _start(self, sha256: str, again: bool = False) -> Future[None]:
        """The photo's job: a new one, or the one in flight, which then looks once more when
        it ends (what it read may predate the event that asked)."""
        with self._lock:
            running = self._in_flight.get(sha256)
            if running is not None:
                self._look_again.add(sha256)
                return running
            job = self._jobs.submit(self._run, sha256, again)
            self._in_flight[sha256] = job
            return job

    def _run(self, sha256: str, again: bool) -> None:
        try:
            while True:
                self._attempt(sha256, again)
                with self._lock:
                    if sha256 not in self._look_again:
                        return
                    self._look_again.discard(sha256)
                again = True
        finally:
            with self._lock:
                self._in_flight.pop(sha256, None)

    def _attempt(self, sha256: str, again: bool) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._analyse(sha256, again)
                return
            except Exception:
                log.exception("photo analysis job failed", photo=sha256[:12], attempt=attempt)
                time.sleep(0.5 * attempt)

    # -- one analysis ----------------------------------------------------------------------

    def _analyse(self, sha256: str, again: bool) -> None:
        """Analyse the photo (``again``: count it again with more of its room's photos, if
        the policy says so); record what was found, or why nothing could be."""
        photo: Photo = self.app.repository.get(Photo.create_id(sha256))
        last = photo.analysis
        if last is not None and ("failed" in last or not again):
            return  # analysed already (a replay after a restart), or it cannot be
        again = last is not None
        compared = int((last or {}).get("room_memory_photos") or 0)
        try:
            ids = self.memory.photos_apart(str(photo.session_id), sha256)
        except Exception:  # a store hiccup: a count without memory beats no count
            if again:
                raise
            log.exception("room memory unavailable: analysing without it", photo=sha256[:12])
            ids = []
        if again and not self.policy.needs_recount(compared, len(ids)):
            return
        earlier = self.memory.read(sha256, ids)
        if again and not self.policy.needs_recount(compared, len(earlier)):
            return  # one of them cannot be read: no more than last time
        try:
            data = self.memory.files.read(sha256)
        except OSError as exc:  # the stored file is gone: say so (a recount keeps the count)
            if again:
                log.warning("room photo not analysed again", photo=sha256[:12], error=str(exc))
            else:
                self._record_failure(sha256, "photo_unreadable", str(exc))
            return
        outcome = self.analyser.analyse(data, earlier)
        if outcome.ok and outcome.value is not None:
            result = {
                **outcome.value.to_payload(),
                "elapsed_ms": round(outcome.elapsed_ms, 1),
                "room_memory_photos": len(earlier),
            }
            self._record_analysis(sha256, result, again)
        elif again:
            log.warning("room photo not analysed again", photo=sha256[:12], reason=outcome.reason)
        else:
            self._record_failure(sha256, outcome.reason or "failed", outcome.detail[:500])

    def _record_analysis(self, sha256: str, result: dict[str, Any], again: bool) -> None:
        def first(photo: Photo) -> bool:
            if photo.analysis is not None:
                return False  # another worker was first
            photo.analysed(result=result, actor="vision")
            return True

        def revise(photo: Photo) -> bool:
            last = photo.analysis or {}
            compared = last.get("room_memory_photos")
            if not isinstance(compared, int) or compared >= result["room_memory_photos"]:
                return False  # another worker revised it already, or it predates memory
            keys = ("headcount", "headcount_max", "analyser", "room_memory_photos")
            revises = {k: last.get(k) for k in keys}
            photo.analysed(result={**result, "revises": revises}, actor="vision")
            return True

        if self._record(sha256, revise if again else first):
            log.info(
                "photo analysed again with room memory" if again else "photo analysed",
                photo=sha256[:12],
                headcount=result.get("headcount"),
                memory=result.get("room_memory_photos"),
            )

    def _record_failure(self, sha256: str, reason: str, detail: str) -> None:
        def record(photo: Photo) -> bool:
            if photo.analysis is not None:
                return False
            photo.analysis_failed(reason=reason, detail=detail, actor="vision")
            return True

        if self._record(sha256, record):
            log.warning("photo analysis failed", photo=sha256[:12], reason=reason)

    def _record(self, sha256: str, apply: Callable[[Photo], bool]) -> bool:
        """Append an outcome when ``apply`` says it still applies to the photo as stored now;
        a concurrent upload or worker means reload and ask again."""
        for _attempt in range(3):
            photo: Photo = self.app.repository.get(Photo.create_id(sha256))
            if not apply(photo):
                return False
            try:
                self.app.save(photo)
            except IntegrityError:
                continue
            return True
        return False

    def close(self) -> None:
        self._jobs.shutdown(wait=True, cancel_futures=True)
        self.analyser.close()
