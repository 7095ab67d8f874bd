"""Who a check-in names: the identity seam of the check-in command.

A device presents an employee number or a badge UID today; QR tokens with a phone and
face photos resolve here too once they are supported. The resolver looks everyone up for
a whole batch in a couple of queries and answers one `Identity` (or a refusal) per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.errors import IdentityRequired, Refusal, UnsupportedIdentity
from app.domain.rules import RejectReason
from app.services.commands import CheckInCommand
from app.stores.base import ReadStore, Row, Statement

EMPLOYEE_SELECT = "SELECT employee_no, name, dept, badge_uid FROM employees"


@dataclass(frozen=True)
class Identity:
    """The employee a check-in names (None: nobody has what was presented)."""

    employee: Row | None
    #: what the device presented, kept as evidence on a refusal
    presented: str
    #: the refusal reason when `employee` is None
    unknown: RejectReason


def _in_list(prefix: str, values: set[str]) -> tuple[str, dict[str, str]]:
    params = {f"{prefix}{i}": v for i, v in enumerate(sorted(values))}
    return ", ".join(f":{k}" for k in params), params


class IdentityResolver:
    """Resolves the people named by a batch of check-ins."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store

    def resolve(self, commands: Sequence[CheckInCommand]) -> list[Identity | Refusal]:
        """One identity (or the refusal of what was presented) per command, in order."""
        badges = {c.badge_uid for c in commands if c.badge_uid}
        numbers = {c.employee_id for c in commands if c.employee_id and not c.badge_uid}
        queries: list[Statement] = []
        if badges:
            marks, params = _in_list("b", badges)
            queries.append(Statement(f"{EMPLOYEE_SELECT} WHERE badge_uid IN ({marks})", params))
        if numbers:
            marks, params = _in_list("n", numbers)
            queries.append(Statement(f"{EMPLOYEE_SELECT} WHERE employee_no IN ({marks})", params))
        results = iter(self.store.fetch_many(queries) if queries else [])
        by_badge = {row["badge_uid"]: row for row in next(results)} if badges else {}
        by_no = {row["employee_no"]: row for row in next(results)} if numbers else {}
        return [self._one(c, by_badge, by_no) for c in commands]

    @staticmethod
    def _one(
        command: CheckInCommand, by_badge: dict[str, Row], by_no: dict[str, Row]
    ) -> Identity | Refusal:
        if command.badge_uid:
            return Identity(
                by_badge.get(command.badge_uid), command.badge_uid, RejectReason.UNKNOWN_BADGE
            )
        if command.employee_id:
            return Identity(
                by_no.get(command.employee_id), command.employee_id, RejectReason.UNKNOWN_EMPLOYEE
            )
        if command.qr_token or command.face_photo_id:
            return UnsupportedIdentity()
        return IdentityRequired()
