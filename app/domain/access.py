"""Who may touch the system: check-in devices and staff users."""

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


class Device(Aggregate):
    """A registered tablet, camera or badge reader in a room; only its token's hash is kept."""

    @staticmethod
    def create_id(name: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("device", name)

    @event("DeviceRegistered")
    def __init__(self, name: str, room: str, plant: str, kind: str, token_hash: str, actor: str):
        self.name = name
        self.room = room
        self.plant = plant
        self.kind = kind
        self.token_hash = token_hash
        self.revoked = False

    @event("DeviceTokenRotated")
    def rotate_token(self, token_hash: str, actor: str) -> None:
        """Replace the device token (re-registration); a revoked device becomes active again."""
        self.token_hash = token_hash
        self.revoked = False

    @event("DeviceRevoked")
    def revoke(self, reason: str, actor: str) -> None:
        """Revoke a lost or stolen device: its token stops working."""
        self.revoked = True


class Role:
    """Staff roles; the full role model scoped to the org tree comes later."""

    ADMIN = "admin"
    HR = "hr"
    AUDITOR = "auditor"
    DEPT_HEAD = "dept_head"
    TRAINER = "trainer"
    ALL = (ADMIN, HR, AUDITOR, DEPT_HEAD, TRAINER)


class User(Aggregate):
    """A staff login scoped to an org unit and its subtree."""

    @staticmethod
    def create_id(login: str, **_: Any) -> UUID:
        """The uuid5 of the natural key: the same entity always gets the same id."""
        return natural_id("user", login)

    @event("UserAdded")
    def __init__(self, login: str, role: str, scope: str, password_hash: str, actor: str):
        self.login = login
        self.role = role
        self.scope = scope
        self.password_hash = password_hash

    @event("PasswordChanged")
    def change_password(self, password_hash: str, actor: str) -> None:
        """Replace the stored password hash."""
        self.password_hash = password_hash
