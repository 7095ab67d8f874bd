"""The reminder ladder as a subscriber: it follows the training records (a projection of
attendance) and the clock, climbs each rung once (`ReminderSent`, `ReminderEscalated`), and
keeps its own record of the rungs climbed and the day it last ran."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError

from app.alerts.follower import CommittingFollower
from app.domain.compliance import standing
from app.domain.ids import natural_id
from app.domain.reminders import Escalation, Ladder, Reminder, Rung, rung_key, rungs_reached
from app.stores.base import ReadStore, Tx, from_iso, iso

log = structlog.get_logger(__name__)
ACTOR = "reminders"

TABLES = (
    "CREATE TABLE IF NOT EXISTS reminder_rungs (id TEXT PRIMARY KEY, employee_no TEXT NOT NULL, "
    "course TEXT NOT NULL, due_on TEXT NOT NULL, rung TEXT NOT NULL, climbed_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reminder_checkpoint (name TEXT PRIMARY KEY, day TEXT NOT NULL)",
)

#: every pass with a due day: current people, the courses their position requires, their
#: last attendance (in any plant)
PASSES = (
    "SELECT e.employee_no, e.org_unit, o.path, o.plant, t.course, t.last_done, r.validity_days "
    "FROM employees e JOIN org_units o ON o.code = e.org_unit "
    "JOIN position_courses pc ON pc.position = e.position "
    "JOIN training_records t ON t.employee_no = e.employee_no AND t.course = pc.course "
    "JOIN course_rules r ON r.code = pc.course "
    "LEFT JOIN employee_details d ON d.employee_no = e.employee_no "
    "WHERE r.validity_days IS NOT NULL AND (d.left_on IS NULL OR d.left_on > :today)"
)


class ReminderLadder(CommittingFollower):
    """Climbs the ladder for every pass as of the clock's plant day. It recomputes when the
    training records or plans changed (new events) or a new day began, never more often."""

    name = "reminders"
    reads_events = False
    depends_on = ("directory", "plans", "training_records", "course_reminders")
    tables = TABLES
    #: when each rung is reached (the thresholds of each course come from its rules)
    ladder = Ladder()

    def run_once(self) -> datetime | None:
        """Climb every rung reached by today that was not climbed yet."""
        start, end, _ = self.read()
        now = self.clock()
        today = self.day_of(now)
        last = self.store.fetch_one("SELECT day FROM reminder_checkpoint WHERE name = 'ladder'")
        if end == start and last is not None and last["day"] == today.isoformat():
            return None  # nothing new and the same day: the next poll looks again
        kept = self.climb(now, today)
        with self.store.transaction() as tx:
            if self.move(tx, start, end):
                _record(tx, today, now, kept)
        return None

    def climb(self, now: datetime, today: date) -> list[tuple[dict[str, str], Any]]:
        """Save the rungs reached and not climbed yet; the ones saved (or saved meanwhile)."""
        climbed = {r["id"] for r in self.store.fetch("SELECT id FROM reminder_rungs")}
        heads = _heads(self.store)
        ladders = {
            r["code"]: Ladder(r["first_reminder"], r["second_reminder"], r["manager_after"])
            for r in self.store.fetch(
                "SELECT code, first_reminder, second_reminder, manager_after FROM course_reminders"
            )
        }
        steps: list[tuple[dict[str, str], Any]] = []
        for p in self.store.fetch(PASSES, {"today": today.isoformat()}):
            due = standing(from_iso(p["last_done"]).date(), p["validity_days"], today).due_on
            assert due is not None  # passes here have a validity
            for rung in rungs_reached(due, today, ladders.get(p["course"], self.ladder)):
                key = rung_key(p["employee_no"], p["course"], due.isoformat(), rung)
                if str(natural_id("reminder", key)) in climbed:
                    continue
                facts = {"no": p["employee_no"], "course": p["course"], "due": due.isoformat()}
                step = self._rung(p, due, today, rung, heads)
                steps.append(({**facts, "rung": rung.value}, step))
        if not steps:
            return []
        outcomes = self.committer.submit_each([agg for _, agg in steps]).result()
        # a rung climbed by another process meanwhile is a duplicate: climbed all the same
        kept = [
            (facts, agg)
            for (facts, agg), error in zip(steps, outcomes, strict=True)
            if error is None or isinstance(error, IntegrityError)
        ]
        if len(kept) < len(steps):
            log.error("reminders not saved", failed=len(steps) - len(kept))
        return kept

    def _rung(
        self, p: dict[str, Any], due: date, today: date, rung: Rung, heads: dict[str, str]
    ) -> Any:
        no, course, due_on = p["employee_no"], p["course"], due.isoformat()
        if rung in (Rung.FOURTEEN_DAYS, Rung.THREE_DAYS):
            return Reminder(
                employee_no=no, course=course, due_on=due_on, rung=rung.value, to=no, actor=ACTOR
            )
        if rung is Rung.DEPT_HEAD:
            to = _nearest_head(p["path"], heads, skip={p["plant"]})
        else:
            to = heads.get(p["plant"] or "", "")
        return Escalation(
            employee_no=no,
            course=course,
            due_on=due_on,
            level=rung.value,
            to=to,
            days_overdue=(today - due).days,
            actor=ACTOR,
        )


def _record(tx: Tx, today: date, now: datetime, climbed: list[tuple[dict[str, str], Any]]) -> None:
    """The rungs climbed and the day, in the checkpoint's transaction."""
    for facts, agg in climbed:
        tx.execute(
            "INSERT INTO reminder_rungs (id, employee_no, course, due_on, rung, climbed_at) "
            "VALUES (:id, :no, :course, :due, :rung, :at) ON CONFLICT (id) DO NOTHING",
            {"id": str(agg.id), "at": iso(now), **facts},
        )
    tx.execute(
        "INSERT INTO reminder_checkpoint (name, day) VALUES ('ladder', :day) "
        "ON CONFLICT (name) DO UPDATE SET day = :day",
        {"day": today.isoformat()},
    )


def _heads(store: ReadStore) -> dict[str, str]:
    """Each org unit's head: its head employee and the dept_head / plant_manager logins
    scoped to it (comma-separated)."""
    heads: dict[str, list[str]] = {}
    for r in store.fetch("SELECT code, head_employee_no FROM org_heads"):
        heads.setdefault(r["code"], []).append(r["head_employee_no"])
    for r in store.fetch(
        "SELECT login, scope FROM users WHERE role IN ('dept_head', 'plant_manager')"
    ):
        heads.setdefault(r["scope"], []).append(r["login"])
    return {code: ",".join(who) for code, who in heads.items()}


def _nearest_head(path: str, heads: dict[str, str], skip: set[str]) -> str:
    """The head of the nearest unit above (or at) the person's own that has one, below the
    plant (`skip`): their department's head."""
    for code in reversed([c for c in path.strip("/").split("/") if c]):
        if code in skip:
            break
        if code in heads:
            return heads[code]
    return ""
