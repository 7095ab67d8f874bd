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
from app.stores.base import ReadStore, Statement, from_iso, iso
from app.stores.commit import GroupCommitter
from app.web.contract import CheckInReply, CheckInRequest, EmployeeRef
from app.web.i18n import t
from app.web.problems import PROBLEM_BASE, Problem


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
    "a.session_id, a.employee_no, a.on_roster, a.status, a.checkin_id, a.device_id, "
    "a.client_event_id, a.server_time, a.flags"
)
EMPLOYEE_SELECT = "SELECT employee_no, name, dept, badge_uid FROM employees"
DEVICE_SELECT = (
    "SELECT d.id, d.name, d.room, d.plant, d.kind, d.revoked FROM device_credentials c "
    "JOIN devices d ON d.id = c.device_id WHERE c.token_hash = :h"
)
SESSION_COLUMNS = "id, plant, starts_at, ends_at, status"


def _in_list(prefix: str, values: set[str]) -> tuple[str, dict[str, str]]:
    """Placeholders and parameters for `IN (…)` over `values`."""
    params = {f"{prefix}{i}": v for i, v in enumerate(sorted(values))}
    return ", ".join(f":{k}" for k in params), params


def _values_list(pairs: set[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """A `VALUES (…), (…)` body over two-column rows, with its parameters."""
    params: dict[str, str] = {}
    rows = []
    for i, (first, second) in enumerate(sorted(pairs)):
        params[f"x{i}"], params[f"y{i}"] = first, second
        rows.append(f"(:x{i}, :y{i})")
    return ", ".join(rows), params


def _device_query(token: str | None) -> Statement:
    if not token:
        raise Problem(401, "device-token", "problem.device_token")
    return Statement(DEVICE_SELECT, {"h": hash_token(token)})


def _device_of(rows: list[dict[str, Any]]) -> DeviceIdentity:
    """The device a token names; unknown or revoked tokens are refused."""
    if not rows or rows[0]["revoked"]:
        raise Problem(401, "device-token", "problem.device_token")
    row = rows[0]
    return DeviceIdentity(UUID(row["id"]), row["name"], row["room"], row["plant"], row["kind"])


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
        (rows,) = self.store.fetch_many([_device_query(token)])
        return _device_of(rows)

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
        appending = [i for i, p in enumerate(pending) if p.aggregate is not None]
        results = await asyncio.wrap_future(
            self.committer.submit_each([pending[i].aggregate for i in appending])
        )
        conflicts: list[int] = []
        for i, result in zip(appending, results, strict=True):
            if isinstance(result, IntegrityError):
                conflicts.append(i)
            elif result is not None:
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
        device, known, sessions = self._lookup(
            token, [r for r in requests if isinstance(r, CheckInRequest)]
        )
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

    def _lookup(
        self, token: str | None, requests: Sequence[CheckInRequest]
    ) -> tuple[DeviceIdentity, _Known, dict[str, dict[str, Any] | None]]:
        """The device, the sessions, everyone the requests name and their attendance rows:
        a handful of queries for a whole batch, sent together (one round trip on PostgreSQL).

        A batch holds at most 1,000 items, so the IN and VALUES lists stay far below either
        store's limit on bound parameters. Attendance is found by joining from a VALUES list,
        which probes the primary key once per item on both stores (`IN` over two lists would
        probe their cross product)."""
        canonical = {r.session_id: _canonical_uuid(r.session_id) for r in requests}
        session_ids = {sid for sid in canonical.values() if sid is not None}
        by_badge_pairs = {
            (sid, r.badge_uid)
            for r in requests
            if r.badge_uid and (sid := canonical[r.session_id]) is not None
        }
        by_no_pairs = {
            (sid, r.employee_id)
            for r in requests
            if r.employee_id and not r.badge_uid and (sid := canonical[r.session_id]) is not None
        }
        badges = {r.badge_uid for r in requests if r.badge_uid}
        numbers = {r.employee_id for r in requests if r.employee_id and not r.badge_uid}
        queries = [_device_query(token)]
        if session_ids:
            marks, params = _in_list("s", session_ids)
            queries.append(
                Statement(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id IN ({marks})", params)
            )
        if badges:
            marks, params = _in_list("b", badges)
            queries.append(Statement(f"{EMPLOYEE_SELECT} WHERE badge_uid IN ({marks})", params))
        if numbers:
            marks, params = _in_list("n", numbers)
            queries.append(Statement(f"{EMPLOYEE_SELECT} WHERE employee_no IN ({marks})", params))
        if by_badge_pairs:
            values, params = _values_list(by_badge_pairs)
            queries.append(
                Statement(
                    f"SELECT {ATTENDANCE_COLUMNS} FROM (VALUES {values}) AS w "
                    "JOIN employees e ON e.badge_uid = w.column2 "
                    "JOIN attendance a ON a.session_id = w.column1 "
                    "AND a.employee_no = e.employee_no",
                    params,
                )
            )
        if by_no_pairs:
            values, params = _values_list(by_no_pairs)
            queries.append(
                Statement(
                    f"SELECT {ATTENDANCE_COLUMNS} FROM (VALUES {values}) AS w "
                    "JOIN attendance a ON a.session_id = w.column1 AND a.employee_no = w.column2",
                    params,
                )
            )
        results = iter(self.store.fetch_many(queries))
        device = _device_of(next(results))
        found = {row["id"]: row for row in next(results)} if session_ids else {}
        sessions = {raw: found.get(sid) if sid else None for raw, sid in canonical.items()}
        by_badge = {row["badge_uid"]: row for row in next(results)} if badges else {}
        by_no = {row["employee_no"]: row for row in next(results)} if numbers else {}
        attendance = {
            (row["session_id"], row["employee_no"]): row
            for rows in results  # the one or two attendance queries
            for row in rows
        }
        return device, _Known(by_badge, by_no, attendance), sessions

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
