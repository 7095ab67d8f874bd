"""The compliance matrix: each person of an org unit against the courses their position
requires, from the training records (a person trained in another plant counts at home)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.domain.compliance import DEFAULT_DUE_SOON_DAYS, CourseState, standing
from app.stores.base import ReadStore, from_iso


@dataclass(frozen=True)
class MatrixFilter:
    """Narrow the rows: one course, one state, one position (None: all)."""

    course: str | None = None
    state: CourseState | None = None
    position: str | None = None


def matrix(
    store: ReadStore,
    org: str,
    path: str,
    today: date,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
    only: MatrixFilter | None = None,
) -> dict[str, Any]:
    """`{"org", "courses", "rows"}` of the contract for the org unit at `path`: everyone
    employed in its subtree (not left by `today`), each with a cell per required course."""
    only = only or MatrixFilter()
    params = {"prefix": path + "%", "today": today.isoformat()}
    people = store.fetch(
        "SELECT e.employee_no, e.name, e.org_unit, e.position FROM employees e "
        "JOIN org_units o ON o.code = e.org_unit "
        "LEFT JOIN employee_details d ON d.employee_no = e.employee_no "
        "WHERE o.path LIKE :prefix AND (d.left_on IS NULL OR d.left_on > :today) "
        "ORDER BY e.org_unit, e.employee_no",
        params,
    )
    required: dict[str, list[str]] = defaultdict(list)
    for r in store.fetch("SELECT position, course FROM position_courses ORDER BY course"):
        required[r["position"]].append(r["course"])
    validity = {
        r["code"]: r["validity_days"]
        for r in store.fetch("SELECT code, validity_days FROM course_rules")
    }
    done: dict[tuple[str, str], date] = {
        (r["employee_no"], r["course"]): from_iso(r["last_done"]).date()
        for r in store.fetch(
            "SELECT t.employee_no, t.course, t.last_done FROM training_records t "
            "JOIN employees e ON e.employee_no = t.employee_no "
            "JOIN org_units o ON o.code = e.org_unit WHERE o.path LIKE :prefix",
            params,
        )
    }
    courses: set[str] = set()
    rows = []
    for p in people:
        if only.position and p["position"] != only.position:
            continue
        cells = {}
        for course in required.get(p["position"] or "", []):
            s = standing(
                done.get((p["employee_no"], course)), validity.get(course), today, due_soon_days
            )
            cells[course] = {
                "state": s.state.value,
                "due_on": s.due_on.isoformat() if s.due_on else None,
                "last_done": s.last_done.isoformat() if s.last_done else None,
            }
        if only.course and only.course not in cells:
            continue
        if only.state and not any(
            c["state"] == only.state and (only.course in (None, code)) for code, c in cells.items()
        ):
            continue
        courses.update(cells)
        rows.append(
            {
                "employee_no": p["employee_no"],
                # the API's employee id is the employee number (as in check-ins)
                "employee_id": p["employee_no"],
                "name": p["name"],
                "org_code": p["org_unit"],
                "position_code": p["position"],
                "cells": cells,
            }
        )
    return {"org": org, "courses": sorted(courses), "rows": rows}
