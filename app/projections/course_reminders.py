"""Each course's own reminder ladder (courses without one use the ladder's defaults)."""

from __future__ import annotations

from typing import Any

from app.domain.org import Course
from app.projections.base import Batch, Projection, handles


class CourseReminders(Projection):
    name = "course_reminders"
    owned_tables = ("course_reminders",)
    tables = (
        "CREATE TABLE IF NOT EXISTS course_reminders (code TEXT PRIMARY KEY, "
        "first_reminder INTEGER NOT NULL, second_reminder INTEGER NOT NULL, "
        "manager_after INTEGER NOT NULL)",
    )

    @handles(Course.CourseRemindersSet)
    def reminders(self, e: Any, b: Batch) -> None:
        b.sql(
            "INSERT INTO course_reminders (code, first_reminder, second_reminder, manager_after) "
            "VALUES (:code, :first, :second, :manager) ON CONFLICT (code) DO UPDATE SET "
            "first_reminder = :first, second_reminder = :second, manager_after = :manager",
            code=e.code,
            first=e.first_reminder,
            second=e.second_reminder,
            manager=e.manager_after,
        )
