"""Erasing a person (the right to be forgotten) by crypto-shredding: the erasure is recorded
(`PersonErased`, which names no one but the employee number), face templates are deleted,
and the person's key is deleted, so their name and identifiers read as erased in every event
and in every read model built from them. What they attended stays: every count adds up."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from app.application import Training, UnknownEntityError
from app.audit.shredding import PERSONAL, erase_plain, plain_fields
from app.domain.alerts import Alert
from app.domain.attendance import CheckInRejection
from app.domain.ids import attendance_id, natural_id
from app.domain.org import ERASED_NAME, Employee
from app.services.faces import FaceService
from app.stores.base import ReadStore
from app.stores.event_rewrite import rewrite_states
from app.stores.person_keys import PersonKeys

#: events that may name a person other than the one they are about (scanned in the whole log)
_NAMING_OTHERS = (get_topic(Alert.AlertRaised), get_topic(CheckInRejection.CheckInRejected))


@dataclass(frozen=True)
class Erased:
    """What an erasure did: whether a key was deleted, how many face templates went, and
    the events that still hold the person's data in plain text (stored before names were
    sealed: they cannot be shredded, and are named so an operator can decide)."""

    employee_no: str
    key_deleted: bool
    face_templates: int
    plain_events: list[str]
    #: events stored before sealing whose plain values of the person were erased in place
    rewritten: int = 0


class PersonErasure:
    """Erases people; one method per command, as the application's are."""

    def __init__(
        self, app: Training, store: ReadStore, keys: PersonKeys, faces: FaceService
    ) -> None:
        self.app = app
        self.store = store
        self.keys = keys
        self.faces = faces

    def _plain_events(self, employee_no: str, aggregate_ids: list[Any]) -> list[str]:
        found = []
        for aggregate_id in aggregate_ids:
            for stored in self.app.recorder.select_events(aggregate_id):
                kind = stored.topic.rsplit(":", 1)[-1]
                state = self.app.mapper.transcoder.decode(stored.state)
                if plain_fields(kind, state):
                    found.append(f"{kind.rsplit('.', 1)[-1]} v{stored.originator_version}")
        return found

    def _known(self, person_id: UUID) -> frozenset[str]:
        """The person's names and identifiers, as their own events hold them (opened while
        the key exists)."""
        known: set[str] = set()
        for stored in self.app.recorder.select_events(person_id):
            event = self.app.mapper.to_domain_event(stored)
            personal = PERSONAL.get(type(event).__qualname__)
            for path in personal.fields if personal else ():
                value = vars(event).get(path[0])
                if isinstance(value, str) and value and value != ERASED_NAME:
                    known.add(value)
        return frozenset(known)

    def _candidates(self, aggregate_ids: list[Any]) -> Iterator[StoredEvent]:
        for aggregate_id in aggregate_ids:
            yield from self.app.recorder.select_events(aggregate_id)
        start = 1
        while True:
            page = self.app.recorder.select_notifications(
                start=start, limit=1000, topics=_NAMING_OTHERS
            )
            yield from page
            if len(page) < 1000:
                return
            start = page[-1].id + 1

    def _rewrite(self, employee_no: str, aggregate_ids: list[Any], known: frozenset[str]) -> int:
        """Erase the person's plain values from events stored before sealing, in place."""
        rows = []
        for stored in self._candidates(aggregate_ids):
            kind = stored.topic.rsplit(":", 1)[-1]
            state = self.app.mapper.transcoder.decode(stored.state)
            oid = UUID(str(stored.originator_id))
            if erase_plain(kind, state, oid, employee_no, known):
                encoded = self.app.mapper.transcoder.encode(state)
                rows.append((oid, stored.originator_version, encoded))
        rewrite_states(self.app.recorder, rows)
        return len(rows)

    def erase(self, employee_no: str, reason: str, actor: str) -> Erased:
        """Erase `employee_no`; raises `UnknownEntityError` for an unknown number. Running it
        again changes nothing more. Blocking: call it from a worker thread."""
        person_id = natural_id("employee", employee_no)
        employee = self.app.get_or_none(person_id)
        if not isinstance(employee, Employee):
            raise UnknownEntityError("employee", employee_no)
        known = self._known(person_id)
        templates = 0
        if self.faces.templates.consent_ref(employee_no) is not None:
            templates = self.faces.withdraw(employee_no, actor)
        if employee.name != ERASED_NAME:
            employee.erase(employee_no=employee_no, reason=reason, actor=actor)
            self.app.save(employee)
        deleted = self.keys.erase(str(person_id))
        sessions = self.store.fetch(
            "SELECT DISTINCT session_id FROM attendance WHERE employee_no = :no",
            {"no": employee_no},
        )
        attendances = [attendance_id(UUID(r["session_id"]), employee_no) for r in sessions]
        rewritten = self._rewrite(employee_no, [person_id, *attendances], known)
        return Erased(
            employee_no=employee_no,
            key_deleted=deleted,
            face_templates=templates,
            plain_events=self._plain_events(employee_no, [person_id, *attendances]),
            rewritten=rewritten,
        )
