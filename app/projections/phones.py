"""Which phone checked in whom: the phone check-ins of each session, for the proxy check."""

from __future__ import annotations

from typing import Any

from app.domain.attendance import Attendance
from app.projections.base import Batch, Projection, handles


class PhoneCheckIns(Projection):
    name = "phone_checkins"
    owned_tables = ("phone_checkins",)
    tables = (
        "CREATE TABLE IF NOT EXISTS phone_checkins (session_id TEXT NOT NULL, "
        "phone_id TEXT NOT NULL, employee_no TEXT NOT NULL, checkin_id TEXT NOT NULL, "
        "PRIMARY KEY (session_id, phone_id, employee_no))",
    )

    @handles(Attendance.EmployeeCheckedIn)
    def checked_in(self, e: Any, b: Batch) -> None:
        phone_id = (e.evidence or {}).get("phone_id")
        if not phone_id:
            return
        b.sql(
            "INSERT INTO phone_checkins (session_id, phone_id, employee_no, checkin_id) "
            "VALUES (:sid, :phone, :no, :cid) ON CONFLICT DO NOTHING",
            sid=str(e.session_id),
            phone=phone_id,
            no=e.employee_no,
            cid=str(e.originator_id),
        )
