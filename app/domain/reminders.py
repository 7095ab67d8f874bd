"""The reminder ladder: the person 14 and 3 days before a pass runs out, their department
head once it has, the plant manager when it still has 7 days later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


class Rung(StrEnum):
    """A step of the ladder."""

    FOURTEEN_DAYS = "14_days_before"
    THREE_DAYS = "3_days_before"
    DEPT_HEAD = "dept_head"
    PLANT_MANAGER = "plant_manager"


@dataclass(frozen=True)
class Ladder:
    """When each rung is reached, counted from the due day (thresholds may differ per course)."""

    first_reminder: int = 14
    second_reminder: int = 3
    manager_after: int = 7


def rungs_reached(due_on: date, today: date, ladder: Ladder = Ladder()) -> list[Rung]:
    """The rungs to have reached by `today` for a pass due on `due_on`: the latest reminder
    only (a reminder 14 days ahead is pointless 2 days ahead), every escalation once due."""
    if today >= due_on + timedelta(days=ladder.manager_after):
        return [Rung.DEPT_HEAD, Rung.PLANT_MANAGER]
    if today >= due_on:
        return [Rung.DEPT_HEAD]
    if today >= due_on - timedelta(days=ladder.second_reminder):
        return [Rung.THREE_DAYS]
    if today >= due_on - timedelta(days=ladder.first_reminder):
        return [Rung.FOURTEEN_DAYS]
    return []


def rung_key(employee_no: str, course: str, due_on: str, rung: Rung) -> str:
    """The natural key of one rung for one pass (`due_on` an ISO date): it is climbed once,
    whatever reruns."""
    return f"{employee_no}/{course}/{due_on}/{rung.value}"


class Reminder(Aggregate):
    """A reminder to the person whose pass runs out soon."""

    @staticmethod
    def create_id(employee_no: str, course: str, due_on: str, rung: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same rung of the same pass is one record."""
        return natural_id("reminder", rung_key(employee_no, course, due_on, Rung(rung)))

    @event("ReminderSent")
    def __init__(self, employee_no: str, course: str, due_on: str, rung: str, to: str, actor: str):
        self.employee_no = employee_no
        self.course = course
        self.due_on = due_on
        self.rung = rung
        self.to = to


class Escalation(Aggregate):
    """An overdue pass reported up: to the department head, then to the plant manager."""

    @staticmethod
    def create_id(employee_no: str, course: str, due_on: str, level: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same rung of the same pass is one record."""
        return natural_id("reminder", rung_key(employee_no, course, due_on, Rung(level)))

    @event("ReminderEscalated")
    def __init__(
        self,
        employee_no: str,
        course: str,
        due_on: str,
        level: str,
        to: str,
        days_overdue: int,
        actor: str,
    ):
        self.employee_no = employee_no
        self.course = course
        self.due_on = due_on
        self.level = level
        self.to = to
        self.days_overdue = days_overdue
