"""Training records: the last day each person attended each course (live or imported), the
fact the compliance matrix and the reminders are computed from."""

from __future__ import annotations

from typing import Any

from app.domain.attendance import Attendance
from app.domain.rules import AttendanceStatus
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso

#: check-ins that mean the person sat the course (a walk-in sat it too)
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.WALK_IN)


class TrainingRecords(Projection):
    name = "training_records"
    owned_tables = ("training_records",)
    # the course of a check-in is its session's, from the live tables
    depends_on = ("live_attendance",)
    tables = (
        "CREATE TABLE IF NOT EXISTS training_records (employee_no TEXT NOT NULL, "
        "course TEXT NOT NULL, last_done TEXT NOT NULL, PRIMARY KEY (employee_no, course))",
    )

    @handles(Attendance.EmployeeCheckedIn)
    def attended(self, e: Any, b: Batch) -> None:
        if e.attendance_status not in ATTENDED:
            return
        b.sql(
            "INSERT INTO training_records (employee_no, course, last_done) "
            "SELECT :no, course, :at FROM sessions WHERE id = :sid "
            "ON CONFLICT (employee_no, course) DO UPDATE SET last_done = CASE "
            "WHEN excluded.last_done > training_records.last_done THEN excluded.last_done "
            "ELSE training_records.last_done END",
            no=e.employee_no,
            at=iso(e.checked_in_at),
            sid=str(e.session_id),
        )
