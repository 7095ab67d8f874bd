"""The anomaly rules as a subscriber: it reads check-ins and photo events from its own
checkpoint, applies the evidence rules (``app.domain.evidence_rules``) and raises an
`Anomaly` for each finding. An anomaly's id is its kind and subject, so reading an event
again (a restart, a second worker) raises nothing twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.persistence import IntegrityError

from app.application import Training
from app.domain.anomaly import Anomaly
from app.domain.attendance import Attendance, CheckInRejection
from app.domain.evidence import Photo
from app.domain.evidence_rules import (
    CHECKIN_KINDS,
    SEVERITY,
    AnomalyKind,
    EvidencePolicy,
    headcount_shortfall,
    photo_reused,
    photo_time_mismatch_read,
    photo_without_exif,
    session_span,
)
from app.projections.subscriber import Subscriber
from app.stores.base import ReadStore, from_iso, iso

log = structlog.get_logger(__name__)
ACTOR = "rules"

#: check-in flags of older events, under the contract's kind they mean
FLAG_KINDS = {"clock_skew": AnomalyKind.DEVICE_CLOCK_SKEW}


class AnomalyRules(Subscriber):
    """Raises anomalies from check-in flags and from photos' facts, times and counts."""

    name = "anomaly_rules"
    depends_on = ("directory", "live_attendance", "evidence")
    topics = (
        Attendance.EmployeeCheckedIn,
        CheckInRejection.CheckInRejected,
        Photo.PhotoStored,
        Photo.PhotoReused,
        Photo.PhotoAnalysed,
    )

    def __init__(
        self,
        app: Training,
        store: ReadStore,
        policies: Callable[[str], EvidencePolicy],
    ) -> None:
        self.app = app
        self.store = store
        self.policies = policies
        #: raised since the last `flush`, by id (one event may not raise one twice)
        self._raised: dict[UUID, Anomaly] = {}

    def handle(self, event: Any) -> Sequence[Future[None]]:
        if isinstance(event, Attendance.EmployeeCheckedIn):
            self._check_in(event, event.employee_no, event.checked_in_at)
        elif isinstance(event, CheckInRejection.CheckInRejected):
            named = getattr(event, "employee_no", None) or self._employee_of(event.presented)
            self._check_in(event, named, event.rejected_at)
        elif isinstance(event, Photo.PhotoAnalysed):
            self._analysed(event)
        elif isinstance(event, Photo.PhotoStored | Photo.PhotoReused):
            self._photo_used(event)
        return []

    # -- check-ins -------------------------------------------------------------------------

    def _check_in(self, e: Any, employee_no: str | None, at: datetime) -> None:
        """A check-in (or a refused one) whose flags name anomaly kinds: one each."""
        kinds = {FLAG_KINDS.get(f, f) for f in e.flags} & CHECKIN_KINDS
        for kind in sorted(kinds):
            evidence = {
                "flags": list(e.flags),
                "method": e.method,
                "server_time": iso(at),
                "device_time": e.device_time.isoformat() if e.device_time else None,
                "device_seq": e.device_seq,
                **dict(getattr(e, "evidence", None) or {}),
            }
            if isinstance(e, CheckInRejection.CheckInRejected):
                evidence["refused"] = e.reason
            self._raise(
                AnomalyKind(kind),
                str(e.originator_id),
                e.session_id,
                evidence,
                employee_id=employee_no,
                checkin_id=e.originator_id,
            )

    # -- photos ----------------------------------------------------------------------------

    def _photo_used(self, e: Any) -> None:
        """A photo stored for a session, or the same bytes used for another one."""
        photo = self.store.fetch_one(
            "SELECT p.photo_id, p.session_id, p.kind, p.exif_time, h.near "
            "FROM photos p LEFT JOIN photo_hashes h ON h.photo_id = p.photo_id WHERE p.id = :id",
            {"id": str(e.originator_id)},
        )
        session = self._session(str(e.session_id))
        if photo is None or session is None:
            return
        policy = self.policies(session["plant"])
        session_id = str(e.session_id)
        subject = f"{photo['photo_id']}/{session_id}"
        near = e.facts.get("near_duplicates") or [] if isinstance(e, Photo.PhotoStored) else []
        reused = photo_reused(session_id, photo["session_id"], near)
        if reused is not None:
            self._raise(
                AnomalyKind.PHOTO_REUSED, subject, e.session_id, reused, photo_id=photo["photo_id"]
            )
        exif = photo["exif_time"]
        if exif is None:
            missing = photo_without_exif(exif, photo["kind"])
            if missing is not None:
                kind = AnomalyKind.PHOTO_WITHOUT_EXIF
                self._raise(kind, subject, e.session_id, missing, photo_id=photo["photo_id"])
            return
        span = session_span(
            from_iso(session["starts_at"]),
            from_iso(session["ends_at"]),
            self._checkins(session_id),
            policy.checkin_opens_before,
        )
        # a device that does not say when it uploaded uploaded it when the server got it
        uploaded_at = e.device_time or e.timestamp
        readings = policy.readings(exif, e.device_time)
        mismatch = photo_time_mismatch_read(readings, uploaded_at, span, policy)
        if mismatch is not None:
            kind = AnomalyKind.PHOTO_TIME_MISMATCH
            self._raise(kind, subject, e.session_id, mismatch, photo_id=photo["photo_id"])

    def _analysed(self, e: Any) -> None:
        """A room photo counted: fewer people in it than had checked in when it was taken
        (by the device's clock where it said: a tablet that was offline syncs later)?"""
        result = e.result
        photo: Photo = self.app.repository.get(e.originator_id)
        session = self._session(str(e.session_id))
        if session is None or photo.kind != "room" or not isinstance(result.get("headcount"), int):
            return
        taken = min(photo.device_time or photo.created_on, photo.created_on)
        checked_in = len([t for t in self._checkins(str(e.session_id)) if t <= taken])
        top = result.get("headcount_max", result["headcount"])
        policy = self.policies(session["plant"])
        short = headcount_shortfall(checked_in, result["headcount"], top, policy)
        if short is None:
            return
        short["photo_id"] = photo.sha256
        kind = AnomalyKind.HEADCOUNT_SHORTFALL
        session_id = str(e.session_id)
        # once per photo (a second photo showing too few is its own evidence); until
        # 2026-12-07 the subject was the session alone: that anomaly stands for its photo
        earlier: Anomaly | None = self.app.get_or_none(Anomaly.create_id(kind.value, session_id))
        if earlier is not None and earlier.photo_id == photo.sha256:
            return
        subject = f"{session_id}/{photo.sha256}"
        self._raise(kind, subject, e.session_id, short, photo_id=photo.sha256)

    # -- reads -----------------------------------------------------------------------------

    def _session(self, session_id: str) -> Mapping[str, Any] | None:
        return self.store.fetch_one(
            "SELECT id, plant, starts_at, ends_at FROM sessions WHERE id = :id", {"id": session_id}
        )

    def _employee_of(self, presented: str) -> str | None:
        """The employee a refused check-in named (a number or a badge), if anyone has it."""
        row = self.store.fetch_one(
            "SELECT employee_no FROM employees WHERE employee_no = :p OR badge_uid = :p",
            {"p": presented},
        )
        return str(row["employee_no"]) if row else None

    def _checkins(self, session_id: str) -> list[datetime]:
        rows = self.store.fetch(
            "SELECT checked_in_at FROM attendance WHERE session_id = :id "
            "AND checked_in_at IS NOT NULL",
            {"id": session_id},
        )
        return [from_iso(r["checked_in_at"]) for r in rows]

    # -- raising ---------------------------------------------------------------------------

    def _raise(
        self,
        kind: AnomalyKind,
        subject: str,
        session_id: UUID,
        evidence: dict[str, Any],
        *,
        employee_id: str | None = None,
        checkin_id: UUID | None = None,
        photo_id: str | None = None,
    ) -> None:
        if Anomaly.create_id(kind.value, subject) in self._raised:
            return
        anomaly = Anomaly(
            kind=kind.value,
            subject=subject,
            severity=SEVERITY[kind].value,
            session_id=session_id,
            employee_id=employee_id,
            checkin_id=checkin_id,
            photo_id=photo_id,
            evidence=evidence,
            actor=ACTOR,
        )
        self._raised[anomaly.id] = anomaly

    def flush(self) -> None:
        """Save the anomalies raised since the last flush in one transaction (a burst of
        flagged check-ins is one write, not one each); when one was raised before (a
        replay, another worker), each alone, and the one raised before is kept."""
        parts = [(a, a.collect_events()) for a in self._raised.values()]
        self._raised = {}
        if not parts:
            return
        try:
            self.app.save(*[e for _, events in parts for e in events])
            saved = [a for a, _ in parts]
        except IntegrityError:
            saved = [a for a, events in parts if self._save_alone(events)]
        for anomaly in saved:
            log.info("anomaly flagged", kind=anomaly.kind, session=str(anomaly.session_id))

    def _save_alone(self, events: list[Any]) -> bool:
        try:
            self.app.save(*events)
        except IntegrityError:
            return False  # raised before
        return True
