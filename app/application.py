"""The event-sourced application: one short method per command (load, call, save).

eventsourcing is synchronous: the web layer calls these methods from worker threads,
never on the event loop.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from app.alerts.commands import AlertCommands
from app.audit.context import AuditedMapper
from app.audit.shredding import Keys, people_of
from app.domain.access import Device, DeviceKind, Role, User
from app.domain.ids import natural_id
from app.domain.org import Course, Employee, OrgKind, OrgUnit, Position, child_kind_allowed
from app.domain.reports import SavedReport, report_problem
from app.domain.training import TrainingSession
from app.passwords import hash_password
from app.stores.credentials import Credentials, hash_token


class UnknownEntityError(LookupError):
    """A command named an org unit, course, employee … that does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"unknown {kind}: {key}")
        self.kind = kind
        self.key = key


class InvalidCommandError(ValueError):
    """A command that the domain refuses (wrong tree level, bad role …)."""


class Training(Application, AlertCommands):
    """Muster's event store and its commands."""

    name = "Training"

    def __init__(
        self, env: dict[str, str], credentials: Credentials, people: Keys | None = None
    ) -> None:
        super().__init__(env=env)
        #: secrets (password and token hashes) are written here, never into events
        self.credentials = credentials
        #: per-person keys: names and identifiers in events are sealed with them
        self.people = people
        if people is not None and isinstance(self.mapper, AuditedMapper):
            self.mapper.people = people

    def _record(self, processing_event: Any) -> Any:
        # every key the events will be sealed with, made in one go before they are mapped
        if self.people is not None:
            self.people.prepare(people_of(processing_event.events))
        return super()._record(processing_event)

    def get_or_none(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _require(self, kind: str, key: str) -> Any:
        found = self.get_or_none(natural_id(kind, key))
        if found is None:
            raise UnknownEntityError(kind, key)
        return found

    # -- org tree -------------------------------------------------------------------------

    def register_org_unit(
        self, code: str, name: str, kind: str, parent_code: str | None, actor: str
    ) -> UUID:
        parent = self._require("org", parent_code) if parent_code else None
        if not child_kind_allowed(OrgKind(parent.kind) if parent else None, OrgKind(kind)):
            raise InvalidCommandError(
                f"a {kind} cannot sit under {parent.kind if parent else 'nothing'}"
            )
        unit = OrgUnit(code=code, name=name, kind=kind, parent_code=parent_code, actor=actor)
        self.save(unit)
        return unit.id

    def register_position(self, code: str, name: str, actor: str) -> UUID:
        position = Position(code=code, name=name, actor=actor)
        self.save(position)
        return position.id

    def register_course(
        self,
        code: str,
        name: str,
        kind: str,
        duration_minutes: int,
        validity_months: int | None,
        actor: str,
    ) -> UUID:
        course = Course(
            code=code,
            name=name,
            kind=kind,
            duration_minutes=duration_minutes,
            validity_months=validity_months,
            actor=actor,
        )
        self.save(course)
        return course.id

    def hire_employees(self, employees: Sequence[dict[str, Any]], actor: str) -> int:
        """Hire many at once (imports, demo): one transaction."""
        units: dict[str, Any] = {}
        hired: list[Aggregate] = []
        for e in employees:
            code = e["org_unit"]
            if code not in units:
                units[code] = self._require("org", code)
            hired.append(
                Employee(
                    employee_no=e["employee_no"],
                    name=e["name"],
                    org_unit=code,
                    position=e.get("position"),
                    shift=e.get("shift"),
                    badge_uid=e.get("badge_uid"),
                    actor=actor,
                )
            )
        self.save(*hired)
        return len(hired)

    # -- sessions ---------------------------------------------------------------------------

    def schedule_session(
        self,
        code: str,
        course: str,
        plant: str,
        room: str,
        trainer: str,
        starts_at: datetime,
        ends_at: datetime,
        roster: list[str],
        actor: str,
        title: str | None = None,
    ) -> UUID:
        course_agg = self._require("course", course)
        plant_agg = self._require("org", plant)
        if plant_agg.kind != OrgKind.PLANT:
            raise InvalidCommandError(f"{plant} is a {plant_agg.kind}, not a plant")
        session = TrainingSession(
            code=code,
            course=course,
            title=title or course_agg.name,
            plant=plant,
            room=room,
            trainer=trainer,
            starts_at=starts_at,
            ends_at=ends_at,
            roster=roster,
            actor=actor,
        )
        self.save(session)
        return session.id

    def start_session(self, session_id: UUID, actor: str) -> None:
        session: TrainingSession = self.repository.get(session_id)
        session.start(actor=actor)
        self.save(session)

    def end_session(self, session_id: UUID, actor: str) -> None:
        session: TrainingSession = self.repository.get(session_id)
        session.end(actor=actor)
        self.save(session)

    # -- devices and users -------------------------------------------------------------------

    def register_device(self, name: str, room: str, plant: str, kind: str, actor: str) -> str:
        """Register a device, or issue a new token to a registered one (the old one stops);
        returns the bearer token (shown once, stored hashed)."""
        if kind not in DeviceKind.ALL:
            raise InvalidCommandError(f"device kind must be one of {', '.join(DeviceKind.ALL)}")
        self._require("org", plant)
        token = "mdt_" + secrets.token_urlsafe(32)
        device: Device | None = self.get_or_none(natural_id("device", name))
        if device is None:
            device = Device(name=name, room=room, plant=plant, kind=kind, actor=actor)
        else:
            device.issue_token(actor=actor)
        self.credentials.set_device_token(str(device.id), hash_token(token))
        self.save(device)
        return token

    def revoke_device(self, name: str, reason: str, actor: str) -> None:
        device: Device = self._require("device", name)
        device.revoke(reason=reason, actor=actor)
        self.save(device)

    def add_user(
        self,
        login: str,
        role: str,
        scope: str,
        actor: str,
        password: str | None = None,
        employee_no: str | None = None,
    ) -> str:
        """Create a login, or give an existing one this role, scope and a new password (its
        open sessions end); returns the password (a one-time one unless given). An `employee`
        login is bound to one employee and acts as that person only."""
        if role not in Role.ALL:
            raise InvalidCommandError(f"role must be one of {', '.join(Role.ALL)}")
        if (role == Role.EMPLOYEE) != (employee_no is not None):
            raise InvalidCommandError("an employee login needs --employee, and only it")
        self._require("org", scope)
        if employee_no is not None:
            self._require("employee", employee_no)
        password = password or secrets.token_urlsafe(12)
        user: User | None = self.get_or_none(natural_id("user", login))
        if user is None:
            user = User(login=login, role=role, scope=scope, employee_no=employee_no, actor=actor)
        else:
            if (user.role, user.scope, user.employee_no) != (role, scope, employee_no):
                user.reassign(role=role, scope=scope, employee_no=employee_no, actor=actor)
            user.set_password(actor=actor)
        self.credentials.set_password(login, hash_password(password))
        self.save(user)
        return password

    # -- saved reports ---------------------------------------------------------------------

    def save_report(
        self,
        owner: str,
        name: str,
        org: str,
        dimensions: list[str],
        measures: list[str],
        schedule: str,
        recipients: list[str],
    ) -> UUID:
        """Save (or replace) a custom report and when it is to be sent to whom."""
        problem = report_problem(dimensions, measures, schedule)
        if problem is not None:
            raise InvalidCommandError(f"report {problem} not allowed")
        report: SavedReport | None = self.get_or_none(natural_id("report", f"{owner}/{name}"))
        if report is None:
            report = SavedReport(owner, name, org, dimensions, measures, actor=owner)
        elif (report.org, report.dimensions, report.measures) != (org, dimensions, measures):
            report.change(org, dimensions, measures, actor=owner)
        if (report.schedule, report.recipients) != (schedule, recipients):
            report.plan_delivery(schedule, recipients, actor=owner)
        self.save(report)
        return report.id

    def record_report_sent(
        self,
        report_id: UUID,
        period: str,
        delivered: list[str],
        inbox: list[str],
        failed: dict[str, str],
        actor: str,
    ) -> bool:
        """Record that a scheduled report went out for `period`; False when that period's
        delivery was recorded already (here or by another process)."""
        for _ in range(3):  # another period recorded at the same time: reload, record again
            report: SavedReport = self.repository.get(report_id)
            if not report.send(period, delivered, inbox, failed, actor=actor):
                return False
            try:
                self.save(report)
            except IntegrityError:
                continue
            return True
        raise RuntimeError(f"report {report_id}: {period} not recorded after three conflicts")

    def record_report_retry(
        self,
        report_id: UUID,
        period: str,
        delivered: list[str],
        failed: dict[str, str],
        attempt: int,
        actor: str,
    ) -> None:
        """Record another attempt at a period's delivery to the recipients it missed."""
        for _ in range(3):  # a concurrent save of the same report: reload and record again
            report: SavedReport = self.repository.get(report_id)
            report.retried(period, delivered, failed, attempt, actor=actor)
            try:
                self.save(report)
            except IntegrityError:
                continue
            return
        raise RuntimeError(f"report {report_id}: retry not recorded after three conflicts")
