"""The check-in command: resolve who and where, apply the rules, append, answer.

Lookups run on a worker thread against the read models; the append goes through the
group committer, so concurrent requests share transactions. A retried `client_event_id`
or a second check-in of the same person is answered from what was stored first.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from app.application import Training, hash_token
from app.commit import GroupCommitter
from app.contract import CheckInReply, CheckInRequest, EmployeeRef
from app.domain.attendance import Attendance, CheckInRejection
from app.domain.ids import attendance_id, device_command_id
from app.domain.rules import (
    ANOMALOUS_FLAGS,
    AttendanceStatus,
    CheckInFacts,
    Flag,
    Repeat,
    Verdict,
    WindowPolicy,
    classify_repeat,
    clock_skewed,
    decide_check_in,
    effective_check_in_time,
)
from app.i18n import t
from app.problems import PROBLEM_BASE, Problem
from app.stores.base import ReadStore, from_iso, iso


@dataclass(frozen=True)
class DeviceIdentity:
    """The authenticated device making a request."""

    id: UUID
    name: str
    room: str
    plant: str
    kind: str


@dataclass
class _Known:
    """The read-model rows a request or batch needs, fetched in a few queries for all its
    items rather than a few per item."""

    by_badge: dict[str, dict[str, Any]]
    by_employee_no: dict[str, dict[str, Any]]
    attendance: dict[tuple[str, str], dict[str, Any]]


ATTENDANCE_COLUMNS = (
    "session_id, employee_no, on_roster, status, checkin_id, device_id, client_event_id, "
    "server_time, flags"
)
SESSION_COLUMNS = "id, plant, starts_at, ends_at, status"


def _in_list(prefix: str, values: set[str]) -> tuple[str, dict[str, str]]:
    """Placeholders and parameters for `IN (…)` over `values`."""
    params = {f"{prefix}{i}": v for i, v in enumerate(sorted(values))}
    return ", ".join(f":{k}" for k in params), params


def _canonical_uuid(value: str) -> str | None:
    try:
        return str(UUID(value))
    except ValueError:
        return None


@dataclass
class Outcome:
    """One check-in's HTTP status and JSON body (a reply or a problem)."""

    status_code: int
    body: dict[str, Any]


@dataclass
class _Pending:
    outcome: Outcome | None = None
    aggregate: Any = None
    reply: Any = None  # callable building the outcome once committed


def problem_body(problem: Problem, lang: str) -> dict[str, Any]:
    """RFC 9457 body for a problem, detail localised."""
    return {
        "type": problem.type_uri,
        "title": problem.slug.replace("-", " "),
        "status": problem.status,
        "detail": t(problem.key, lang),
        **problem.extra,
    }


def verdict_of(flags: Sequence[str]) -> Verdict:
    return Verdict.FLAGGED if any(f in ANOMALOUS_FLAGS for f in flags) else Verdict.ACCEPTED


def message_key(attendance_status: str) -> str:
    return {
        AttendanceStatus.LATE: "checkin.late",
        AttendanceStatus.WALK_IN: "checkin.walk_in",
    }.get(AttendanceStatus(attendance_status), "checkin.ok")


@dataclass(frozen=True)
class StoredCheckIn:
    """What was stored for a check-in, from the aggregate or its read-model row."""

    checkin_id: str
    attendance_status: str
    flags: list[str]
    employee_no: str
    employee_name: str
    server_time: str
    device_id: str | None
    client_event_id: str

    @classmethod
    def of(cls, attendance: Attendance) -> StoredCheckIn:
        return cls(
            checkin_id=str(attendance.id),
            attendance_status=attendance.attendance_status,
            flags=list(attendance.flags),
            employee_no=attendance.employee_no,
            employee_name=attendance.employee_name,
            server_time=iso(attendance.created_on),
            device_id=str(attendance.device_id) if attendance.device_id else None,
            client_event_id=attendance.client_event_id,
        )


def accepted_outcome(
    stored: StoredCheckIn, lang: str, *, device: str | None = None, client_event_id: str = ""
) -> Outcome:
    """The one place an accepted check-in is answered, so a replay's body equals the first.

    Without `device` this is the first answer (201); with it, a repeat answered from what was
    stored: the same device command again is a replay, anything else a duplicate (200).
    """
    repeat = (
        None
        if device is None
        else classify_repeat(stored.device_id, stored.client_event_id, device, client_event_id)
    )
    duplicate = repeat is Repeat.DUPLICATE
    reply = CheckInReply(
        checkin_id=stored.checkin_id,
        status=verdict_of(stored.flags).value,
        employee=EmployeeRef(id=stored.employee_no, name=stored.employee_name),
        server_time=stored.server_time,
        message=t(
            "checkin.duplicate" if duplicate else message_key(stored.attendance_status), lang
        ),
        flags=[*stored.flags, Flag.DUPLICATE.value] if duplicate else list(stored.flags),
        replayed=repeat is Repeat.REPLAY,
    )
    return Outcome(201 if repeat is None else 200, msgspec.to_builtins(reply))


def rejected_outcome(
    *, checkin_id: str, reason: str, server_time: str, lang: str, replayed: bool = False
) -> Outcome:
    body = {
        "type": PROBLEM_BASE + "checkin-rejected",
        "title": "check-in rejected",
        "status": 422,
        "detail": t(f"reject.{reason}", lang),
        "reason": reason,
        "checkin_id": checkin_id,
        "verdict": Verdict.REJECTED.value,
        "employee": None,
        "server_time": server_time,
        "message": t(f"reject.{reason}", lang),
        "flags": [],
        "replayed": replayed,
    }
    return Outcome(422, body)


class CheckInService:
    """Check-ins from devices: single or batched, idempotent on `client_event_id`."""

    def __init__(
        self, app: Training, store: ReadStore, committer: GroupCommitter, policy: WindowPolicy
    ) -> None:
        self.app = app
        self.store = store
        self.committer = committer
        self.policy = policy

    # -- devices -----------------------------------------------------------------------------

    def authenticate_device(self, token: str | None) -> DeviceIdentity:
        """The device holding `token`; a missing, unknown or revoked token is refused."""
        if not token:
            raise Problem(401, "device-token", "problem.device_token")
        row = self.store.fetch_one(
            "SELECT id, name, room, plant, kind, revoked FROM devices WHERE token_hash = :h",
            {"h": hash_token(token)},
        )
        if row is None or row["revoked"]:
            raise Problem(401, "device-token", "problem.device_token")
        return DeviceIdentity(UUID(row["id"]), row["name"], row["room"], row["plant"], row["kind"])

    # -- check-in ------------------------------------------------------------------------------

    async def check_in(
        self,
        token: str | None,
        items: Sequence[Any],
        *,
        lang: str,
        offline: bool = False,
        sent_at: datetime | None = None,
    ) -> list[Outcome]:
        """Check in every item (raw JSON values); one bad item never fails the others.

        Raises `Problem` (401) when the device token is missing, unknown or revoked.
        """
        received_at = datetime.now(UTC)
        device, pending = await asyncio.to_thread(
            self._prepare_all, token, items, received_at, sent_at, offline, lang
        )
        futures = {
            i: asyncio.wrap_future(self.committer.submit(p.aggregate))
            for i, p in enumerate(pending)
            if p.aggregate is not None
        }
        results = await asyncio.gather(*futures.values(), return_exceptions=True)
        conflicts: list[int] = []
        for i, result in zip(futures, results, strict=True):
            if isinstance(result, IntegrityError):
                conflicts.append(i)
            elif isinstance(result, BaseException):
                raise result
            else:
                pending[i].outcome = pending[i].reply()
        if conflicts:
            settled = await asyncio.to_thread(
                lambda: [self._settle_conflict(device, pending[i], lang) for i in conflicts]
            )
            for i, outcome in zip(conflicts, settled, strict=True):
                pending[i].outcome = outcome
        return [p.outcome for p in pending if p.outcome is not None]

    def _prepare_all(
        self,
        token: str | None,
        items: Sequence[Any],
        received_at: datetime,
        sent_at: datetime | None,
        offline: bool,
        lang: str,
    ) -> tuple[DeviceIdentity, list[_Pending]]:
        device = self.authenticate_device(token)
        sessions: dict[str, dict[str, Any] | None] = {}
        requests: list[CheckInRequest | _Pending] = []
        for raw in items:
            try:
                requests.append(
                    raw
                    if isinstance(raw, CheckInRequest)
                    else msgspec.convert(raw, CheckInRequest, strict=False)
                )
            except msgspec.ValidationError as exc:
                problem = Problem(422, "invalid-body", "problem.invalid_body", errors=[str(exc)])
                requests.append(_Pending(outcome=Outcome(422, problem_body(problem, lang))))
        valid = [r for r in requests if isinstance(r, CheckInRequest)]
        known = self._lookup(valid)
        self._lookup_sessions(valid, sessions)
        prepared = []
        for request in requests:
            if isinstance(request, _Pending):
                prepared.append(request)
                continue
            try:
                prepared.append(
                    self._prepare(
                        device, request, received_at, sent_at, offline, lang, sessions, known
                    )
                )
            except Problem as problem:
                prepared.append(
                    _Pending(outcome=Outcome(problem.status, problem_body(problem, lang)))
                )
        return device, prepared

    def _lookup_sessions(
        self, requests: Sequence[CheckInRequest], cache: dict[str, dict[str, Any] | None]
    ) -> None:
        """Fill `cache` (request session id → row or None) for every session named."""
        canonical = {r.session_id: _canonical_uuid(r.session_id) for r in requests}
        ids = {sid for sid in canonical.values() if sid is not None}
        rows: dict[str, dict[str, Any]] = {}
        if ids:
            marks, params = _in_list("s", ids)
            found = self.store.fetch(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id IN ({marks})", params
            )
            rows = {row["id"]: row for row in found}
        for raw, sid in canonical.items():
            cache[raw] = rows.get(sid) if sid is not None else None

    def _lookup(self, requests: Sequence[CheckInRequest]) -> _Known:
        """Everyone the requests name, and their attendance rows in the sessions they name.

        A batch holds at most 1,000 items, so the IN lists stay far below either store's
        limit on bound parameters."""
        badges = {r.badge_uid for r in requests if r.badge_uid}
        numbers = {r.employee_id for r in requests if r.employee_id and not r.badge_uid}
        columns = "SELECT employee_no, name, dept, badge_uid FROM employees WHERE "
        by_badge: dict[str, dict[str, Any]] = {}
        by_no: dict[str, dict[str, Any]] = {}
        if badges:
            marks, params = _in_list("b", badges)
            rows = self.store.fetch(columns + f"badge_uid IN ({marks})", params)
            by_badge = {row["badge_uid"]: row for row in rows}
        if numbers:
            marks, params = _in_list("n", numbers)
            rows = self.store.fetch(columns + f"employee_no IN ({marks})", params)
            by_no = {row["employee_no"]: row for row in rows}
        pairs: set[tuple[str, str]] = set()
        for r in requests:
            sid = _canonical_uuid(r.session_id)
            who = by_badge.get(r.badge_uid or "") or by_no.get(r.employee_id or "")
            if sid is not None and who is not None:
                pairs.add((sid, who["employee_no"]))
        attendance: dict[tuple[str, str], dict[str, Any]] = {}
        if pairs:
            params: dict[str, str] = {}
            rows_sql = []
            for i, (sid, no) in enumerate(sorted(pairs)):
                params[f"s{i}"], params[f"p{i}"] = sid, no
                rows_sql.append(f"(:s{i}, :p{i})")
            # A join from a VALUES list probes the primary key once per pair on both stores
            # (`IN` over two lists would probe the cross product).
            columns = ", ".join(f"a.{c.strip()}" for c in ATTENDANCE_COLUMNS.split(","))
            rows = self.store.fetch(
                f"SELECT {columns} FROM (VALUES {', '.join(rows_sql)}) AS w "
                "JOIN attendance a ON a.session_id = w.column1 AND a.employee_no = w.column2",
                params,
            )
            attendance = {(row["session_id"], row["employee_no"]): row for row in rows}
        return _Known(by_badge, by_no, attendance)

    def device_session(
        self,
        device: DeviceIdentity,
        session_id: str,
        cache: dict[str, dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """The session a device names: it must exist and belong to the device's plant."""
        cache = {} if cache is None else cache
        if session_id not in cache:
            try:
                UUID(session_id)
            except ValueError:
                cache[session_id] = None
            else:
                cache[session_id] = self.store.fetch_one(
                    f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = :id", {"id": session_id}
                )
        session = cache[session_id]
        if session is None:
            raise Problem(404, "unknown-session", "problem.unknown_session", session_id=session_id)
        if session["plant"] != device.plant:
            raise Problem(403, "session-other-plant", "problem.other_plant")
        return session

    @staticmethod
    def _employee(
        request: CheckInRequest, known: _Known
    ) -> tuple[dict[str, Any] | None, str, bool]:
        """The employee the request names, what was presented, and whether it was a badge."""
        if request.badge_uid:
            return known.by_badge.get(request.badge_uid), request.badge_uid, True
        if request.employee_id:
            return known.by_employee_no.get(request.employee_id), request.employee_id, False
        if request.qr_token or request.face_photo_id:
            raise Problem(422, "unsupported-identity", "problem.unsupported_identity")
        raise Problem(422, "identity-required", "problem.identity_required")

    def _prepare(
        self,
        device: DeviceIdentity,
        request: CheckInRequest,
        received_at: datetime,
        sent_at: datetime | None,
        offline: bool,
        lang: str,
        sessions: dict[str, dict[str, Any] | None],
        known: _Known,
    ) -> _Pending:
        session = self.device_session(device, request.session_id, sessions)
        if request.method == "manual" and not request.reason:
            raise Problem(422, "reason-required", "problem.reason_required")
        employee, presented, by_badge = self._employee(request, known)
        session_id = UUID(session["id"])
        device_time = request.device_time
        if device_time is not None and device_time.tzinfo is None:
            raise Problem(
                422,
                "invalid-body",
                "problem.invalid_body",
                errors=["device_time needs a UTC offset"],
            )
        at = effective_check_in_time(received_at, device_time, sent_at, offline=offline)
        skew_reference = sent_at if offline else device_time
        facts = CheckInFacts(
            at=at,
            starts_at=from_iso(session["starts_at"]),
            ends_at=from_iso(session["ends_at"]),
            session_closed=session["status"] == "closed",
            employee_known=employee is not None,
            on_roster=False,
            method=request.method,
            by_badge=by_badge,
            skewed_clock=clock_skewed(
                received_at, skew_reference, self.policy.clock_skew_tolerance
            ),
            offline=offline and abs(received_at - at) > self.policy.clock_skew_tolerance,
        )
        if employee is not None:
            row = known.attendance.get((session["id"], employee["employee_no"]))
            if row is not None and row["checkin_id"]:
                stored = StoredCheckIn(
                    checkin_id=row["checkin_id"],
                    attendance_status=row["status"],
                    flags=json.loads(row["flags"]),
                    employee_no=employee["employee_no"],
                    employee_name=employee["name"],
                    server_time=row["server_time"],
                    device_id=row["device_id"],
                    client_event_id=row["client_event_id"],
                )
                outcome = accepted_outcome(
                    stored, lang, device=str(device.id), client_event_id=request.client_event_id
                )
                return _Pending(outcome=outcome)
            facts = CheckInFacts(**{**facts.__dict__, "on_roster": bool(row and row["on_roster"])})
        decision = decide_check_in(facts, self.policy)
        if decision.verdict is Verdict.REJECTED:
            assert decision.reason is not None
            return self._reject(device, request, session_id, presented, decision.reason.value, lang)
        assert employee is not None and decision.attendance_status is not None
        attendance = Attendance(
            session_id=session_id,
            employee_no=employee["employee_no"],
            employee_name=employee["name"],
            dept=employee["dept"],
            method=request.method,
            attendance_status=decision.attendance_status.value,
            flags=[f.value for f in decision.flags],
            checked_in_at=at,
            device_id=device.id,
            device_time=device_time,
            device_seq=request.device_seq,
            client_event_id=request.client_event_id,
            reason=request.reason,
            evidence={
                k: v
                for k, v in {
                    "badge_uid": request.badge_uid,
                    "face_photo_id": request.face_photo_id,
                }.items()
                if v
            },
            actor=f"device:{device.name}",
        )
        first = StoredCheckIn.of(attendance)
        return _Pending(aggregate=attendance, reply=lambda: accepted_outcome(first, lang))

    def _reject(
        self,
        device: DeviceIdentity,
        request: CheckInRequest,
        session_id: UUID,
        presented: str,
        reason: str,
        lang: str,
    ) -> _Pending:
        existing: CheckInRejection | None = self.app.get_or_none(
            device_command_id(device.id, request.client_event_id)
        )
        if existing is not None:
            return _Pending(outcome=self._rejection_replay(existing, lang))
        rejection = CheckInRejection(
            device_id=device.id,
            client_event_id=request.client_event_id,
            session_id=session_id,
            method=request.method,
            presented=presented,
            reason=reason,
            rejected_at=datetime.now(UTC),
            device_time=request.device_time,
            device_seq=request.device_seq,
            actor=f"device:{device.name}",
        )
        created = iso(rejection.created_on)
        return _Pending(
            aggregate=rejection,
            reply=lambda: rejected_outcome(
                checkin_id=str(rejection.id), reason=reason, server_time=created, lang=lang
            ),
        )

    @staticmethod
    def _rejection_replay(rejection: CheckInRejection, lang: str) -> Outcome:
        return rejected_outcome(
            checkin_id=str(rejection.id),
            reason=rejection.reason,
            server_time=iso(rejection.created_on),
            lang=lang,
            replayed=True,
        )

    def _settle_conflict(self, device: DeviceIdentity, pending: _Pending, lang: str) -> Outcome:
        """A concurrent request stored the same record first: answer from what it stored."""
        aggregate = pending.aggregate
        if isinstance(aggregate, CheckInRejection):
            stored_rejection: CheckInRejection = self.app.repository.get(aggregate.id)
            return self._rejection_replay(stored_rejection, lang)
        stored: Attendance = self.app.repository.get(
            attendance_id(aggregate.session_id, aggregate.employee_no)
        )
        return accepted_outcome(
            StoredCheckIn.of(stored),
            lang,
            device=str(device.id),
            client_event_id=aggregate.client_event_id,
        )
