"""Sealing a person's fields inside events: the stored value hides them, reading back opens
them while the person's key exists, and once it is deleted they read as erased."""

from __future__ import annotations

import os
from collections.abc import Iterable
from uuid import UUID

from app.audit.shredding import PREFIX, erase_plain, plain_fields, shield, unshield
from app.domain.ids import natural_id
from app.domain.org import ERASED_NAME


class KeysInMemory:
    """Per-person keys in a dict (the same port `app.stores.person_keys` serves)."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}

    def key(self, person_id: str) -> bytes | None:
        return self.keys.get(person_id)

    def key_for_writing(self, person_id: str) -> bytes:
        return self.keys.setdefault(person_id, os.urandom(32))

    def prepare(self, person_ids: Iterable[str]) -> None:
        for person_id in person_ids:
            self.key_for_writing(person_id)

    def load(self, person_ids: Iterable[str]) -> None:
        pass  # every key is at hand


PERSON = natural_id("employee", "E07")


def hired() -> dict[str, object]:
    return {
        "employee_no": "E07",
        "name": "李娜",
        "phone": "13900001111",
        "email": None,
        "badge_uid": "B-0007",
        "org_unit": "W1",
    }


def test_sealed_fields_open_while_the_key_exists_and_read_as_erased_after() -> None:
    keys = KeysInMemory()
    state = hired()
    shield("Employee.EmployeeHired", state, PERSON, keys)
    for field in ("name", "phone", "badge_uid"):
        assert str(state[field]).startswith(PREFIX + str(PERSON))
    assert state["email"] is None and state["org_unit"] == "W1"
    assert "李娜" not in str(state) and plain_fields("Employee.EmployeeHired", state) == []

    opened = dict(state)
    unshield("Employee.EmployeeHired", opened, keys)
    assert opened == hired()

    del keys.keys[str(PERSON)]
    erased = dict(state)
    unshield("Employee.EmployeeHired", erased, keys)
    assert erased["name"] == ERASED_NAME
    assert erased["phone"] is None and erased["badge_uid"] is None
    assert erased["employee_no"] == "E07"


def test_a_check_in_is_sealed_with_the_key_of_the_person_it_names() -> None:
    keys = KeysInMemory()
    live_evidence = {"badge_uid": "B-0007", "face_distance": "0.31"}
    state = {"employee_no": "E07", "employee_name": "李娜", "evidence": live_evidence}
    shield("Attendance.EmployeeCheckedIn", state, UUID(int=1), keys)
    assert list(keys.keys) == [str(PERSON)]
    assert live_evidence["badge_uid"] == "B-0007"  # the live event keeps its values
    assert state["evidence"]["badge_uid"].startswith(PREFIX)  # type: ignore[index]
    unshield("Attendance.EmployeeCheckedIn", state, keys)
    assert state == {"employee_no": "E07", "employee_name": "李娜", "evidence": live_evidence}


def test_a_new_key_after_an_erasure_does_not_open_what_the_old_one_sealed() -> None:
    keys = KeysInMemory()
    state = hired()
    shield("Employee.EmployeeHired", state, PERSON, keys)
    keys.keys[str(PERSON)] = os.urandom(32)  # erased, then the person came back
    unshield("Employee.EmployeeHired", state, keys)
    assert state["name"] == ERASED_NAME


def test_events_stored_before_sealing_are_found_as_plain() -> None:
    assert plain_fields("Employee.EmployeeHired", hired()) == ["name", "phone", "badge_uid"]
    assert plain_fields("Course.CourseRegistered", {"name": "Safety"}) == []


def test_each_absent_name_of_an_alert_is_sealed_with_its_own_persons_key() -> None:
    keys = KeysInMemory()
    facts = {"rate": 0.5, "missing": ["李娜", "王伟"], "missing_no": ["E07", "E08"]}
    state: dict[str, object] = {"subject": {"org_code": "W1"}, "facts": facts}
    shield("Alert.AlertRaised", state, UUID(int=2), keys)
    sealed = state["facts"]["missing"]  # type: ignore[index]
    assert facts["missing"] == ["李娜", "王伟"]  # the live event keeps its values
    assert all(name.startswith(PREFIX) for name in sealed) and "李娜" not in str(state)
    del keys.keys[str(PERSON)]  # E07 erased
    unshield("Alert.AlertRaised", state, keys)
    assert state["facts"]["missing"] == [ERASED_NAME, "王伟"]  # type: ignore[index]


def test_an_erasure_rewrites_only_the_persons_plain_values() -> None:
    old_alert = {"facts": {"missing": ["李娜", "王伟"]}, "subject": {}}
    assert erase_plain("Alert.AlertRaised", old_alert, UUID(int=3), "E07", frozenset({"李娜"}))
    assert old_alert["facts"]["missing"] == [ERASED_NAME, "王伟"]
    refusal = {"presented": "B-0007", "employee_no": None}
    assert erase_plain(
        "CheckInRejection.CheckInRejected", refusal, UUID(int=4), "E07", frozenset({"B-0007"})
    )
    assert refusal["presented"] is None
    others = {"presented": "B-0008", "employee_no": "E08"}
    unchanged = dict(others)
    assert not erase_plain(
        "CheckInRejection.CheckInRejected", others, UUID(int=5), "E07", frozenset({"B-0008"})
    )
    assert others == unchanged  # someone else's badge, even if it looks the same
    hired_plain = hired()
    assert erase_plain("Employee.EmployeeHired", hired_plain, PERSON, "E07", frozenset())
    assert hired_plain["name"] == ERASED_NAME and hired_plain["badge_uid"] is None
    assert plain_fields("Employee.EmployeeHired", hired_plain) == []


def test_an_erasure_finds_the_person_in_a_list_of_names_by_number_not_by_name() -> None:
    keys = KeysInMemory()
    sealed = {"facts": {"missing": ["王伟"], "missing_no": ["E08"]}, "subject": {}}
    shield("Alert.AlertRaised", sealed, UUID(int=6), keys)
    sealed_name = sealed["facts"]["missing"][0]
    facts = {"missing": ["李娜", "李娜", sealed_name], "missing_no": ["E07", "E09", "E07"]}
    old_alert = {"facts": facts, "subject": {}}
    assert erase_plain("Alert.AlertRaised", old_alert, UUID(int=7), "E07", frozenset({"李娜"}))
    # the namesake E09 keeps her name; a sealed name is left to its key
    assert old_alert["facts"]["missing"] == [ERASED_NAME, "李娜", sealed_name]


def test_an_alert_about_nobody_seals_its_list_of_names_but_not_its_other_fields() -> None:
    keys = KeysInMemory()
    facts = {"employee": "李娜", "missing": ["王伟"], "missing_no": ["E08"]}
    state: dict[str, object] = {"subject": {"org_code": "W1"}, "facts": facts}
    shield("Alert.AlertRaised", state, UUID(int=8), keys)
    assert state["facts"]["employee"] == "李娜"  # type: ignore[index]
    assert list(keys.keys) == [str(natural_id("employee", "E08"))]
    assert plain_fields("Alert.AlertRaised", state) == ["facts.employee"]
