"""Room names compared as people type them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.conflicts import ConflictKind, room_double_booked
from app.domain.rooms import room_key, same_room
from app.domain.rules import device_room_mismatch
from tests.domain.test_conflicts import sitting


@pytest.mark.parametrize(
    ("typed", "other", "same"),
    [
        ("培训室 A", "培训室A", True),
        ("培训室A", "培训室Ａ", True),  # full-width letter
        ("培训室　A", "培训室A", True),  # ideographic space
        (" 培训室 a ", "培训室A", True),
        ("Room １０１", "room101", True),  # full-width digits
        ("培训室A", "培训室B", False),
        ("培训室A", "培训室A1", False),
        ("一号会议室", "二号会议室", False),
    ],
)
def test_room_names_that_differ_only_in_spaces_width_or_case_are_one_room(
    typed: str, other: str, same: bool
) -> None:
    assert (room_key(typed) == room_key(other)) is same
    assert same_room("P1", typed, "P1", other) is same
    assert device_room_mismatch("P1", typed, "P1", other) is not same


def test_the_same_name_in_another_plant_is_another_room() -> None:
    assert not same_room("P1", "培训室A", "P2", "培训室A")


#: what room names are made of: Chinese, Latin letters and digits in both widths, a dash
ROOM_CHARACTERS = st.sampled_from(list("培训室会议一二号楼层AaBbZz09ＡａＢ０９-－#"))


@given(
    st.text(ROOM_CHARACTERS, max_size=12),
    st.lists(st.sampled_from([" ", "\u3000", "\t"]), max_size=3),
)
def test_spaces_anywhere_never_change_the_key(name: str, spaces: list[str]) -> None:
    spaced = "".join(spaces) + name + "".join(spaces)
    middle = len(name) // 2
    assert room_key(spaced) == room_key(name[:middle] + " " + name[middle:])
    assert room_key(room_key(name)) == room_key(name)


def test_a_room_booked_under_two_spellings_is_double_booked() -> None:
    first = sitting("S1", room="培训室 A")
    second = sitting("S2", room="培训室Ａ")
    (conflict,) = room_double_booked(second, [first])
    assert conflict.kind is ConflictKind.ROOM_DOUBLE_BOOKED
