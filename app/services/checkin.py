"""The check-in command: who and where, the rules, append, answer in the domain's words.

Lookups run on a worker thread against the read models, one round trip for a whole batch
(`checkin_lookup`); the append goes through the group committer, so concurrent requests
share transactions.
A retried `client_event_id` or a second check-in of the same person is answered from what
was stored first (`idempotency`). The web layer turns the results into HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from app.application import Training
from app.domain.attendance import Attendance, CheckInRejection, DeviceCommand
from app.domain.errors import InvalidCheckIn, QrRequired, Refusal, UnknownSession
from app.domain.queue_stamps import Contact, queued_stamp_disproved
from app.domain.rules import (
    CheckInFacts,
    Decision,
    Flag,
    RejectReason,
    Verdict,
    WindowPolicy,
    decide_check_in,
    device_clock_skewed,
    device_room_mismatch,
    effective_check_in_time,
    implausible_device_time,
)
from app.services import devices
from app.services.checkin_lookup import BatchLookup, look_up
from app.services.checkin_results import Accepted, CheckInResult, Refused, StoredCheckIn
from app.services.commands import CheckInCommand
from app.services.devices import DeviceIdentity
from app.services.faces import FaceService
from app.services.idempotency import (
    Idempotency,
    repeat_of,
    stored_from_row,
)
from app.services.identity import Identity, IdentityResolver
from app.services.phones import PhoneIdentity, PhoneLedger, qr_refusal
from app.stores.base import ReadStore, Row, from_iso
from app.stores.commit import GroupCommitter


@dataclass
class _Pending:
    """One command on its way: answered already, or an aggregate to append and the answer
    to give once it is committed."""

    command: CheckInCommand
    result: CheckInResult | None = None
    #: appended together or not at all: the command's receipt, then the record itself
    aggregates: list[Attendance | CheckInRejection | DeviceCommand] | None = None
    answer: Callable[[], CheckInResult] | None = None


class CheckInService:
    """Check-ins from devices: single or batched, idempotent on `client_event_id`."""

    def __init__(
        self,
        app: Training,
        store: ReadStore,
        committer: GroupCommitter,
        policy: WindowPolicy,
        faces: FaceService | None = None,
        qr_key: bytes = b"",
    ) -> None:
        self.app = app
        self.store = store
        self.committer = committer
        self.policy = policy
        self.identities = IdentityResolver(store, faces)
        self.idempotency = Idempotency(app)
        self.qr_key = qr_key
        self.phones = PhoneLedger(store)

    def authenticate_device(self, token: str | None) -> DeviceIdentity:
        """The device holding `token`; raises `DeviceNotRecognised` otherwise."""
        return devices.authenticate_device(self.store, token)

    def device_session(self, device: DeviceIdentity, session_id: str) -> dict[str, Any]:
        """The session a device names; raises `UnknownSession` or `SessionOfOtherPlant`."""
        return devices.device_session(self.store, device, session_id)

    async def check_in(
        self,
        token: str | None,
        commands: Sequence[CheckInCommand],
        *,
        offline: bool = False,
        sent_at: datetime | None = None,
        phone: PhoneIdentity | None = None,
    ) -> list[CheckInResult]:
        """Check in every command, one result each, in order; one bad item never fails the
        others. Raises `DeviceNotRecognised` for a missing, unknown or revoked token, and
        `Overloaded` / `WriteFailed` when the store cannot take them now. From an
        employee's `phone` (their login already checked) no device token is looked at."""
        # turned away before any work when too much is already in hand
        with self.committer.admitted(len(commands)):
            return await self._check_in(token, commands, offline, sent_at, phone)

    async def _check_in(
        self,
        token: str | None,
        commands: Sequence[CheckInCommand],
        offline: bool,
        sent_at: datetime | None,
        phone: PhoneIdentity | None,
    ) -> list[CheckInResult]:
        received_at = datetime.now(UTC)
        if sent_at is not None and (why := implausible_device_time(sent_at, received_at)):
            raise InvalidCheckIn(errors=[f"sent_at {why}"])
        device, pending = await asyncio.to_thread(
            self._prepare_all, phone or token, commands, received_at, sent_at, offline
        )
        appending = [p for p in pending if p.aggregates is not None]
        outcomes = await asyncio.wrap_future(
            self.committer.submit_each([p.aggregates for p in appending if p.aggregates])
        )
        lost: list[_Pending] = []
        for p, outcome in zip(appending, outcomes, strict=True):
            if isinstance(outcome, IntegrityError):
                lost.append(p)
            elif outcome is not None:
                raise outcome
            else:
                assert p.answer is not None
                p.result = p.answer()
        if lost:
            settle = self.idempotency.after_conflict
            settled = await asyncio.to_thread(
                lambda: [settle(device, p.command, p.aggregates) for p in lost]
            )
            for p, result in zip(lost, settled, strict=True):
                # the same content names the same person the refusal we lost would have
                mine = p.answer() if p.answer is not None else None
                p.result = _naming(result, mine.employee if isinstance(mine, Refused) else None)
        return [p.result for p in pending if p.result is not None]

    def _prepare_all(
        self,
        token: str | PhoneIdentity | None,
        commands: Sequence[CheckInCommand],
        received_at: datetime,
        sent_at: datetime | None,
        offline: bool,
    ) -> tuple[DeviceIdentity, list[_Pending]]:
        device, batch = look_up(self.store, self.identities, token, commands)
        live = self._contacts(device, batch, commands, received_at, sent_at) if offline else {}
        prepared = []
        for command, identity in zip(commands, batch.identities, strict=True):
            pending = _Pending(command)
            try:
                self._prepare(device, pending, identity, batch, live, received_at, sent_at, offline)
            except Refusal as refusal:
                pending.result = refusal
            prepared.append(pending)
        return device, prepared

    def _contacts(
        self,
        device: DeviceIdentity,
        batch: BatchLookup,
        commands: Sequence[CheckInCommand],
        received_at: datetime,
        sent_at: datetime | None,
    ) -> dict[str, list[Contact]]:
        """What the device sent that could disprove the batch's stamps, by session (an
        offline batch's one extra read). A registered device: everything it sent since the
        earliest stamp, in any session. A phone: its live check-ins in the batch's sessions
        (a login's phones each keep their own count)."""
        session_ids = {s["id"] for s in batch.sessions.values() if s is not None}
        if not session_ids:
            return {}
        if isinstance(device, PhoneIdentity):
            statement = devices.live_contacts_query(device.id, session_ids)
            found = devices.live_contacts(self.store.fetch(statement.sql, statement.params))
            return {sid: [Contact(t, queued=False) for t in ts] for sid, ts in found.items()}
        stamps = [
            effective_check_in_time(received_at, c.device_time, sent_at, offline=True)
            for c in commands
            if c.device_time is not None and not implausible_device_time(c.device_time, received_at)
        ]
        if not stamps:
            return {}
        # a contact within the clock tolerance of every stamp disproves none of them
        since = min(stamps) + self.policy.clock_skew_tolerance
        statement = devices.contacts_since_query(device.id, since)
        contacts = devices.contacts(self.store.fetch(statement.sql, statement.params))
        return dict.fromkeys(session_ids, contacts)

    def _prepare(
        self,
        device: DeviceIdentity,
        pending: _Pending,
        identity: Identity | Refusal,
        batch: BatchLookup,
        live: dict[str, list[datetime]],
        received_at: datetime,
        sent_at: datetime | None,
        offline: bool,
    ) -> None:
        command = pending.command
        session = batch.sessions[command.session_id]
        if session is None:
            raise UnknownSession(session_id=command.session_id)
        # a device of another plant is refused, and the attempt kept as evidence; a phone
        # may check in at any plant: the QR proves the room
        foreign = not isinstance(device, PhoneIdentity) and session["plant"] != device.plant
        if isinstance(device, PhoneIdentity) and not command.qr_token:
            raise QrRequired()
        if isinstance(identity, Refusal):
            raise identity
        device_time = command.device_time
        if device_time is not None and (why := implausible_device_time(device_time, received_at)):
            raise InvalidCheckIn(errors=[f"device_time {why}"])
        employee = identity.employee
        at = effective_check_in_time(received_at, device_time, sent_at, offline=offline)
        # a queued item stamped while its device was demonstrably online is judged by arrival
        disproof = (
            queued_stamp_disproved(
                at,
                received_at,
                command.device_seq,
                live.get(session["id"], []),
                self.policy,
                session_id=session["id"],
                numbered_in_order=not isinstance(device, PhoneIdentity),
            )
            if offline
            else None
        )
        if disproof is not None:
            at = received_at
        facts = CheckInFacts(
            at=at,
            starts_at=from_iso(session["starts_at"]),
            ends_at=from_iso(session["ends_at"]),
            # a queue synced after the session closed is judged by when each item was made
            session_closed=session["status"] == "closed" and not offline,
            employee_known=employee is not None,
            on_roster=False,
            method=command.method,
            by_badge=bool(command.badge_uid),
            skewed_clock=disproof is not None
            or device_clock_skewed(
                received_at,
                device_time,
                sent_at,
                offline=offline,
                tolerance=self.policy.clock_skew_tolerance,
            ),
            offline=offline and abs(received_at - at) > self.policy.clock_skew_tolerance,
            refusal=(RejectReason.SESSION_OTHER_PLANT if foreign else None)
            or qr_refusal(self.qr_key, command, session["id"], at)
            or (identity.unknown if employee is None else None),
            identity_flags=identity.flags,
            # a phone has no room of its own: the room's QR proves where it was
            room_mismatch=not isinstance(device, PhoneIdentity)
            and device_room_mismatch(device.plant, device.room, session["plant"], session["room"]),
        )
        evidence = {**identity.evidence, **self._phone_evidence(command, session, employee)}
        if disproof is not None:
            evidence["device_online_at"] = disproof.online_at.isoformat()
            if disproof.made_after_seq is not None:
                evidence["device_seq_heard_live"] = str(disproof.made_after_seq)
        if "proxy_other_employee" in evidence:
            facts = replace(facts, identity_flags=(*facts.identity_flags, Flag.PROXY_SUSPECTED))
        row = None
        if employee is not None:
            row = batch.attendance.get((session["id"], employee["employee_no"]))
        name = employee["name"] if employee is not None else ""
        earlier = self.idempotency.known(
            command, batch.commands.get(command.client_event_id), row, name
        )
        if earlier is not None:
            pending.result = _naming(earlier, employee)
            return
        if employee is not None:
            if row is not None and row["checkin_id"] and not foreign:
                pending.result = repeat_of(stored_from_row(row, name), device, command)
                return
            facts = replace(facts, on_roster=bool(row and row["on_roster"]))
        decision = decide_check_in(facts, self.policy)
        session_id = UUID(session["id"])
        if decision.verdict is Verdict.REJECTED:
            assert decision.reason is not None
            self._refuse(device, pending, session_id, identity.presented, employee, decision)
            return
        assert employee is not None and decision.attendance_status is not None
        attendance = Attendance(
            session_id=session_id,
            employee_no=employee["employee_no"],
            employee_name=employee["name"],
            dept=employee["dept"],
            method=command.method,
            attendance_status=decision.attendance_status.value,
            flags=[f.value for f in decision.flags],
            checked_in_at=at,
            device_id=device.id,
            device_time=device_time,
            device_seq=command.device_seq,
            client_event_id=command.client_event_id,
            reason=command.reason,
            evidence={
                **{
                    k: v
                    for k, v in {
                        "badge_uid": command.badge_uid,
                        "face_photo_id": command.face_photo_id,
                    }.items()
                    if v
                },
                **evidence,
            },
            actor=device.actor,
        )
        receipt = DeviceCommand(
            device_id=device.id,
            client_event_id=command.client_event_id,
            fingerprint=command.fingerprint(),
            checkin_id=attendance.id,
            session_id=session_id,
            employee_no=employee["employee_no"],
            actor=device.actor,
            device_time=device_time,
            device_seq=command.device_seq,
        )
        if command.phone_id:
            self.phones.note(session["id"], command.phone_id, employee["employee_no"])
        first = StoredCheckIn.of(attendance)
        pending.aggregates = [receipt, attendance]
        pending.answer = lambda: Accepted(first)

    def _phone_evidence(
        self, command: CheckInCommand, session: Row, employee: Row | None
    ) -> dict[str, str]:
        """The phone a check-in came from, and whom else it checked in to the session."""
        if not command.phone_id or employee is None:
            return {}
        others = self.phones.others(session["id"], command.phone_id, employee["employee_no"])
        evidence = {"phone_id": command.phone_id}
        if others:
            evidence["proxy_other_employee"] = ",".join(others)
        return evidence

    @staticmethod
    def _refuse(
        device: DeviceIdentity,
        pending: _Pending,
        session_id: UUID,
        presented: str,
        employee: Row | None,
        decision: Decision,
    ) -> None:
        command = pending.command
        assert decision.reason is not None
        flags = [f.value for f in decision.flags]
        rejection = CheckInRejection(
            device_id=device.id,
            client_event_id=command.client_event_id,
            session_id=session_id,
            method=command.method,
            presented=presented,
            reason=decision.reason.value,
            rejected_at=datetime.now(UTC),
            device_time=command.device_time,
            device_seq=command.device_seq,
            actor=device.actor,
            flags=flags,
            fingerprint=command.fingerprint(),
            employee_no=employee["employee_no"] if employee is not None else None,
        )
        refused = _naming(Refused.of(rejection, replayed=False), employee)
        pending.aggregates = [rejection]
        pending.answer = lambda: refused


def _naming(result: CheckInResult, employee: Row | tuple[str, str] | None) -> CheckInResult:
    """A refusal, naming the person what was shown belongs to (when anyone has it)."""
    if not isinstance(result, Refused) or employee is None:
        return result
    if not isinstance(employee, tuple):
        employee = (employee["employee_no"], employee["name"])
    return replace(result, employee=employee)
