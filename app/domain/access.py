"""Who may touch the system: check-in devices and logins, each with a role and an org scope.

Secrets never enter these events: password hashes, device token hashes and two-factor
secrets live in the credentials table (`app.stores.credentials`). Events written before that
carried the hashes; their classes upcast them away, so no reader of the log ever sees one.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from app.domain.ids import natural_id


class DeviceKind:
    """The kinds of check-in device the contract names."""

    TABLET = "tablet"
    CAMERA = "camera"
    BADGE_READER = "badge-reader"
    ALL = (TABLET, CAMERA, BADGE_READER)


def _drop(state: dict[str, Any], *secrets: str) -> None:
    for name in secrets:
        state.pop(name, None)


class Device(Aggregate):
    """A registered tablet, camera or badge reader in a room."""

    class DeviceRegistered(Aggregate.Created):
        """Version 1 carried the token's hash; version 2 never does."""

        class_version = 2
        name: str
        room: str
        plant: str
        kind: str
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Drop the token hash old events carried."""
            _drop(state, "token_hash")

    class DeviceTokenRotated(Aggregate.Event):
        """Written before `DeviceTokenIssued`; version 1 carried the token's hash."""

        class_version = 2
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Drop the token hash old events carried."""
            _drop(state, "token_hash")

    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("device", name)

    @event(DeviceRegistered)
    def __init__(self, name: str, room: str, plant: str, kind: str, actor: str):
        self.name = name
        self.room = room
        self.plant = plant
        self.kind = kind
        self.revoked = False

    @event(DeviceTokenRotated)
    def _token_rotated(self, actor: str) -> None:
        self.revoked = False

    @event("DeviceTokenIssued")
    def issue_token(self, actor: str) -> None:
        """A new token was issued (its hash is in the credentials table); the old one stops
        and a revoked device becomes active again."""
        self.revoked = False

    @event("DeviceRevoked")
    def revoke(self, reason: str, actor: str) -> None:
        """Revoke a lost or stolen device: its token stops working."""
        self.revoked = True


class Role:
    """Login roles. Each login is scoped to an org unit and sees its subtree only."""

    EMPLOYEE = "employee"
    TRAINER = "trainer"
    DEPT_HEAD = "dept_head"
    HR = "hr"
    PLANT_MANAGER = "plant_manager"
    AUDITOR = "auditor"
    ADMIN = "admin"
    INTEGRATION = "integration"
    ALL = (EMPLOYEE, TRAINER, DEPT_HEAD, HR, PLANT_MANAGER, AUDITOR, ADMIN, INTEGRATION)
    #: roles that must enrol in two-factor login before they can log in
    TWO_FACTOR_REQUIRED = (HR, PLANT_MANAGER, AUDITOR, ADMIN)


class User(Aggregate):
    """A login with a role, scoped to an org unit and its subtree; an `employee` login is
    bound to one employee and acts only as that person."""

    class UserAdded(Aggregate.Created):
        """Version 1 carried the password hash and no employee; version 2 has no hash."""

        class_version = 2
        login: str
        role: str
        scope: str
        employee_no: str | None
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Drop the password hash old events carried; they bound no employee."""
            _drop(state, "password_hash")
            state.setdefault("employee_no", None)

    class PasswordChanged(Aggregate.Event):
        """Written before `PasswordSet`; version 1 carried the password hash."""

        class_version = 2
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Drop the password hash old events carried."""
            _drop(state, "password_hash")

    @staticmethod
    def create_id(login: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("user", login)

    @event(UserAdded)
    def __init__(self, login: str, role: str, scope: str, employee_no: str | None, actor: str):
        self.login = login
        self.role = role
        self.scope = scope
        self.employee_no = employee_no

    @event(PasswordChanged)
    def _password_changed(self, actor: str) -> None:
        pass

    @event("PasswordSet")
    def set_password(self, actor: str) -> None:
        """A new password was set (its hash is in the credentials table)."""

    @event("UserReassigned")
    def reassign(self, role: str, scope: str, employee_no: str | None, actor: str) -> None:
        """Give the login another role, scope or employee; its open sessions end."""
        self.role = role
        self.scope = scope
        self.employee_no = employee_no
