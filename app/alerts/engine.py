"""The alert engine: follows the event log and raises, and resolves, alerts.

Each event says which subjects may have changed (a check-in: its session; a device heard
from: the sessions in its room; an anomaly: its session; an escalated reminder: that person's
training). The engine evaluates those subjects' rules (`app.domain.alerts`) against the read
models and compares the answer with the alerts it has open: a new condition raises an alert,
a condition gone resolves it. Conditions that turn true with time alone (the late mark, five
quiet minutes, the start without a check-in) are deadlines the engine computes whenever it
evaluates a session and keeps in its own timer table; when one falls due the session is
evaluated again. Nothing sweeps the sessions.

Alert ids are uuid5 of rule, subject and occurrence: after a crash between an append and the
checkpoint the same alert is raised again and the store refuses the copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from app.alerts.facts import Recipients, Thresholding, sessions_facts, sessions_in_device_room
from app.alerts.follower import Follower
from app.domain.alerts import (
    AlertRule,
    Condition,
    SessionFacts,
    Thresholds,
    session_conditions,
    session_deadlines,
    session_running,
)
from app.stores.base import ReadStore, Statement, in_list, iso

log = structlog.get_logger(__name__)

SESSION_EVENT_PREFIX = "TrainingSession."
#: values per `IN (…)` list
CHUNK = 500


@dataclass
class _Round:
    """What one round found to do and what it will write with its checkpoint."""

    sessions: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    escalations: list[Any] = field(default_factory=list)
    trained: set[tuple[str, str]] = field(default_factory=set)  # (employee_no, session_id)
    timers: set[tuple[str, str]] = field(default_factory=set)
    #: timers of the round's sessions already in the table (not written again)
    known_timers: set[tuple[str, str]] = field(default_factory=set)
    marks: dict[str, tuple[str, str, int, str, int]] = field(default_factory=dict)
    appended: int = 0


class AlertEngine(Follower):
    name = "alert_engine"
    #: it reads who and where from the read models, never from an event's sealed fields
    reads_personal = False
    #: a burst of check-ins is answered first; the round after it reads them all at once
    defer_s = 1.0
    #: a burst's events in one round: each session it touched is evaluated once
    batch_size = 5000
    depends_on = ("directory", "live_attendance", "plans", "alert_inputs", "alerts")
    tables = (
        # one row per rule and subject: its latest occurrence and whether that one is open
        "CREATE TABLE IF NOT EXISTS alert_marks (key TEXT PRIMARY KEY, grp TEXT NOT NULL, "
        "rule TEXT NOT NULL, occurrence INTEGER NOT NULL, alert_id TEXT NOT NULL, "
        "open INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS alert_marks_grp ON alert_marks (grp, open)",
        # when to look at a session again
        "CREATE TABLE IF NOT EXISTS alert_timers (session_id TEXT NOT NULL, due_at TEXT NOT NULL, "
        "PRIMARY KEY (session_id, due_at))",
        "CREATE INDEX IF NOT EXISTS alert_timers_due ON alert_timers (due_at)",
    )

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        *,
        late_after: timedelta,
        thresholds: Thresholds,
        on_commit: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, store, **kwargs)
        self.late_after = late_after
        self.thresholding = Thresholding(store, thresholds)
        self.recipients = Recipients(store)
        self.on_commit = on_commit

    # -- one round -------------------------------------------------------------------------

    def run_once(self) -> datetime | None:
        now = self.clock()
        start, end, events = self.read()
        work = _Round()
        for _position, e in events:
            self._observe(e, work)
        due = self.store.fetch(
            "SELECT session_id FROM alert_timers WHERE due_at <= :now", {"now": iso(now)}
        )
        work.sessions.update(r["session_id"] for r in due)
        for device in work.devices:
            work.sessions.update(sessions_in_device_room(self.store, device, iso(now)))
        sessions = self._sessions_of(work.sessions)
        for chunk in range(0, len(sessions), CHUNK):
            self._sessions(sessions[chunk : chunk + CHUNK], now, work)
        for escalation in work.escalations:
            self._escalated(escalation, now, work)
        self._trained(work.trained, now, work)
        with self.store.transaction() as tx:
            if not self.move(tx, start, end):
                return None  # another engine moved on meanwhile: read again
            if due:
                tx.execute("DELETE FROM alert_timers WHERE due_at <= :now", {"now": iso(now)})
            tx.run(
                [
                    Statement(
                        "INSERT INTO alert_timers (session_id, due_at) VALUES (:sid, :at) "
                        "ON CONFLICT (session_id, due_at) DO NOTHING",
                        {"sid": sid, "at": at},
                    )
                    for sid, at in sorted(work.timers - work.known_timers)
                ]
                + [
                    Statement(
                        "INSERT INTO alert_marks (key, grp, rule, occurrence, alert_id, open) "
                        "VALUES (:key, :grp, :rule, :occurrence, :alert_id, :open) "
                        "ON CONFLICT (key) DO UPDATE SET occurrence = :occurrence, "
                        "alert_id = :alert_id, open = :open",
                        {
                            "key": key,
                            "grp": grp,
                            "rule": rule,
                            "occurrence": occurrence,
                            "alert_id": alert_id,
                            "open": is_open,
                        },
                    )
                    for key, (grp, rule, occurrence, alert_id, is_open) in work.marks.items()
                ]
            )
        if work.appended and self.on_commit is not None:
            self.on_commit()
        return self.next_due()

    def next_due(self) -> datetime | None:
        row = self.store.fetch_one("SELECT MIN(due_at) AS due FROM alert_timers")
        return datetime.fromisoformat(row["due"]) if row and row["due"] else None

    @staticmethod
    def _observe(e: Any, work: _Round) -> None:
        """Which subjects an event may have changed (matched by name and attributes, so rules
        for events of other modules need no import of them)."""
        name = type(e).__name__
        if type(e).__qualname__.startswith(SESSION_EVENT_PREFIX):
            work.sessions.add(str(e.originator_id))
        elif getattr(e, "session_id", None) is not None:
            work.sessions.add(str(e.session_id))
        if getattr(e, "device_id", None) is not None:
            work.devices.add(str(e.device_id))
        if name == "AnomalyResolved":
            work.sessions.add(f"anomaly:{e.originator_id}")
        elif name == "ReminderEscalated":
            work.escalations.append(e)
        elif name == "EmployeeCheckedIn":
            work.trained.add((str(e.employee_no), str(e.session_id)))

    # -- sessions --------------------------------------------------------------------------

    def _sessions_of(self, subjects: set[str]) -> list[str]:
        """The sessions to evaluate: the ids as they are, an anomaly resolved as its
        session's."""
        sids = {s for s in subjects if not s.startswith("anomaly:")}
        for subject in subjects - sids:
            row = self.store.fetch_one(
                "SELECT session_id FROM watched_anomalies WHERE anomaly_id = :id",
                {"id": subject.removeprefix("anomaly:")},
            )
            if row is not None:
                sids.add(row["session_id"])
        return sorted(sids)

    def _sessions(self, sids: list[str], now: datetime, work: _Round) -> None:
        """Evaluate these sessions' rules; what they read is fetched for all of them at
        once (a burst of check-ins touches every running session in each round)."""
        found = sessions_facts(self.store, sids)
        if not found:
            return
        depts = sorted({d.dept for facts, _ in found.values() for d in facts.departments})
        plants = sorted({row["plant"] for _, row in found.values()})
        units = self.thresholding.for_units(plants + depts)
        names = self._org_names(depts)
        marks = self._open_marks([f"session:{sid}" for sid in found])
        ids, params = in_list("s", list(found))
        work.known_timers.update(
            (r["session_id"], r["due_at"])
            for r in self.store.fetch(
                f"SELECT session_id, due_at FROM alert_timers WHERE session_id IN ({ids}) "
                "AND due_at > :now",
                {**params, "now": iso(now)},
            )
        )
        for sid, (facts, row) in sorted(found.items()):
            group = f"session:{sid}"
            self._session(facts, row, units, names, marks.get(group, {}), now, work)

    def _session(
        self,
        facts: SessionFacts,
        row: dict[str, Any],
        units: dict[str, Thresholds],
        names: dict[str, str],
        open_now: dict[str, Any],
        now: datetime,
        work: _Round,
    ) -> None:
        sid = facts.session_id
        plant = row["plant"]
        plant_thresholds = units.get(plant, self.thresholding.default)
        about = {"session": row["title"], "room": row["room"]}
        conditions = [
            replace(c, facts={**c.facts, **about, "org_name": names[c.subject["org_code"]]})
            if "org_code" in c.subject
            else replace(c, facts={**c.facts, **about})
            for c in session_conditions(facts, now, self.late_after, plant_thresholds, units)
        ]
        for deadline in session_deadlines(facts, self.late_after, plant_thresholds):
            if deadline > now:
                work.timers.add((sid, iso(deadline)))

        def told(condition: Condition) -> list[str]:
            if condition.rule is AlertRule.DEPT_RATE_LOW:
                return self.recipients.of_unit(condition.subject["org_code"])
            hr = self.recipients.plant_hr(plant)
            return list(dict.fromkeys([*hr, *self.recipients.of_employee(row["trainer"])]))

        reason = "condition_cleared" if session_running(facts, now) else "session_over"
        self._reconcile(f"session:{sid}", conditions, plant, told, reason, now, work, open_now)

    def _org_names(self, codes: list[str]) -> dict[str, str]:
        """Each code's display name (the code itself for a unit not in the directory)."""
        names = {c: c for c in codes}
        if codes:
            params = {f"c{i}": c for i, c in enumerate(codes)}
            rows = self.store.fetch(
                "SELECT code, name FROM org_units WHERE code IN "
                f"({', '.join(':' + k for k in params)})",
                params,
            )
            names.update({r["code"]: r["name"] for r in rows})
        return names

    # -- overdue training (the planning work's escalations) ---------------------------------

    def _escalated(self, e: Any, now: datetime, work: _Round) -> None:
        """An overdue pass reported up (`ReminderEscalated`): an alert to the department head
        (level `dept_head`) or the plant's managers (`plant_manager`), and to the logins of
        the person it was escalated to; resolved when the person attends the course."""
        employee_no, course, level = str(e.employee_no), str(e.course), str(e.level)
        person = self.store.fetch_one(
            "SELECT e.name, e.org_unit, e.plant, c.name AS course_name FROM employees e "
            "LEFT JOIN courses c ON c.code = :course WHERE e.employee_no = :no",
            {"no": employee_no, "course": course},
        )
        if person is None:
            return
        subject = {
            "employee_no": employee_no,
            "course": course,
            "org_code": person["org_unit"],
            "level": level,
        }
        facts = {
            "due_on": str(e.due_on),
            "days_overdue": int(e.days_overdue),
            "employee": person["name"],
            "course_name": person["course_name"] or course,
        }
        condition = Condition(AlertRule.TRAINING_OVERDUE, subject, facts)

        def told(_: Condition) -> list[str]:
            above = (
                self.recipients.plant_managers(person["plant"])
                if level == "plant_manager"
                else self.recipients.of_unit(person["org_unit"])
            )
            return list(dict.fromkeys([*self.recipients.of_employee(str(e.to)), *above]))

        group = f"training:{employee_no}:{course}:{level}"
        self._reconcile(group, [condition], person["plant"], told, "trained", now, work)

    def _trained(self, trained: set[tuple[str, str]], now: datetime, work: _Round) -> None:
        """Check-ins resolve their people's overdue alerts for the sessions' courses: one
        query for the courses and one for the open marks of a round, however many
        check-ins it read."""
        sids = sorted({sid for _, sid in trained})
        courses: dict[str, str] = {}
        for chunk in range(0, len(sids), CHUNK):
            names, params = in_list("s", sids[chunk : chunk + CHUNK])
            sql = f"SELECT id, course FROM sessions WHERE id IN ({names})"
            courses.update((r["id"], r["course"]) for r in self.store.fetch(sql, params))
        groups = sorted(
            {
                f"training:{employee_no}:{courses[sid]}:{level}"
                for employee_no, sid in trained
                if sid in courses
                for level in ("dept_head", "plant_manager")
            }
        )
        for group, open_now in sorted(self._open_marks(groups).items()):
            self._reconcile(group, [], None, lambda _: [], "trained", now, work, open_now)

    # -- raising and resolving -------------------------------------------------------------

    def _open_marks(self, groups: list[str]) -> dict[str, dict[str, Any]]:
        """The open marks of each of `groups` (a group with none is left out), by key."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in range(0, len(groups), CHUNK):
            names, params = in_list("g", groups[chunk : chunk + CHUNK])
            for r in self.store.fetch(
                "SELECT grp, key, rule, occurrence, alert_id FROM alert_marks "
                f"WHERE open = 1 AND grp IN ({names})",
                params,
            ):
                found.setdefault(r["grp"], {})[r["key"]] = r
        return found

    def _reconcile(
        self,
        group: str,
        conditions: list[Condition],
        plant: str | None,
        told: Callable[[Condition], list[str]],
        reason: str,
        now: datetime,
        work: _Round,
        open_now: dict[str, Any] | None = None,
    ) -> None:
        """Raise what holds and is not open; resolve what is open and holds no more
        (`open_now`: the group's open marks, when the caller read them already)."""
        if open_now is None:
            open_now = self._open_marks([group]).get(group, {})
        wanted = {c.key: c for c in conditions}
        for key, condition in wanted.items():
            if key in open_now:
                continue
            last = self.store.fetch_one(
                "SELECT occurrence FROM alert_marks WHERE key = :k", {"k": key}
            )
            occurrence = int(last["occurrence"]) + 1 if last else 1
            alert = self.app.raise_alert(condition, occurrence, plant, told(condition), now)
            work.marks[key] = (group, condition.rule.value, occurrence, str(alert), 1)
            work.appended += 1
            log.info("alert raised", rule=condition.rule.value, subject=condition.subject)
        for key, mark in open_now.items():
            if key in wanted:
                continue
            if self.app.resolve_alert(UUID(mark["alert_id"]), reason, now):
                work.appended += 1
            work.marks[key] = (group, mark["rule"], int(mark["occurrence"]), mark["alert_id"], 0)
