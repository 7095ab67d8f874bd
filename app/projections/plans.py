"""Plans: what the directory and the live tables do not hold — org heads, employees' details
and leaving dates, each position's mandatory courses, course validity and materials, session
capacities and roster requests, and the shift plan."""

from __future__ import annotations

import json
from typing import Any

from app.domain.org import Course, Employee, OrgUnit, Position, months_to_days
from app.domain.shifts import Shift
from app.domain.training import TrainingSession
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso


class Plans(Projection):
    name = "plans"
    depends_on = ("directory",)
    owned_tables = (
        "org_heads",
        "employee_details",
        "position_courses",
        "course_rules",
        "session_plans",
        "shifts",
    )
    tables = (
        "CREATE TABLE IF NOT EXISTS org_heads (code TEXT PRIMARY KEY, "
        "head_employee_no TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS employee_details (employee_no TEXT PRIMARY KEY, "
        "id TEXT NOT NULL, phone TEXT, email TEXT, hired_on TEXT, left_on TEXT)",
        "CREATE INDEX IF NOT EXISTS employee_details_id ON employee_details (id)",
        "CREATE TABLE IF NOT EXISTS position_courses (position TEXT NOT NULL, "
        "course TEXT NOT NULL, PRIMARY KEY (position, course))",
        "CREATE TABLE IF NOT EXISTS course_rules (code TEXT PRIMARY KEY, validity_days INTEGER, "
        "materials TEXT NOT NULL DEFAULT '[]')",
        "CREATE TABLE IF NOT EXISTS session_plans (id TEXT PRIMARY KEY, capacity INTEGER, "
        "roster_spec TEXT NOT NULL DEFAULT '[]')",
        "CREATE TABLE IF NOT EXISTS shifts (id TEXT PRIMARY KEY, employee_no TEXT NOT NULL, "
        "starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, line TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS shifts_person ON shifts (employee_no, starts_at)",
        "CREATE INDEX IF NOT EXISTS shifts_time ON shifts (starts_at)",
    )

    @handles(OrgUnit.OrgUnitHeadAssigned)
    def head(self, e: Any, b: Batch) -> None:
        if e.head_employee_no is None:
            b.sql(
                "DELETE FROM org_heads WHERE code = (SELECT code FROM org_units WHERE id = :id)",
                id=str(e.originator_id),
            )
            return
        b.sql(
            "INSERT INTO org_heads (code, head_employee_no) "
            "SELECT code, :head FROM org_units WHERE id = :id "
            "ON CONFLICT (code) DO UPDATE SET head_employee_no = :head",
            head=e.head_employee_no,
            id=str(e.originator_id),
        )

    @handles(Employee.EmployeeHired)
    def hired(self, e: Any, b: Batch) -> None:
        b.insert(
            "employee_details",
            "employee_no",
            employee_no=e.employee_no,
            id=str(e.originator_id),
            phone=getattr(e, "phone", None),
            email=getattr(e, "email", None),
            hired_on=getattr(e, "hired_on", None),
        )

    @handles(Employee.EmployeeDetailsChanged)
    def details(self, e: Any, b: Batch) -> None:
        b.update(
            "employee_details",
            "id",
            str(e.originator_id),
            phone=e.phone,
            email=e.email,
            hired_on=e.hired_on,
        )

    @handles(Employee.PersonErased)
    def erased(self, e: Any, b: Batch) -> None:
        b.update("employee_details", "id", str(e.originator_id), phone=None, email=None)

    @handles(Employee.EmployeeLeft, Employee.EmployeeRejoined)
    def left(self, e: Any, b: Batch) -> None:
        b.update(
            "employee_details", "id", str(e.originator_id), left_on=getattr(e, "left_on", None)
        )

    @handles(Position.PositionDefined)
    def position(self, e: Any, b: Batch) -> None:
        b.sql("DELETE FROM position_courses WHERE position = :code", code=e.code)
        for course in e.mandatory_courses:
            b.insert("position_courses", "position, course", position=e.code, course=course)

    @handles(Course.CourseRegistered)
    def course(self, e: Any, b: Batch) -> None:
        b.insert(
            "course_rules",
            "code",
            code=e.code,
            validity_days=months_to_days(e.validity_months),
            materials="[]",
        )

    @handles(Course.CourseDefined)
    def course_defined(self, e: Any, b: Batch) -> None:
        b.update(
            "course_rules",
            "code",
            e.code,
            validity_days=e.validity_days,
            materials=json.dumps(e.materials),
        )

    @handles(TrainingSession.SessionScheduled)
    def session(self, e: Any, b: Batch) -> None:
        spec = getattr(e, "roster_spec", None)
        b.insert(
            "session_plans",
            "id",
            id=str(e.originator_id),
            capacity=getattr(e, "capacity", None),
            roster_spec=json.dumps(spec if spec is not None else list(e.roster)),
        )

    @handles(TrainingSession.SessionDetailsChanged)
    def session_details(self, e: Any, b: Batch) -> None:
        b.update("session_plans", "id", str(e.originator_id), capacity=e.capacity)

    @handles(TrainingSession.SessionRosterChanged)
    def session_roster(self, e: Any, b: Batch) -> None:
        b.update("session_plans", "id", str(e.originator_id), roster_spec=json.dumps(e.roster_spec))

    @handles(Shift.ShiftPlanned)
    def shift(self, e: Any, b: Batch) -> None:
        b.insert(
            "shifts",
            "id",
            id=str(e.originator_id),
            employee_no=e.employee_no,
            starts_at=iso(e.starts_at),
            ends_at=iso(e.ends_at),
            line=e.line,
        )

    @handles(Shift.ShiftChanged)
    def shift_changed(self, e: Any, b: Batch) -> None:
        b.update("shifts", "id", str(e.originator_id), ends_at=iso(e.ends_at), line=e.line)
