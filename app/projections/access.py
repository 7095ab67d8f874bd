"""Devices and logins as the app looks them up (token → device, login → role and scope).

Their secrets are not here: they are in the credentials tables (`app.stores.credentials`).
"""

from __future__ import annotations

from typing import Any

from app.domain.access import Device, User
from app.projections.base import Batch, Projection, handles


class Access(Projection):
    name = "access"
    owned_tables = ("devices", "users")
    tables = (
        "CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "room TEXT NOT NULL, plant TEXT NOT NULL, kind TEXT NOT NULL, revoked INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS users (login TEXT PRIMARY KEY, id TEXT NOT NULL, "
        "role TEXT NOT NULL, scope TEXT NOT NULL, employee_no TEXT)",
    )

    @handles(Device.DeviceRegistered)
    def device(self, e: Any, b: Batch) -> None:
        b.insert(
            "devices",
            "id",
            id=str(e.originator_id),
            name=e.name,
            room=e.room,
            plant=e.plant,
            kind=e.kind,
            revoked=0,
        )

    @handles(Device.DeviceTokenRotated, Device.DeviceTokenIssued)
    def device_token(self, e: Any, b: Batch) -> None:
        b.update("devices", "id", str(e.originator_id), revoked=0)

    @handles(Device.DeviceRevoked)
    def device_revoked(self, e: Any, b: Batch) -> None:
        b.update("devices", "id", str(e.originator_id), revoked=1)

    @handles(User.UserAdded)
    def user(self, e: Any, b: Batch) -> None:
        b.insert(
            "users",
            "login",
            login=e.login,
            id=str(e.originator_id),
            role=e.role,
            scope=e.scope,
            employee_no=e.employee_no,
        )

    @handles(User.UserReassigned)
    def user_reassigned(self, e: Any, b: Batch) -> None:
        b.update(
            "users",
            "id",
            str(e.originator_id),
            role=e.role,
            scope=e.scope,
            employee_no=e.employee_no,
        )
