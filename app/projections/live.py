"""Live attendance: sessions with their counts, each roster line, departments per session.

The wallboard, the session page and the read API query these tables; every check-in
moves one attendance row and a few counters, inside the runner's transaction.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from app.domain.attendance import Attendance, CheckInRejection
from app.domain.org import ERASED_NAME, Employee
from app.domain.rules import AttendanceStatus
from app.domain.training import DETAILS, TIME_AND_PLACE, TrainingSession, fields_of
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso

#: what a session's row shows of it, named as on its events
SESSION_ROW = ("code", "course", "title", "plant", "room", "trainer", "starts_at", "ends_at")

#: roster members per INSERT (far below either store's bound-parameter limit)
ROSTER_CHUNK = 500


def _session_row(e: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The columns of the sessions row that an event carries (times as ISO text)."""
    row = fields_of(e, tuple(n for n in names if n in SESSION_ROW))
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in row.items()}


def _roster_lines(b: Batch, sid: str, roster: list[str], on_conflict: str) -> None:
    """One expected attendance line per person on the roster (one statement per chunk)."""
    people = list(dict.fromkeys(roster))
    for start in range(0, len(people), ROSTER_CHUNK):
        chunk = {f"n{i}": no for i, no in enumerate(people[start : start + ROSTER_CHUNK])}
        b.sql(
            "INSERT INTO attendance (session_id, employee_no, name, dept, on_roster, status) "
            "SELECT :sid, employee_no, name, dept, 1, :status FROM employees "
            f"WHERE employee_no IN ({', '.join(':' + k for k in chunk)}) "
            f"ON CONFLICT (session_id, employee_no) {on_conflict}",
            sid=sid,
            status=AttendanceStatus.EXPECTED.value,
            **chunk,
        )


def _count_expected(b: Batch, sid: str) -> None:
    """The session's and each department's expected (and checked-in) counts, from its lines."""
    b.sql(
        "UPDATE sessions SET expected = (SELECT COUNT(*) FROM attendance "
        "WHERE session_id = :sid AND on_roster = 1) WHERE id = :sid",
        sid=sid,
    )
    b.sql(
        "INSERT INTO dept_live (session_id, dept, expected, checked_in) "
        "SELECT session_id, COALESCE(dept, '-'), COUNT(*), "
        "SUM(CASE WHEN status IN (:present, :late) THEN 1 ELSE 0 END) FROM attendance "
        "WHERE session_id = :sid AND on_roster = 1 GROUP BY session_id, COALESCE(dept, '-') "
        "ON CONFLICT (session_id, dept) DO NOTHING",
        sid=sid,
        present=AttendanceStatus.PRESENT.value,
        late=AttendanceStatus.LATE.value,
    )


def _session_changed(b: Batch, sid: str, **counters: int) -> None:
    """The session's view changed: its version moves on (with `counters`) and the boards
    showing it hear of it."""
    b.add("sessions", "id", sid, version=1, **counters)
    b.changes.add(sid)


class LiveAttendance(Projection):
    name = "live_attendance"
    owned_tables = ("sessions", "attendance", "dept_live", "rejections")
    # Roster lines take names and departments from the directory's employees table.
    depends_on = ("directory",)
    live = True
    tables = (
        "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, code TEXT NOT NULL, "
        "course TEXT NOT NULL, title TEXT NOT NULL, plant TEXT NOT NULL, room TEXT NOT NULL, "
        "trainer TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, "
        "status TEXT NOT NULL, expected INTEGER NOT NULL DEFAULT 0, "
        "checked_in INTEGER NOT NULL DEFAULT 0, late INTEGER NOT NULL DEFAULT 0, "
        "walk_ins INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, "
        "version BIGINT NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS sessions_time ON sessions (plant, starts_at)",
        "CREATE INDEX IF NOT EXISTS sessions_code ON sessions (code)",
        "CREATE INDEX IF NOT EXISTS sessions_starts ON sessions (starts_at)",
        "CREATE TABLE IF NOT EXISTS attendance (session_id TEXT NOT NULL, "
        "employee_no TEXT NOT NULL, name TEXT NOT NULL, dept TEXT, on_roster INTEGER NOT NULL, "
        "status TEXT NOT NULL, checkin_id TEXT, checked_in_at TEXT, method TEXT, "
        "flags TEXT NOT NULL DEFAULT '[]', device_id TEXT, reason TEXT, client_event_id TEXT, "
        "server_time TEXT, "
        "PRIMARY KEY (session_id, employee_no))",
        "CREATE INDEX IF NOT EXISTS attendance_recent ON attendance (session_id, checked_in_at)",
        "CREATE INDEX IF NOT EXISTS attendance_person ON attendance (employee_no)",
        "CREATE TABLE IF NOT EXISTS dept_live (session_id TEXT NOT NULL, dept TEXT NOT NULL, "
        "expected INTEGER NOT NULL DEFAULT 0, checked_in INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (session_id, dept))",
        "CREATE TABLE IF NOT EXISTS rejections (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, "
        "device_id TEXT, method TEXT NOT NULL, presented TEXT NOT NULL, reason TEXT NOT NULL, "
        "rejected_at TEXT NOT NULL)",
    )

    @handles(TrainingSession.SessionScheduled)
    def scheduled(self, e: Any, b: Batch) -> None:
        sid = str(e.originator_id)
        b.insert("sessions", "id", id=sid, status="scheduled", **_session_row(e, SESSION_ROW))
        _roster_lines(b, sid, e.roster, "DO NOTHING")
        _count_expected(b, sid)
        b.changes.add(sid)

    @handles(TrainingSession.SessionRosterChanged)
    def roster_changed(self, e: Any, b: Batch) -> None:
        # Who is no longer on the roster and has not come drops out; who came stays.
        sid = str(e.originator_id)
        b.sql("UPDATE attendance SET on_roster = 0 WHERE session_id = :sid", sid=sid)
        _roster_lines(b, sid, e.roster, "DO UPDATE SET on_roster = 1")
        b.sql(
            "DELETE FROM attendance WHERE session_id = :sid AND on_roster = 0 "
            "AND status = :expected",
            sid=sid,
            expected=AttendanceStatus.EXPECTED.value,
        )
        b.sql("DELETE FROM dept_live WHERE session_id = :sid", sid=sid)
        _count_expected(b, sid)
        _session_changed(b, sid)

    @handles(TrainingSession.SessionRescheduled)
    def rescheduled(self, e: Any, b: Batch) -> None:
        sid = str(e.originator_id)
        b.update("sessions", "id", sid, **_session_row(e, TIME_AND_PLACE))
        _session_changed(b, sid)

    @handles(TrainingSession.SessionDetailsChanged)
    def details_changed(self, e: Any, b: Batch) -> None:
        sid = str(e.originator_id)
        b.update("sessions", "id", sid, **_session_row(e, DETAILS))
        _session_changed(b, sid)

    @handles(TrainingSession.AbsenteesMarked)
    def absentees(self, e: Any, b: Batch) -> None:
        sid = str(e.originator_id)
        b.sql(
            "UPDATE attendance SET status = 'absent' WHERE session_id = :sid AND on_roster = 1 "
            "AND status = :expected",
            sid=sid,
            expected=AttendanceStatus.EXPECTED.value,
        )
        _session_changed(b, sid)

    @handles(TrainingSession.SessionCancelled)
    def cancelled(self, e: Any, b: Batch) -> None:
        self._status(e, b, "cancelled")

    def _status(self, e: Any, b: Batch, status: str) -> None:
        sid = str(e.originator_id)
        b.update("sessions", "id", sid, status=status)
        _session_changed(b, sid)

    @handles(TrainingSession.SessionStarted)
    def started(self, e: Any, b: Batch) -> None:
        self._status(e, b, "open")

    @handles(TrainingSession.SessionEnded)
    def ended(self, e: Any, b: Batch) -> None:
        self._status(e, b, "closed")

    @handles(Attendance.EmployeeCheckedIn)
    def checked_in(self, e: Any, b: Batch) -> None:
        sid = str(e.session_id)
        on_time_or_late = e.attendance_status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
        b.sql(
            "INSERT INTO attendance (session_id, employee_no, name, dept, on_roster, status, "
            "checkin_id, checked_in_at, method, flags, device_id, reason, client_event_id, "
            "server_time) "
            "VALUES (:sid, :no, :name, :dept, 0, :status, :cid, :at, :method, :flags, :device, "
            ":reason, :cei, :server) ON CONFLICT (session_id, employee_no) DO UPDATE SET "
            "status = :status, checkin_id = :cid, checked_in_at = :at, method = :method, "
            "flags = :flags, device_id = :device, reason = :reason, client_event_id = :cei, "
            "server_time = :server",
            sid=sid,
            no=e.employee_no,
            name=e.employee_name,
            dept=e.dept,
            status=e.attendance_status,
            cid=str(e.originator_id),
            at=iso(e.checked_in_at),
            method=e.method,
            flags=json.dumps(e.flags),
            device=str(e.device_id) if e.device_id else None,
            reason=e.reason,
            cei=e.client_event_id,
            server=iso(e.timestamp),
        )
        if on_time_or_late:
            late = 1 if e.attendance_status == AttendanceStatus.LATE else 0
            b.add("sessions", "id", sid, checked_in=1, late=late, version=1)
            b.sql(
                "UPDATE dept_live SET checked_in = checked_in + 1 WHERE session_id = :sid "
                "AND dept = (SELECT COALESCE(dept, '-') FROM attendance "
                "WHERE session_id = :sid AND employee_no = :no)",
                sid=sid,
                no=e.employee_no,
            )
        else:
            b.add("sessions", "id", sid, walk_ins=1, version=1)
        b.changes.add(sid)

    @handles(Employee.PersonErased)
    def person_erased(self, e: Any, b: Batch) -> None:
        # the sessions' rows read the erased name, as a rebuild would make them
        b.update("attendance", "employee_no", e.employee_no, name=ERASED_NAME)

    @handles(CheckInRejection.CheckInRejected)
    def rejected(self, e: Any, b: Batch) -> None:
        sid = str(e.session_id)
        b.insert(
            "rejections",
            "id",
            id=str(e.originator_id),
            session_id=sid,
            device_id=str(e.device_id),
            method=e.method,
            presented=e.presented or "",  # erased with the person who held it
            reason=e.reason,
            rejected_at=iso(e.rejected_at),
        )
        _session_changed(b, sid, rejected=1)
