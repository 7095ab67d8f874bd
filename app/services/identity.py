"""Who a check-in names: the identity seam of the check-in command.

A device presents an employee number or a badge UID, or a selfie (`face_photo_id`) the face
engine recognises; an employee's phone always names its own person. A selfie sent with a
badge or number is held against that person. The resolver looks everyone up for a whole
batch in a couple of queries and answers one `Identity` (or a refusal) per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.domain.errors import IdentityRequired, NotYourself, Refusal, UnknownPhoto
from app.domain.rules import Flag, RejectReason
from app.services.commands import CheckInCommand
from app.services.devices import DeviceIdentity
from app.services.faces import FaceRefused, FaceService, SelfieLiveness
from app.services.phones import PhoneIdentity
from app.stores.base import ReadStore, Row, Statement

EMPLOYEE_SELECT = "SELECT employee_no, name, dept, badge_uid FROM employees"


@dataclass(frozen=True)
class Identity:
    """The employee a check-in names (None: nobody has what was presented)."""

    employee: Row | None
    #: what the device presented, kept as evidence on a refusal
    presented: str
    #: the refusal reason when `employee` is None
    unknown: RejectReason
    #: what the face check remarked about the person named (`face_mismatch` …)
    flags: tuple[Flag, ...] = ()
    #: kept on the check-in as evidence (face distance, whom the face looks like …)
    evidence: Mapping[str, str] = field(default_factory=dict)


def _liveness(liveness: SelfieLiveness, evidence: dict[str, str]) -> tuple[Flag, ...]:
    """Keep the selfie's liveness score as evidence; flag it when it looked like a spoof."""
    if liveness.score is not None:
        evidence["selfie_liveness"] = f"{liveness.score:.3f}"
    return (Flag.SELFIE_SPOOF_SUSPECTED,) if liveness.spoof_suspected else ()


def _in_list(prefix: str, values: set[str]) -> tuple[str, dict[str, str]]:
    params = {f"{prefix}{i}": v for i, v in enumerate(sorted(values))}
    return ", ".join(f":{k}" for k in params), params


class IdentityResolver:
    """Resolves the people named by a batch of check-ins."""

    def __init__(self, store: ReadStore, faces: FaceService | None = None) -> None:
        self.store = store
        self.faces = faces

    @staticmethod
    def queries(
        commands: Sequence[CheckInCommand], caller: DeviceIdentity | None = None
    ) -> tuple[Statement | None, Statement | None]:
        """The lookups of the people a batch names: by badge, by employee number (None
        where nobody is named that way). A caller may send them with its own queries."""
        phone = caller if isinstance(caller, PhoneIdentity) else None
        badges = {c.badge_uid for c in commands if c.badge_uid and phone is None}
        numbers = {c.employee_id for c in commands if c.employee_id and not c.badge_uid}
        if phone is not None:
            numbers = {phone.employee_no}
        by_badge = by_no = None
        if badges:
            marks, params = _in_list("b", badges)
            by_badge = Statement(f"{EMPLOYEE_SELECT} WHERE badge_uid IN ({marks})", params)
        if numbers:
            marks, params = _in_list("n", numbers)
            by_no = Statement(f"{EMPLOYEE_SELECT} WHERE employee_no IN ({marks})", params)
        return by_badge, by_no

    def resolve(
        self,
        commands: Sequence[CheckInCommand],
        sessions: Mapping[str, Row | None] | None = None,
        caller: DeviceIdentity | None = None,
        found: tuple[list[Row], list[Row]] | None = None,
    ) -> list[Identity | Refusal]:
        """One identity (or the refusal of what was presented) per command, in order.
        `found`: the rows of `queries` when the caller fetched them already."""
        phone = caller if isinstance(caller, PhoneIdentity) else None
        if found is None:
            badge_q, number_q = self.queries(commands, caller)
            asked = [q for q in (badge_q, number_q) if q is not None]
            rows = iter(self.store.fetch_many(asked) if asked else [])
            found = (next(rows) if badge_q else [], next(rows) if number_q else [])
        by_badge = {row["badge_uid"]: row for row in found[0]}
        by_no = {row["employee_no"]: row for row in found[1]}
        answers = []
        for command in commands:
            session = (sessions or {}).get(command.session_id)
            if phone is not None:
                answers.append(self._phone(command, phone, by_no))
                continue
            answer = self._one(command, by_badge, by_no)
            if command.face_photo_id and session is not None:
                answer = self._face(command, answer, session)
            answers.append(answer)
        return answers

    @staticmethod
    def _phone(
        command: CheckInCommand, phone: PhoneIdentity, by_no: dict[str, Row]
    ) -> Identity | Refusal:
        """A phone checks in the person logged in on it, and nobody else."""
        if command.badge_uid or (command.employee_id and command.employee_id != phone.employee_no):
            return NotYourself()
        return Identity(
            by_no.get(phone.employee_no), phone.employee_no, RejectReason.UNKNOWN_EMPLOYEE
        )

    def _face(
        self, command: CheckInCommand, named: Identity | Refusal, session: Row
    ) -> Identity | Refusal:
        """Recognise the selfie (nobody else named), or hold it against the person named."""
        if self.faces is None or command.face_photo_id is None:
            return named
        photo = command.face_photo_id
        if isinstance(named, Refusal):  # no badge or number: the face says who
            try:
                found = self.faces.recognise(photo, session["id"], session["plant"])
            except FaceRefused as refused:
                if refused.reason == "unknown_photo":
                    return UnknownPhoto(photo_id=photo)
                spoof = RejectReason(refused.reason) is RejectReason.SELFIE_SPOOF_SUSPECTED
                return Identity(
                    None,
                    photo,
                    RejectReason(refused.reason),
                    (Flag.SELFIE_SPOOF_SUSPECTED,) if spoof else (),
                    evidence={"face_check": refused.detail},
                )
            row = self.store.fetch_one(
                f"{EMPLOYEE_SELECT} WHERE employee_no = :no", {"no": found.employee_no}
            )
            evidence = {"face_distance": f"{found.distance:.3f}", "face_found_in": found.scope}
            flags = _liveness(found.liveness, evidence)
            return Identity(row, photo, RejectReason.FACE_NOT_RECOGNISED, flags, evidence)
        if named.employee is None:
            return named
        compared = self.faces.compare(photo, named.employee["employee_no"], session["plant"])
        evidence = {"face_check": compared.decision}
        if compared.distance is not None:
            evidence["face_distance"] = f"{compared.distance:.3f}"
        flags = _liveness(compared.liveness, evidence)
        if compared.mismatch:
            flags += (Flag.FACE_MISMATCH,)
        if compared.looks_like is not None:  # someone else's face for this badge: a proxy
            flags += (Flag.PROXY_SUSPECTED,)
            evidence["face_looks_like"] = compared.looks_like
        return Identity(named.employee, named.presented, named.unknown, flags, evidence)

    @staticmethod
    def _one(
        command: CheckInCommand, by_badge: dict[str, Row], by_no: dict[str, Row]
    ) -> Identity | Refusal:
        if command.badge_uid:
            return Identity(
                by_badge.get(command.badge_uid), command.badge_uid, RejectReason.UNKNOWN_BADGE
            )
        if command.employee_id:
            return Identity(
                by_no.get(command.employee_id), command.employee_id, RejectReason.UNKNOWN_EMPLOYEE
            )
        return IdentityRequired()
