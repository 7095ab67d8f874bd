"""The directory: org tree, employees, courses and positions.

Check-in lookups (badge → employee) read these tables; devices and logins are in `access`.
"""

from __future__ import annotations

from typing import Any

from app.domain.org import ERASED_NAME, Course, Employee, OrgUnit, Position
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso


class Directory(Projection):
    name = "directory"
    owned_tables = ("org_units", "employees", "courses", "positions")
    tables = (
        "CREATE TABLE IF NOT EXISTS org_units (code TEXT PRIMARY KEY, id TEXT NOT NULL, "
        "name TEXT NOT NULL, "
        "kind TEXT NOT NULL, parent TEXT, path TEXT NOT NULL, plant TEXT, workshop TEXT)",
        "CREATE INDEX IF NOT EXISTS org_units_path ON org_units (path)",
        "CREATE TABLE IF NOT EXISTS employees (employee_no TEXT PRIMARY KEY, id TEXT NOT NULL, "
        "name TEXT NOT NULL, "
        "org_unit TEXT NOT NULL, dept TEXT, plant TEXT, position TEXT, shift TEXT, badge_uid TEXT, "
        "hired_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS employees_badge ON employees (badge_uid)",
        "CREATE INDEX IF NOT EXISTS employees_org ON employees (org_unit)",
        "CREATE TABLE IF NOT EXISTS courses (code TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "kind TEXT NOT NULL, duration_minutes INTEGER NOT NULL, validity_months INTEGER)",
        "CREATE TABLE IF NOT EXISTS positions (code TEXT PRIMARY KEY, name TEXT NOT NULL)",
    )

    @handles(OrgUnit.OrgUnitRegistered)
    def org_unit(self, e: Any, b: Batch) -> None:
        # The path, plant and workshop come from the parent row, so subtree filters are
        # a prefix match and every employee knows their department without a walk.
        b.sql(
            "INSERT INTO org_units (code, id, name, kind, parent, path, plant, workshop) "
            "VALUES (:code, :id, :name, :kind, :parent, "
            "COALESCE((SELECT path FROM org_units WHERE code = :parent), '/') || :code || '/', "
            "CASE WHEN :kind = 'plant' THEN :code "
            "ELSE (SELECT plant FROM org_units WHERE code = :parent) END, "
            # a department counts as the department level like a workshop does
            "CASE WHEN :kind IN ('workshop', 'department') THEN :code "
            "ELSE (SELECT workshop FROM org_units WHERE code = :parent) END) "
            "ON CONFLICT (code) DO NOTHING",
            code=e.code,
            id=str(e.originator_id),
            name=e.name,
            kind=e.kind,
            parent=e.parent_code,
        )

    @handles(OrgUnit.OrgUnitRenamed)
    def org_unit_renamed(self, e: Any, b: Batch) -> None:
        b.update("org_units", "id", str(e.originator_id), name=e.name)

    @handles(Employee.EmployeeHired)
    def employee(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO employees (employee_no, id, name, org_unit, dept, plant, position, shift, "
            "badge_uid, hired_at) SELECT :no, :id, :name, :unit, ou.workshop, ou.plant, :position, "
            ":shift, :badge, :at FROM org_units ou WHERE ou.code = :unit "
            "ON CONFLICT (employee_no) DO NOTHING",
            no=e.employee_no,
            id=str(e.originator_id),
            name=e.name,
            unit=e.org_unit,
            position=e.position,
            shift=e.shift,
            badge=e.badge_uid,
            at=iso(e.timestamp),
        )

    @handles(Employee.EmployeeTransferred, Employee.EmployeeMoved)
    def employee_transferred(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE employees SET org_unit = :unit, position = :position, "
            "dept = (SELECT workshop FROM org_units WHERE code = :unit), "
            "plant = (SELECT plant FROM org_units WHERE code = :unit) "
            "WHERE id = :id",
            unit=e.org_unit,
            position=e.position,
            id=str(e.originator_id),
        )

    @handles(Employee.EmployeeDetailsChanged)
    def employee_details(self, e: Any, b: Batch) -> None:
        b.update("employees", "id", str(e.originator_id), name=e.name)

    @handles(Employee.PersonErased)
    def person_erased(self, e: Any, b: Batch) -> None:
        b.update("employees", "id", str(e.originator_id), name=ERASED_NAME, badge_uid=None)

    @handles(Employee.BadgeIssued)
    def badge_issued(self, e: Any, b: Batch) -> None:
        b.update("employees", "id", str(e.originator_id), badge_uid=e.badge_uid)

    @handles(Course.CourseRegistered)
    def course(self, e: Any, b: Batch) -> None:
        b.insert(
            "courses",
            "code",
            code=e.code,
            name=e.name,
            kind=e.kind,
            duration_minutes=e.duration_minutes,
            validity_months=e.validity_months,
        )

    @handles(Course.CourseDefined)
    def course_defined(self, e: Any, b: Batch) -> None:
        b.update("courses", "code", e.code, name=e.title, duration_minutes=e.duration_minutes)

    @handles(Position.PositionRegistered)
    def position(self, e: Any, b: Batch) -> None:
        b.insert("positions", "code", code=e.code, name=e.name)

    @handles(Position.PositionDefined)
    def position_defined(self, e: Any, b: Batch) -> None:
        b.update("positions", "code", e.code, name=e.name)
