"""The plant's organisation: org units, employees, positions and courses."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id

#: what an erased person's name reads as (both languages: it is data, shown as it is)
ERASED_NAME = "已删除 · erased"


class OrgKind(StrEnum):
    """Levels of the org tree, top to bottom."""

    GROUP = "group"
    COMPANY = "company"
    PLANT = "plant"
    WORKSHOP = "workshop"
    DEPARTMENT = "department"
    TEAM = "team"


ORG_LEVELS: tuple[OrgKind, ...] = tuple(OrgKind)


def child_kind_allowed(parent: OrgKind | None, child: OrgKind) -> bool:
    """True when `child` may sit directly under `parent` (None: the tree's root).

    Any level may be the root (a plant on its own is a whole tree); below it each unit sits
    lower than its parent, levels may be skipped (a department straight under its plant)."""
    if parent is None:
        return True
    return ORG_LEVELS.index(child) > ORG_LEVELS.index(parent)


class OrgUnit(Aggregate):
    """A node of the org tree: group → company → plant → workshop → team."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("org", code)

    @event("OrgUnitRegistered")
    def __init__(self, code: str, name: str, kind: str, parent_code: str | None, actor: str):
        self.code = code
        self.name = name
        self.kind = kind
        self.parent_code = parent_code
        self.head_employee_no: str | None = None

    @event("OrgUnitRenamed")
    def rename(self, name: str, actor: str) -> None:
        """Give the unit a new display name (its code and place in the tree stay)."""
        self.name = name

    @event("OrgUnitHeadAssigned")
    def assign_head(self, head_employee_no: str | None, actor: str) -> None:
        """Name the unit's head (None: nobody); the head receives the unit's alerts."""
        self.head_employee_no = head_employee_no


class Position(Aggregate):
    """A job position and the courses everyone in it must have (and keep valid)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("position", code)

    @event("PositionRegistered")
    def __init__(self, code: str, name: str, actor: str):
        self.code = code
        self.name = name
        self.mandatory_courses: list[str] = []

    @event("PositionDefined")
    def define(self, code: str, name: str, mandatory_courses: list[str], actor: str) -> None:
        """Set the position's name and the course codes it requires (`code` names the
        position in the event, for readers of the log)."""
        self.name = name
        self.mandatory_courses = list(mandatory_courses)


def months_to_days(months: int | None) -> int | None:
    """Validity given in months as days (12 months: 365 days)."""
    return None if months is None else round(months * 365 / 12)


class Course(Aggregate):
    """A course: kind (safety, equipment, lean …), duration and how long it stays valid."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("course", code)

    @event("CourseRegistered")
    def __init__(
        self,
        code: str,
        name: str,
        kind: str,
        duration_minutes: int,
        validity_months: int | None,
        actor: str,
    ):
        self.code = code
        self.name = name
        self.kind = kind
        self.duration_minutes = duration_minutes
        self.validity_months = validity_months
        self.validity_days: int | None = months_to_days(validity_months)
        self.materials: list[str] = []

    @event("CourseDefined")
    def define(
        self,
        code: str,
        title: str,
        duration_minutes: int,
        validity_days: int | None,
        materials: list[str],
        actor: str,
    ) -> None:
        """Set the course's title, length, how many days a pass stays valid (None: for good)
        and the marker ids of its materials (`code` names the course in the event)."""
        self.name = title
        self.duration_minutes = duration_minutes
        self.validity_days = validity_days
        self.materials = list(materials)

    @event("CourseRemindersSet")
    def set_reminders(
        self, code: str, first_reminder: int, second_reminder: int, manager_after: int, actor: str
    ) -> None:
        """This course's own reminder ladder: the person `first_reminder` and
        `second_reminder` days before a pass runs out, the plant manager `manager_after`
        days after (the department head on the day; `code` names the course in the event)."""
        self.reminders = (first_reminder, second_reminder, manager_after)


class Employee(Aggregate):
    """A worker, identified by the plant's employee number (工号)."""

    @staticmethod
    def create_id(employee_no: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("employee", employee_no)

    @event("EmployeeHired")
    def __init__(
        self,
        employee_no: str,
        name: str,
        org_unit: str,
        position: str | None,
        shift: str | None,
        badge_uid: str | None,
        actor: str,
        phone: str | None = None,
        email: str | None = None,
        hired_on: str | None = None,
    ):
        self.employee_no = employee_no
        self.name = name
        self.org_unit = org_unit
        self.position = position
        self.shift = shift
        self.badge_uid = badge_uid
        self.phone = phone
        self.email = email
        self.hired_on = hired_on
        self.left_on: str | None = None

    @event("EmployeeTransferred")
    def transfer(self, org_unit: str, position: str | None, actor: str) -> None:
        """Move the employee to another org unit and position."""
        self.org_unit = org_unit
        self.position = position

    @event("EmployeeMoved")
    def move(self, org_unit: str, position: str | None, actor: str) -> None:
        """The employee now works in another org unit or position (re-org, import)."""
        self.org_unit = org_unit
        self.position = position

    @event("EmployeeDetailsChanged")
    def change_details(
        self, name: str, phone: str | None, email: str | None, hired_on: str | None, actor: str
    ) -> None:
        """Correct the employee's name, phone, e-mail or hiring date (ISO date)."""
        self.name = name
        self.phone = phone
        self.email = email
        self.hired_on = hired_on

    @event("EmployeeLeft")
    def leave(self, left_on: str, actor: str) -> None:
        """The employee left the company on `left_on` (ISO date): off rosters and matrices."""
        self.left_on = left_on

    @event("EmployeeRejoined")
    def rejoin(self, actor: str) -> None:
        """A leaver is back (their leaving date was withdrawn)."""
        self.left_on = None

    @event("PersonErased")
    def erase(self, employee_no: str, reason: str, actor: str) -> None:
        """The person asked to be forgotten: their key is deleted, so their name and
        identifiers in every event read as erased; the employee number and what they
        attended stay, so every count still adds up."""
        self.name = ERASED_NAME
        self.phone = None
        self.email = None
        self.badge_uid = None

    @event("BadgeIssued")
    def issue_badge(self, badge_uid: str, actor: str) -> None:
        """Bind a (new) badge UID to the employee; the old badge stops identifying them."""
        self.badge_uid = badge_uid
