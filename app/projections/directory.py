"""The directory: org tree, employees, courses, positions, devices and users.

Check-in lookups (badge → employee, token → device) and login read these tables.
"""

from __future__ import annotations

from typing import Any

from app.domain.access import Device, User
from app.domain.org import Course, Employee, OrgUnit, Position
from app.projections.base import Batch, Projection, handles
from app.stores.base import iso


class Directory(Projection):
    name = "directory"
    owned_tables = ("org_units", "employees", "courses", "positions", "devices", "users")
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
        "CREATE TABLE IF NOT EXISTS courses (code TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "kind TEXT NOT NULL, duration_minutes INTEGER NOT NULL, validity_months INTEGER)",
        "CREATE TABLE IF NOT EXISTS positions (code TEXT PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "room TEXT NOT NULL, plant TEXT NOT NULL, kind TEXT NOT NULL, token_hash TEXT NOT NULL, "
        "revoked INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS devices_token ON devices (token_hash)",
        "CREATE TABLE IF NOT EXISTS users (login TEXT PRIMARY KEY, id TEXT NOT NULL, "
        "role TEXT NOT NULL, "
        "scope TEXT NOT NULL, password_hash TEXT NOT NULL)",
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
        b.sql(
            "UPDATE org_units SET name = :name WHERE id = :id", name=e.name, id=str(e.originator_id)
        )

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
        b.sql(
            "UPDATE employees SET name = :name WHERE id = :id", name=e.name, id=str(e.originator_id)
        )

    @handles(Employee.BadgeIssued)
    def badge_issued(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE employees SET badge_uid = :badge WHERE id = :id",
            badge=e.badge_uid,
            id=str(e.originator_id),
        )

    @handles(Course.CourseRegistered)
    def course(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO courses (code, name, kind, duration_minutes, validity_months) "
            "VALUES (:code, :name, :kind, :duration, :validity) ON CONFLICT (code) DO NOTHING",
            code=e.code,
            name=e.name,
            kind=e.kind,
            duration=e.duration_minutes,
            validity=e.validity_months,
        )

    @handles(Course.CourseDefined)
    def course_defined(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE courses SET name = :name, duration_minutes = :duration WHERE code = :code",
            name=e.title,
            duration=e.duration_minutes,
            code=e.code,
        )

    @handles(Position.PositionRegistered)
    def position(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO positions (code, name) VALUES (:code, :name) "
            "ON CONFLICT (code) DO NOTHING",
            code=e.code,
            name=e.name,
        )

    @handles(Position.PositionDefined)
    def position_defined(self, e: Any, b: Batch) -> None:
        b.sql("UPDATE positions SET name = :name WHERE code = :code", name=e.name, code=e.code)

    @handles(Device.DeviceRegistered)
    def device(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO devices (id, name, room, plant, kind, token_hash, revoked) "
            "VALUES (:id, :name, :room, :plant, :kind, :hash, 0) ON CONFLICT (id) DO NOTHING",
            id=str(e.originator_id),
            name=e.name,
            room=e.room,
            plant=e.plant,
            kind=e.kind,
            hash=e.token_hash,
        )

    @handles(Device.DeviceTokenRotated)
    def device_rotated(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE devices SET token_hash = :hash, revoked = 0 WHERE id = :id",
            hash=e.token_hash,
            id=str(e.originator_id),
        )

    @handles(Device.DeviceRevoked)
    def device_revoked(self, e: Any, b: Batch) -> None:
        b.sql("UPDATE devices SET revoked = 1 WHERE id = :id", id=str(e.originator_id))

    @handles(User.UserAdded)
    def user(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO users (login, id, role, scope, password_hash) "
            "VALUES (:login, :id, :role, :scope, :hash) ON CONFLICT (login) DO NOTHING",
            login=e.login,
            id=str(e.originator_id),
            role=e.role,
            scope=e.scope,
            hash=e.password_hash,
        )

    @handles(User.PasswordChanged)
    def password_changed(self, e: Any, b: Batch) -> None:
        b.sql(
            "UPDATE users SET password_hash = :hash WHERE id = :id",
            hash=e.password_hash,
            id=str(e.originator_id),
        )
