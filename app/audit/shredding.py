"""Crypto-shredding: a person's name and identifiers are stored inside events encrypted with
that person's own key (`app.stores.person_keys`). Field names stay as the contract has them;
only the stored value changes (`enc:v1:<person>:<nonce+ciphertext>`). Read back, a value
opens while the key exists; once the person is erased it reads as erased — the name as
`ERASED_NAME`, an identifier as nothing — and history stays replayable without them.

Events stored before this existed keep their plain values (`plain_fields` finds them).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.domain.ids import natural_id
from app.domain.org import ERASED_NAME

PREFIX = "enc:v1:"


class Keys(Protocol):
    """Where per-person keys live (`app.stores.person_keys.PersonKeys`)."""

    def key(self, person_id: str) -> bytes | None: ...

    def key_for_writing(self, person_id: str) -> bytes: ...

    def prepare(self, person_ids: Iterable[str]) -> None: ...


def _self(state: Mapping[str, Any], originator_id: UUID) -> UUID | None:
    return originator_id


def _by_employee_no(state: Mapping[str, Any], originator_id: UUID) -> UUID | None:
    number = state.get("employee_no")
    return natural_id("employee", str(number)) if number else None


def _alert_subject(state: Mapping[str, Any], originator_id: UUID) -> UUID | None:
    subject = state.get("subject") or {}
    number = subject.get("employee_no") if isinstance(subject, dict) else None
    return natural_id("employee", str(number)) if number else None


@dataclass(frozen=True)
class Personal:
    """Which fields of an event are a person's (a path into nested dicts), which of them is
    a name (erased to `ERASED_NAME`, the others to None), and whose they are."""

    fields: tuple[tuple[str, ...], ...]
    names: frozenset[str]
    person: Callable[[Mapping[str, Any], UUID], UUID | None]


_EMPLOYEE = frozenset({"name"})

#: events by class (qualified name), and what in them belongs to a person
PERSONAL: dict[str, Personal] = {
    "Employee.EmployeeHired": Personal(
        (("name",), ("phone",), ("email",), ("badge_uid",)), _EMPLOYEE, _self
    ),
    "Employee.EmployeeDetailsChanged": Personal(
        (("name",), ("phone",), ("email",)), _EMPLOYEE, _self
    ),
    "Employee.BadgeIssued": Personal((("badge_uid",),), _EMPLOYEE, _self),
    "Attendance.EmployeeCheckedIn": Personal(
        (("employee_name",), ("evidence", "badge_uid")),
        frozenset({"employee_name"}),
        _by_employee_no,
    ),
    "Alert.AlertRaised": Personal(
        (("facts", "employee"),), frozenset({"employee"}), _alert_subject
    ),
    # what a refused check-in presented (a badge), when it is someone's
    "CheckInRejection.CheckInRejected": Personal((("presented",),), frozenset(), _by_employee_no),
}

#: lists of several people's names inside one event, with the list of their employee numbers
#: in the same order: each name is sealed with its own person's key (`dept_rate_low`'s absent)
PERSONAL_LISTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Alert.AlertRaised": (("facts", "missing"), ("facts", "missing_no")),
}


def _seal(key: bytes, person: str, field: str, value: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), f"{person}/{field}".encode())
    return f"{PREFIX}{person}:{base64.b64encode(nonce + sealed).decode()}"


def _open(keys: Keys, field: str, value: str) -> str | None:
    person, _, payload = value[len(PREFIX) :].partition(":")
    key = keys.key(person)
    if key is None:
        return None
    raw = base64.b64decode(payload)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], f"{person}/{field}".encode()).decode()
    except InvalidTag:  # sealed under a key that was erased (and the person keyed again)
        return None


def _walk(state: dict[str, Any], path: tuple[str, ...]) -> tuple[dict[str, Any], str] | None:
    """The dict holding the field at `path`, and the field's name (None: not there)."""
    holder: Any = state
    for part in path[:-1]:
        holder = holder.get(part) if isinstance(holder, dict) else None
    if not isinstance(holder, dict) or path[-1] not in holder:
        return None
    return holder, path[-1]


def _copy_along(state: dict[str, Any], path: tuple[str, ...]) -> None:
    """Copy the nested dicts along `path`, so sealing never changes the live event's own."""
    holder = state
    for part in path[:-1]:
        inner = holder.get(part)
        if not isinstance(inner, dict):
            return
        holder[part] = dict(inner)
        holder = holder[part]


def _named_list(
    kind: str, state: dict[str, Any]
) -> tuple[dict[str, Any], str, list[Any], list[Any]] | None:
    """The holder and field of an event's list of names, the names and their numbers."""
    paths = PERSONAL_LISTS.get(kind)
    if paths is None:
        return None
    names, numbers = _walk(state, paths[0]), _walk(state, paths[1])
    if names is None or not isinstance(names[0][names[1]], list):
        return None
    found = numbers[0][numbers[1]] if numbers is not None else None
    return names[0], names[1], names[0][names[1]], found if isinstance(found, list) else []


def _shield_list(kind: str, state: dict[str, Any], keys: Keys) -> None:
    paths = PERSONAL_LISTS.get(kind)
    if paths is None:
        return
    _copy_along(state, paths[0])
    found = _named_list(kind, state)
    if found is None:
        return
    holder, field, names, numbers = found
    sealed = list(names)
    for i, (name, number) in enumerate(zip(names, numbers, strict=False)):
        if isinstance(name, str) and name and not name.startswith(PREFIX) and number:
            person = str(natural_id("employee", str(number)))
            sealed[i] = _seal(keys.key_for_writing(person), person, field, name)
    holder[field] = sealed


def shield(kind: str, state: dict[str, Any], originator_id: UUID, keys: Keys) -> None:
    """Seal the person's fields of an event's `state` (a copy of it) before it is stored."""
    _shield_list(kind, state, keys)
    personal = PERSONAL.get(kind)
    if personal is None:
        return
    person = personal.person(state, originator_id)
    if person is None:
        return
    for path in personal.fields:
        _copy_along(state, path)
        found = _walk(state, path)
        if found is None:
            continue
        holder, field = found
        value = holder[field]
        if isinstance(value, str) and value and not value.startswith(PREFIX):
            key = keys.key_for_writing(str(person))
            holder[field] = _seal(key, str(person), field, value)


def people_of(events: Iterable[Any]) -> set[str]:
    """The people whose fields these events (about to be stored) will seal."""
    found = set()
    for event in events:
        listed = _named_list(type(event).__qualname__, vars(event))
        if listed is not None:
            found.update(str(natural_id("employee", str(n))) for n in listed[3] if n)
        personal = PERSONAL.get(type(event).__qualname__)
        if personal is not None:
            person = personal.person(vars(event), event.originator_id)
            if person is not None:
                found.add(str(person))
    return found


def unshield(kind: str, state: dict[str, Any], keys: Keys) -> None:
    """Open the sealed fields of an event read back (an erased person's read as erased)."""
    listed = _named_list(kind, state)
    if listed is not None:
        holder, field, names, _ = listed
        holder[field] = [
            (_open(keys, field, n) or ERASED_NAME)
            if isinstance(n, str) and n.startswith(PREFIX)
            else n
            for n in names
        ]
    personal = PERSONAL.get(kind)
    if personal is None:
        return
    for path in personal.fields:
        found = _walk(state, path)
        if found is None:
            continue
        holder, field = found
        value = holder[field]
        if isinstance(value, str) and value.startswith(PREFIX):
            opened = _open(keys, field, value)
            if opened is None:
                opened = ERASED_NAME if field in personal.names else None
            holder[field] = opened


def plain_fields(kind: str, state: Mapping[str, Any]) -> list[str]:
    """The person's fields an event stored in plain text (written before sealing began)."""
    personal = PERSONAL.get(kind)
    if personal is None:
        return []
    plain = []
    for path in personal.fields:
        found = _walk(dict(state), path)
        if found is not None:
            value = found[0][found[1]]
            erased = value == ERASED_NAME  # rewritten by an erasure
            if isinstance(value, str) and value and not erased and not value.startswith(PREFIX):
                plain.append(".".join(path))
    return plain


def erase_plain(
    kind: str, state: dict[str, Any], originator_id: UUID, employee_no: str, known: frozenset[str]
) -> bool:
    """Erase, in an event stored before sealing, the plain values that are the person's:
    fields of an event about them, and — where an event names nobody — values equal to one
    of theirs (`known`: names, badge, phone, e-mail). True when anything changed."""
    person = natural_id("employee", employee_no)
    changed = False
    listed = _named_list(kind, state)
    if listed is not None:
        holder, field, names, numbers = listed
        kept = list(names)
        for i, name in enumerate(names):
            number = numbers[i] if i < len(numbers) else None
            plain = isinstance(name, str) and not name.startswith(PREFIX)
            if plain and (number == employee_no or (not number and name in known)):
                kept[i], changed = ERASED_NAME, True
        holder[field] = kept
    personal = PERSONAL.get(kind)
    if personal is None:
        return changed
    whose = personal.person(state, originator_id)
    for path in personal.fields:
        found = _walk(state, path)
        if found is None:
            continue
        holder, field = found
        value = holder[field]
        if not isinstance(value, str) or not value or value.startswith(PREFIX):
            continue
        if whose == person or (whose is None and value in known):
            holder[field] = ERASED_NAME if field in personal.names else None
            changed = True
    return changed
