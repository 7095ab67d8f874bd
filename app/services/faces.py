"""Face check-in: enrolment under consent, withdrawal, and recognising a selfie.

The face engine (`vision`) embeds selfies; templates are kept encrypted by
`SqlTemplateStore`; events record consent and how many templates were stored, never the
templates. Everything here is synchronous and CPU-bound: the web layer calls it from a
worker thread. Results are plain values; refusals are `FaceRefused` with a reason code.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import structlog

from app.application import Training
from app.domain.faces import FaceConsent, face_consent_id
from app.stores.base import ReadStore
from app.stores.face_templates import SqlTemplateStore
from vision.identity.engine import Selfie, SelfieMatcher
from vision.identity.matching import Embedding, identify, verify

log = structlog.get_logger(__name__)

MAX_SELFIES: Final = 5

#: the contract's refusal reasons for a face check-in, from the engine's finer ones
CONTRACT_REASON: Final = {
    "no_face": "no_face",
    "face_too_small": "no_face",
    "face_blurred": "no_face",
    "several_faces": "two_faces",
    "no_match": "face_not_recognised",
    "unsure": "face_not_recognised",
    "not_enrolled": "face_not_recognised",
    "spoof_suspected": "selfie_spoof_suspected",
    "spoof_at_enrolment": "selfie_spoof_suspected",
}


class FaceRefused(Exception):
    """A selfie or an enrolment that cannot be used: `reason` is a stable code, `detail` the
    engine's finer one (`face_blurred`, `inconsistent_selfies` …)."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or reason


class ConsentRequired(Exception):
    """Enrolment without `consent=true`: nothing is stored."""


class UnknownEmployee(LookupError):
    """No employee has this number."""


class NotEnrolled(LookupError):
    """Nothing is stored for this person (never enrolled, or already withdrawn)."""


@dataclass(frozen=True)
class Enrolled:
    """Templates stored under a new consent."""

    employee_no: str
    templates: int
    consent_ref: str


@dataclass(frozen=True)
class SelfieLiveness:
    """How live the selfie's face looked (0–1, `None`: not scored), and whether that makes it
    a suspected photo of a photo."""

    score: float | None = None
    spoof_suspected: bool = False

    @classmethod
    def of(cls, selfie: Selfie) -> SelfieLiveness:
        """The liveness the engine found on `selfie`."""
        return cls(selfie.liveness, selfie.spoof_suspected)


@dataclass(frozen=True)
class Recognised:
    """Who a selfie shows, where they were found (`roster` or `plant`), how close, and how
    live the face looked."""

    employee_no: str
    distance: float
    scope: str
    liveness: SelfieLiveness = SelfieLiveness()


@dataclass(frozen=True)
class FaceComparison:
    """A selfie held against the person a badge or number names."""

    employee_no: str
    decision: str  # match | unsure | no_match | not_enrolled | the selfie's refusal
    distance: float | None
    #: someone else enrolled the selfie clearly shows, when it is not the named person
    looks_like: str | None = None
    liveness: SelfieLiveness = SelfieLiveness()

    @property
    def mismatch(self) -> bool:
        """The selfie is clearly not the named person: it is not them (they are enrolled),
        or it clearly is someone else enrolled in the plant."""
        return self.decision == "no_match" or self.looks_like is not None


class FaceService:
    """Enrol, withdraw, recognise and compare selfies for check-in."""

    def __init__(
        self,
        app: Training,
        store: ReadStore,
        templates: SqlTemplateStore,
        engine: Callable[[], SelfieMatcher],
        read_photo: Callable[[str], bytes],
    ) -> None:
        self.app = app
        self.store = store
        self.templates = templates
        self._make_engine = engine
        self._engine: SelfieMatcher | None = None
        self._engine_lock = threading.Lock()
        self.read_photo = read_photo

    def engine(self) -> SelfieMatcher:
        """The face engine, loaded on first use (the models take a second or two)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._make_engine()
            return self._engine

    def employee(self, employee_no: str) -> dict[str, Any]:
        """The directory row of an employee (number, name, plant)."""
        row = self.store.fetch_one(
            "SELECT employee_no, name, plant FROM employees WHERE employee_no = :no",
            {"no": employee_no},
        )
        if row is None:
            raise UnknownEmployee(employee_no)
        return row

    # -- consent ------------------------------------------------------------------------------

    def enrol(
        self, employee_no: str, selfies: Sequence[bytes], consent: bool, via: str, actor: str
    ) -> Enrolled:
        """Record the person's consent and store templates from 1–5 selfies of them.

        Without consent, or when a selfie is refused, nothing is recorded or stored. A person
        enrolled before is enrolled again under the new consent (the templates are replaced).
        """
        if not consent:
            raise ConsentRequired(employee_no)
        employee = self.employee(employee_no)
        if not 1 <= len(selfies) <= MAX_SELFIES:
            raise FaceRefused("selfie_count", "too_many_selfies" if selfies else "no_face")
        enrolment = self.engine().enrol(selfies)
        if not enrolment.accepted:
            reason = enrolment.reason or "no_face"
            raise FaceRefused(CONTRACT_REASON.get(reason, reason), reason)
        previous = self.templates.consent_ref(employee_no)
        consent_ref = str(uuid.uuid4())
        record = FaceConsent(
            employee_no=employee_no, consent_ref=consent_ref, given_via=via, actor=actor
        )
        record.enrolled(templates=len(enrolment.embeddings), actor=actor)
        replaced = self._withdrawn(employee_no, previous, actor) if previous else None
        self.app.save(*([replaced[0]] if replaced else []), record)
        self.templates.enrol_in_plant(
            employee_no, employee["plant"], list(enrolment.embeddings), consent_ref
        )
        log.info("face enrolled", employee=employee_no, templates=len(enrolment.embeddings))
        return Enrolled(employee_no, len(enrolment.embeddings), consent_ref)

    def _withdrawn(
        self, employee_no: str, consent_ref: str, actor: str
    ) -> tuple[FaceConsent, int] | None:
        """The consent record, withdrawn (not yet saved), and how many templates it had."""
        record: FaceConsent | None = self.app.get_or_none(face_consent_id(employee_no, consent_ref))
        if record is None or record.withdrawn:
            return None
        had = record.templates
        record.withdraw(templates_deleted=had, actor=actor)
        return record, had

    def withdraw(self, employee_no: str, actor: str) -> int:
        """Withdraw the person's consent and delete their templates; how many were deleted."""
        consent_ref = self.templates.consent_ref(employee_no)
        if consent_ref is None:
            raise NotEnrolled(employee_no)
        withdrawn = self._withdrawn(employee_no, consent_ref, actor)
        if withdrawn is not None:
            self.app.save(withdrawn[0])
        self.templates.withdraw_consent(employee_no)
        log.info("face consent withdrawn", employee=employee_no)
        return withdrawn[1] if withdrawn else 0

    # -- check-in -----------------------------------------------------------------------------

    def _embedding(self, photo_id: str) -> tuple[Embedding, SelfieLiveness]:
        """The selfie's embedding and liveness, or `FaceRefused` saying why there is none."""
        try:
            data = self.read_photo(photo_id)
        except OSError as exc:
            raise FaceRefused("unknown_photo") from exc
        selfie = self.engine().check_selfie(data)
        if selfie.embedding is None:
            reason = selfie.reason or "no_face"
            raise FaceRefused(CONTRACT_REASON.get(reason, "no_face"), reason)
        return selfie.embedding, SelfieLiveness.of(selfie)

    def _roster(self, session_id: str) -> list[str]:
        rows = self.store.fetch(
            "SELECT employee_no FROM attendance WHERE session_id = :sid AND on_roster = 1",
            {"sid": session_id},
        )
        return [r["employee_no"] for r in rows]

    def recognise(self, photo_id: str, session_id: str, plant: str) -> Recognised:
        """Who the selfie `photo_id` shows: the session's roster first, then the plant.

        Raises `FaceRefused` with `no_face`, `two_faces`, `selfie_spoof_suspected` (where the
        plant refuses spoofs) or `face_not_recognised` (also when two enrolled people look too
        alike to tell: the badge decides then)."""
        probe, liveness = self._embedding(photo_id)
        gallery = self.templates.plant_gallery(plant)
        on_roster = set(self._roster(session_id))
        # identify() decides on the best and runner-up of each scope: give it only those
        roster = gallery.nearest(probe, among=on_roster)
        others = gallery.nearest(probe, exclude=on_roster)
        found = identify(probe, roster, {**roster, **others}, self.engine().thresholds)
        if found.decision != "match" or found.employee_id is None:
            raise FaceRefused("face_not_recognised", found.decision)
        return Recognised(found.employee_id, found.distance, found.scope, liveness)

    def compare(self, photo_id: str, employee_no: str, plant: str) -> FaceComparison:
        """Hold the selfie against the person a badge or number names; when it is clearly not
        them, say whom else in the plant it clearly shows (if anyone). A selfie without a
        usable face compares as its refusal reason, never raises."""
        try:
            probe, live = self._embedding(photo_id)
        except FaceRefused as refused:
            spoof = SelfieLiveness(None, refused.reason == "selfie_spoof_suspected")
            return FaceComparison(employee_no, refused.detail, None, liveness=spoof)
        enrolled = self.templates.load(employee_no)
        if enrolled is None:
            # nothing to hold it against, but it may clearly be someone else who enrolled
            other = self._someone_else(probe, employee_no, plant)
            return FaceComparison(employee_no, "not_enrolled", None, other, live)
        check = verify(probe, enrolled.embeddings, self.engine().thresholds)
        if check.decision != "no_match":
            return FaceComparison(employee_no, check.decision, check.distance, liveness=live)
        other = self._someone_else(probe, employee_no, plant)
        return FaceComparison(employee_no, "no_match", check.distance, other, live)

    def _someone_else(self, probe: Embedding, employee_no: str, plant: str) -> str | None:
        """Who else enrolled in the plant the selfie clearly shows, if anyone."""
        others = self.templates.plant_gallery(plant).nearest(probe, exclude={employee_no})
        found = identify(probe, {}, others, self.engine().thresholds)
        return found.employee_id if found.decision == "match" else None
