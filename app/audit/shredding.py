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
from collections.abc import Callable, Iterable, Iterator, Mapping
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

    def load(self, person_ids: Iterable[str]) -> None: ...


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


def _fields(kind: str, state: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
    """Each of the person's fields the event holds: its path, its value, whether it is a name."""
    personal = PERSONAL.get(kind)
    if personal is None:
        return
    for path in personal.fields:
        found = _walk(state, path)
        if found is not None:
            yield path, found[0][found[1]], path[-1] in personal.names


def _put(state: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set the field at `path`, copying the nested dicts along it first: a rewrite never
    changes a dict it was not given (the live event's own, when sealing a copy of its state)."""
    _copy_along(state, path)
    found = _walk(state, path)
    if found is not None:
        found[0][found[1]] = value


#: what a rewrite callback returns to leave a value as it is
_KEEP: Any = object()


def _rewrite(
    kind: str,
    state: dict[str, Any],
    in_list: Callable[[str, Any, Any], Any],
    in_field: Callable[[str, Any, bool], Any],
) -> bool:
    """Walk the person's values of an event: each name of its list of several people's names
    (`in_list(field, name, employee_no)`), then each field of `PERSONAL`
    (`in_field(field, value, is_name)`); put in place what the callback returns, unless it is
    `_KEEP`. True when anything was put."""
    changed = False
    listed = _named_list(kind, state)
    if listed is not None:
        _, field, names, numbers = listed
        kept = list(names)
        for i, name in enumerate(names):
            new = in_list(field, name, numbers[i] if i < len(numbers) else None)
            if new is not _KEEP:
                kept[i], changed = new, True
        if changed:
            _put(state, PERSONAL_LISTS[kind][0], kept)
    for path, value, is_name in _fields(kind, state):
        new = in_field(path[-1], value, is_name)
        if new is not _KEEP:
            _put(state, path, new)
            changed = True
    return changed


def _erased(is_name: bool) -> str | None:
    """What an erased person's field reads as: a name as `ERASED_NAME`, the rest as nothing."""
    return ERASED_NAME if is_name else None


def _is_plain(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith(PREFIX)


def _is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def shield(kind: str, state: dict[str, Any], originator_id: UUID, keys: Keys) -> None:
    """Seal the person's fields of an event's `state` (a copy of it) before it is stored."""
    personal = PERSONAL.get(kind)
    whose = personal.person(state, originator_id) if personal else None

    def in_list(field: str, name: Any, number: Any) -> Any:
        if not _is_plain(name) or not number:
            return _KEEP
        person = str(natural_id("employee", str(number)))
        return _seal(keys.key_for_writing(person), person, field, name)

    def in_field(field: str, value: Any, is_name: bool) -> Any:
        if whose is None or not _is_plain(value):
            return _KEEP
        return _seal(keys.key_for_writing(str(whose)), str(whose), field, value)

    _rewrite(kind, state, in_list, in_field)


def people_of(events: Iterable[Any]) -> set[str]:
    """The people whose fields these events (about to be stored) will seal."""
    found: set[str] = set()
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

    def in_list(field: str, name: Any, number: Any) -> Any:
        return (_open(keys, field, name) or ERASED_NAME) if _is_sealed(name) else _KEEP

    def in_field(field: str, value: Any, is_name: bool) -> Any:
        if not _is_sealed(value):
            return _KEEP
        opened = _open(keys, field, value)
        return _erased(is_name) if opened is None else opened

    _rewrite(kind, state, in_list, in_field)


def plain_fields(kind: str, state: Mapping[str, Any]) -> list[str]:
    """The person's fields an event stored in plain text (written before sealing began)."""
    return [
        ".".join(path)
        for path, value, _ in _fields(kind, dict(state))
        if _is_plain(value) and value != ERASED_NAME  # ERASED_NAME: rewritten by an erasure
    ]


def erase_plain(
    kind: str, state: dict[str, Any], originator_id: UUID, employee_no: str, known: frozenset[str]
) -> bool:
    """Erase, in an event stored before sealing, the plain values that are the person's:
    fields of an event about them, and — where an event names nobody — values equal to one
    of theirs (`known`: names, badge, phone, e-mail). True when anything changed."""
    person = natural_id("employee", employee_no)
    personal = PERSONAL.get(kind)
    whose = personal.person(state, originator_id) if personal else None

    def in_list(field: str, name: Any, number: Any) -> Any:
        plain = isinstance(name, str) and not name.startswith(PREFIX)
        theirs = number == employee_no or (not number and name in known)
        return ERASED_NAME if plain and theirs else _KEEP

    def in_field(field: str, value: Any, is_name: bool) -> Any:
        theirs = whose == person or (whose is None and value in known)
        return _erased(is_name) if _is_plain(value) and theirs else _KEEP

    return _rewrite(kind, state, in_list, in_field)
