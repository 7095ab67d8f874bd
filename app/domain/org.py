"""The plant's organisation: org units, employees, positions and courses."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


class OrgKind(StrEnum):
    """Levels of the org tree, top to bottom."""

    GROUP = "group"
    COMPANY = "company"
    PLANT = "plant"
    WORKSHOP = "workshop"
    TEAM = "team"


ORG_LEVELS: tuple[OrgKind, ...] = tuple(OrgKind)


def child_kind_allowed(parent: OrgKind | None, child: OrgKind) -> bool:
    """True when `child` may sit directly under `parent` (None: the tree's root)."""
    if parent is None:
        return child is OrgKind.GROUP
    return ORG_LEVELS.index(child) == ORG_LEVELS.index(parent) + 1


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

    @event("OrgUnitRenamed")
    def rename(self, name: str, actor: str) -> None:
        """Give the unit a new display name (its code and place in the tree stay)."""
        self.name = name


class Position(Aggregate):
    """A job position; mandatory courses hang off it (later issue)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("position", code)

    @event("PositionRegistered")
    def __init__(self, code: str, name: str, actor: str):
        self.code = code
        self.name = name


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
    ):
        self.employee_no = employee_no
        self.name = name
        self.org_unit = org_unit
        self.position = position
        self.shift = shift
        self.badge_uid = badge_uid

    @event("EmployeeTransferred")
    def transfer(self, org_unit: str, position: str | None, actor: str) -> None:
        """Move the employee to another org unit and position."""
        self.org_unit = org_unit
        self.position = position

    @event("BadgeIssued")
    def issue_badge(self, badge_uid: str, actor: str) -> None:
        """Bind a (new) badge UID to the employee; the old badge stops identifying them."""
        self.badge_uid = badge_uid
