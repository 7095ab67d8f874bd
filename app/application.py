"""The event-sourced application: one short method per command (load, call, save).

eventsourcing is synchronous: the web layer calls these methods from worker threads,
never on the event loop.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from app.alerts.commands import AlertCommands
from app.domain.access import Device, DeviceKind, Role, User
from app.domain.ids import natural_id
from app.domain.org import Course, Employee, OrgKind, OrgUnit, Position, child_kind_allowed
from app.domain.training import TrainingSession
from app.passwords import hash_password


class UnknownEntityError(LookupError):
    """A command named an org unit, course, employee … that does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"unknown {kind}: {key}")
        self.kind = kind
        self.key = key


class InvalidCommandError(ValueError):
    """A command that the domain refuses (wrong tree level, bad role …)."""


def hash_token(token: str) -> str:
    """Device tokens are stored as SHA-256: a leaked database does not leak tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


class Training(Application, AlertCommands):
    """Muster's event store and its commands."""

    name = "Training"

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
        """Register a device and return its bearer token (shown once, stored hashed)."""
        if kind not in DeviceKind.ALL:
            raise InvalidCommandError(f"device kind must be one of {', '.join(DeviceKind.ALL)}")
        self._require("org", plant)
        token = "mdt_" + secrets.token_urlsafe(32)
        existing: Device | None = self.get_or_none(natural_id("device", name))
        if existing is not None:
            existing.rotate_token(token_hash=hash_token(token), actor=actor)
            self.save(existing)
        else:
            device = Device(
                name=name,
                room=room,
                plant=plant,
                kind=kind,
                token_hash=hash_token(token),
                actor=actor,
            )
            self.save(device)
        return token

    def revoke_device(self, name: str, reason: str, actor: str) -> None:
        device: Device = self._require("device", name)
        device.revoke(reason=reason, actor=actor)
        self.save(device)

    def add_user(
        self, login: str, role: str, scope: str, actor: str, password: str | None = None
    ) -> str:
        """Create a staff login; returns its password (a one-time one unless given)."""
        if role not in Role.ALL:
            raise InvalidCommandError(f"role must be one of {', '.join(Role.ALL)}")
        self._require("org", scope)
        password = password or secrets.token_urlsafe(12)
        existing: User | None = self.get_or_none(natural_id("user", login))
        if existing is not None:
            existing.change_password(password_hash=hash_password(password), actor=actor)
            self.save(existing)
        else:
            self.save(
                User(
                    login=login,
                    role=role,
                    scope=scope,
                    password_hash=hash_password(password),
                    actor=actor,
                )
            )
        return password
