"""Phones and presence: an employee checking in with their own login, the room QR that proves
they are in the room, and the ledger that notices one phone checking in two people."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from app.domain.errors import UnknownSession
from app.domain.ids import natural_id
from app.domain.qr import check_qr
from app.domain.rules import RejectReason
from app.services.commands import CheckInCommand
from app.services.devices import DeviceIdentity, canonical_uuid, sessions_query
from app.stores.base import ReadStore, Row


@dataclass(frozen=True)
class PhoneIdentity(DeviceIdentity):
    """An employee's own phone, as the check-in command's device: the login acts, always as
    the one employee it is bound to."""

    login: str = ""
    employee_no: str = ""

    @property
    def actor(self) -> str:
        """Events name the person's login as their actor."""
        return f"user:{self.login}"


def phone_of(login: str, employee_no: str) -> PhoneIdentity:
    """The caller for an employee login (one per login: its commands' idempotency scope)."""
    return PhoneIdentity(
        id=natural_id("phone-login", login),
        name=f"phone:{login}",
        room="",
        plant="",
        kind="phone",
        login=login,
        employee_no=employee_no,
    )


def any_session(store: ReadStore, session_id: str) -> Row:
    """The session a phone names: any plant's (the QR, not the device, proves the room)."""
    canonical = canonical_uuid(session_id)
    rows = store.fetch_many([sessions_query({canonical})])[0] if canonical else []
    if not rows:
        raise UnknownSession(session_id=session_id)
    return rows[0]


def qr_refusal(
    key: bytes, command: CheckInCommand, session_id: str, at: datetime
) -> RejectReason | None:
    """Whether the QR token or typed code the command carries admits it to the session at
    `at` (None: it does, or the command carries none)."""
    if not command.qr_token:
        return None
    refusal = check_qr(key, command.qr_token, session_id, at)
    return None if refusal is None else RejectReason(refusal.value)


class PhoneLedger:
    """Which people each phone checked in to each session: from the `phone_checkins` read
    model, plus what this process prepared since (so two check-ins in one batch, or sent
    before the read model caught up, are still seen)."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self._seen: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    def _people(self, session_id: str, phone_id: str) -> set[str]:
        key = (session_id, phone_id)
        if key not in self._seen:
            rows = self.store.fetch(
                "SELECT employee_no FROM phone_checkins "
                "WHERE session_id = :sid AND phone_id = :phone",
                {"sid": session_id, "phone": phone_id},
            )
            self._seen[key] = {r["employee_no"] for r in rows}
        return self._seen[key]

    def others(self, session_id: str, phone_id: str, employee_no: str) -> list[str]:
        """The other people this phone checked in to this session before."""
        with self._lock:
            return sorted(self._people(session_id, phone_id) - {employee_no})

    def note(self, session_id: str, phone_id: str, employee_no: str) -> None:
        """This phone checked this person in to the session."""
        with self._lock:
            self._people(session_id, phone_id).add(employee_no)
