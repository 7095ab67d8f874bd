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
        b.sql(
            "INSERT INTO employee_details (employee_no, id, phone, email, hired_on) "
            "VALUES (:no, :id, :phone, :email, :hired) ON CONFLICT (employee_no) DO NOTHING",
            no=e.employee_no,
            id=str(e.originator_id),
            phone=getattr(e, "phone", None),
            email=getattr(e, "email", None),
            hired=getattr(e, "hired_on", None),
        )

    @handles(Employee.EmployeeDetailsChanged)
    def details(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE employee_details SET phone = :phone, email = :email, hired_on = :hired "
            "WHERE id = :id",
            phone=e.phone,
            email=e.email,
            hired=e.hired_on,
            id=str(e.originator_id),
        )

    @handles(Employee.EmployeeLeft, Employee.EmployeeRejoined)
    def left(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE employee_details SET left_on = :left WHERE id = :id",
            left=getattr(e, "left_on", None),
            id=str(e.originator_id),
        )

    @handles(Position.PositionDefined)
    def position(self, e: Any, b: Batch) -> None:
        b.sql("DELETE FROM position_courses WHERE position = :code", code=e.code)
        for course in e.mandatory_courses:
            b.sql(
                "INSERT INTO position_courses (position, course) VALUES (:code, :course) "
                "ON CONFLICT (position, course) DO NOTHING",
                code=e.code,
                course=course,
            )

    @handles(Course.CourseRegistered)
    def course(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO course_rules (code, validity_days, materials) VALUES (:code, :days, '[]') "
            "ON CONFLICT (code) DO NOTHING",
            code=e.code,
            days=months_to_days(e.validity_months),
        )

    @handles(Course.CourseDefined)
    def course_defined(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE course_rules SET validity_days = :days, materials = :materials "
            "WHERE code = :code",
            code=e.code,
            days=e.validity_days,
            materials=json.dumps(e.materials),
        )

    @handles(TrainingSession.SessionScheduled)
    def session(self, e: Any, b: Batch) -> None:
        spec = getattr(e, "roster_spec", None)
        b.sql(
            "INSERT INTO session_plans (id, capacity, roster_spec) VALUES (:id, :capacity, :spec) "
            "ON CONFLICT (id) DO NOTHING",
            id=str(e.originator_id),
            capacity=getattr(e, "capacity", None),
            spec=json.dumps(spec if spec is not None else list(e.roster)),
        )

    @handles(TrainingSession.SessionDetailsChanged)
    def session_details(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE session_plans SET capacity = :capacity WHERE id = :id",
            capacity=e.capacity,
            id=str(e.originator_id),
        )

    @handles(TrainingSession.SessionRosterChanged)
    def session_roster(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE session_plans SET roster_spec = :spec WHERE id = :id",
            spec=json.dumps(e.roster_spec),
            id=str(e.originator_id),
        )

    @handles(Shift.ShiftPlanned)
    def shift(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO shifts (id, employee_no, starts_at, ends_at, line) "
            "VALUES (:id, :no, :starts, :ends, :line) ON CONFLICT (id) DO NOTHING",
            id=str(e.originator_id),
            no=e.employee_no,
            starts=iso(e.starts_at),
            ends=iso(e.ends_at),
            line=e.line,
        )

    @handles(Shift.ShiftChanged)
    def shift_changed(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE shifts SET ends_at = :ends, line = :line WHERE id = :id",
            ends=iso(e.ends_at),
            line=e.line,
            id=str(e.originator_id),
        )
