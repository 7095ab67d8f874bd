"""Absentees offered the next session: people on the roster of a closed session of a course
who never came (marked absent when it closed), have not attended the course since, and are
not yet on the roster of a session of the course to come. The planner's form suggests them
for the next session of the course; the compliance matrix lists them with that session."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from app.stores.base import ReadStore, iso

#: one line per absence not made up yet; callers narrow it by course or by org subtree
MISSED = (
    "SELECT a.employee_no, e.name, e.org_unit, e.plant AS home_plant, s.course, "
    "s.id AS missed_session_id, s.code AS missed_code, s.starts_at AS missed_at "
    "FROM attendance a JOIN sessions s ON s.id = a.session_id "
    "JOIN employees e ON e.employee_no = a.employee_no "
    "JOIN org_units o ON o.code = e.org_unit "
    "LEFT JOIN employee_details d ON d.employee_no = e.employee_no "
    "WHERE a.on_roster = 1 AND a.status = 'absent' AND s.status = 'closed' "
    "AND (d.left_on IS NULL OR d.left_on > :today) "
    "AND NOT EXISTS (SELECT 1 FROM training_records t WHERE t.employee_no = a.employee_no "
    "AND t.course = s.course AND t.last_done >= s.starts_at) "
)


def _latest(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each person's latest absence per course (an older one was missed again since)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["missed_at"], reverse=True):
        seen.setdefault((r["employee_no"], r["course"]), r)
    return sorted(seen.values(), key=lambda r: (r["missed_at"], r["employee_no"]))


def offered_for(
    store: ReadStore,
    course: str,
    starts_at: datetime,
    today: date,
    session_id: str | None = None,
) -> list[dict[str, Any]]:
    """Who missed a session of `course` and is on no roster of the course between now and
    a session starting at `starts_at` (`session_id`: that session, whose roster counts as
    well): the people to offer it to, oldest absence first."""
    rows = store.fetch(
        MISSED + "AND s.course = :course AND s.starts_at < :starts "
        "AND NOT EXISTS (SELECT 1 FROM attendance b JOIN sessions n ON n.id = b.session_id "
        "WHERE b.employee_no = a.employee_no AND b.on_roster = 1 AND n.course = s.course "
        "AND n.status IN ('scheduled', 'open') AND (n.starts_at <= :starts OR n.id = :sid))",
        {
            "course": course,
            "starts": iso(starts_at),
            "today": today.isoformat(),
            "sid": session_id or "",
        },
    )
    return _latest(rows)


def missed_in(store: ReadStore, path: str, today: date, now: datetime) -> list[dict[str, Any]]:
    """The absences not made up by people of the org subtree at `path`, each with the next
    session of the course in their plant (`next_session_id`, `next_starts_at`; None when none
    is planned) and whether they are on its roster already (`on_next`)."""
    rows = _latest(
        store.fetch(
            MISSED + "AND o.path LIKE :prefix",
            {"prefix": path + "%", "today": today.isoformat()},
        )
    )
    if not rows:
        return []
    upcoming: dict[tuple[str, str], dict[str, Any]] = {}
    for s in store.fetch(
        "SELECT id, code, course, plant, starts_at FROM sessions "
        "WHERE status = 'scheduled' AND starts_at > :now ORDER BY starts_at",
        {"now": iso(now)},
    ):
        upcoming.setdefault((s["course"], s["plant"]), s)
    nexts = {f"s{n}": s["id"] for n, s in enumerate(upcoming.values())}
    rostered = set()
    if nexts:
        rostered = {
            (r["session_id"], r["employee_no"])
            for r in store.fetch(
                "SELECT session_id, employee_no FROM attendance WHERE on_roster = 1 "
                f"AND session_id IN ({', '.join(':' + k for k in nexts)})",
                nexts,
            )
        }
    out = []
    for r in rows:
        nxt = upcoming.get((r["course"], r["home_plant"]))
        out.append(
            {
                "employee_no": r["employee_no"],
                "name": r["name"],
                "org_code": r["org_unit"],
                "course": r["course"],
                "missed_session_id": r["missed_session_id"],
                "missed_at": r["missed_at"],
                "next_session_id": nxt["id"] if nxt else None,
                "next_starts_at": nxt["starts_at"] if nxt else None,
                "on_next": nxt is not None and (nxt["id"], r["employee_no"]) in rostered,
            }
        )
    return out
