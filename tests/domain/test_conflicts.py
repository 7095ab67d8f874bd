"""Planning conflicts, kind by kind, and free slots (pure rules, no store)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.domain.conflicts import (
    Conflict,
    ConflictKind,
    ShiftSpan,
    Sitting,
    Teams,
    busy_for,
    conflicts,
    free_slots,
    may_override,
)

CST = timezone(timedelta(hours=8))
NINE = datetime(2026, 12, 8, 9, 0, tzinfo=CST)
HOUR = timedelta(hours=1)


def sitting(id: str = "S", **kw: object) -> Sitting:
    values: dict[str, object] = dict(
        id=id,
        code=id,
        plant="P1",
        room="A",
        trainer="T-陈",
        starts_at=NINE,
        ends_at=NINE + HOUR,
        roster=frozenset({"E1", "E2"}),
        capacity=None,
    )
    values.update(kw)
    return Sitting(**values)  # type: ignore[arg-type]


NO_TEAMS = Teams({}, {})
TEAM_OF_FOUR = Teams({"E1": "T1", "E2": "T1", "E3": "T1", "E4": "T1"}, {"T1": 4})


def kinds(found: list[Conflict]) -> list[tuple[str, str | None, str | None]]:
    return [(c.kind.value, c.with_session_id, c.employee_no) for c in found]


@pytest.mark.parametrize(
    ("others", "shifts", "teams", "here", "expected"),
    [
        pytest.param(
            [sitting("O", room="B", trainer="T-刘", roster=frozenset({"E2", "E9"}))],
            [],
            NO_TEAMS,
            {},
            [("person_double_booked", "O", "E2")],
            id="person in two sessions at once",
        ),
        pytest.param(
            [
                sitting(
                    "O",
                    room="B",
                    trainer="T-刘",
                    roster=frozenset({"E2"}),
                    starts_at=NINE + HOUR,
                    ends_at=NINE + 2 * HOUR,
                )
            ],
            [],
            NO_TEAMS,
            {},
            [],
            id="back to back is no conflict",
        ),
        pytest.param(
            [sitting("O", plant="P2", room="Z", roster=frozenset({"E7"}))],
            [],
            NO_TEAMS,
            {},
            [("trainer_double_booked", "O", None)],
            id="trainer in another plant at the same time",
        ),
        pytest.param(
            [
                sitting(
                    "O",
                    trainer="T-刘",
                    roster=frozenset({"E7"}),
                    starts_at=NINE + HOUR / 2,
                    ends_at=NINE + 2 * HOUR,
                )
            ],
            [],
            NO_TEAMS,
            {},
            [("room_double_booked", "O", None)],
            id="room taken for half an hour",
        ),
        pytest.param(
            [sitting("O", plant="P2", trainer="T-刘", roster=frozenset({"E7"}))],
            [],
            NO_TEAMS,
            {},
            [],
            id="same room name in another plant is another room",
        ),
        pytest.param(
            [],
            [
                ShiftSpan("E1", NINE - 2 * HOUR, NINE + HOUR / 2, "冲压1线"),
                ShiftSpan("E2", NINE + HOUR, NINE + 8 * HOUR, "冲压1线"),
            ],
            NO_TEAMS,
            {},
            [("shift_clash", None, "E1")],
            id="on shift during the session",
        ),
        pytest.param(
            [], [], NO_TEAMS, {"capacity": 1}, [("over_capacity", None, None)], id="over capacity"
        ),
        pytest.param([], [], NO_TEAMS, {"capacity": 2}, [], id="exactly full is fine"),
        pytest.param(
            [sitting("O", room="B", trainer="T-刘", roster=frozenset({"E3"}))],
            [],
            TEAM_OF_FOUR,
            {},
            [("team_share", None, None)],
            id="three of four of a team away at once",
        ),
        pytest.param([], [], TEAM_OF_FOUR, {}, [], id="half of a team away is allowed"),
    ],
)
def test_each_conflict_kind(
    others: list[Sitting],
    shifts: list[ShiftSpan],
    teams: Teams,
    here: dict[str, object],
    expected: list[tuple[str, str | None, str | None]],
) -> None:
    assert kinds(conflicts(sitting(**here), others, shifts, teams)) == expected


def test_a_session_never_conflicts_with_itself() -> None:
    assert conflicts(sitting(), [sitting()], [], NO_TEAMS) == []


def test_every_kind_is_covered() -> None:
    assert {k.value for k in ConflictKind} == {
        "person_double_booked",
        "trainer_double_booked",
        "room_double_booked",
        "shift_clash",
        "over_capacity",
        "team_share",
    }


def test_free_slots_are_the_nearest_times_nobody_is_busy() -> None:
    here = sitting()
    others = [
        sitting(
            "O1",
            roster=frozenset({"E1"}),
            room="B",
            trainer="x",
            starts_at=NINE - HOUR,
            ends_at=NINE + 2 * HOUR,
        ),
        sitting(
            "O2",
            roster=frozenset({"E9"}),
            room="C",
            trainer="y",
            starts_at=NINE + 2 * HOUR,
            ends_at=NINE + 3 * HOUR,
        ),
    ]
    shifts = [ShiftSpan("E2", NINE + 3 * HOUR, NINE + 4 * HOUR, "线")]
    slots = free_slots(here, busy_for(here, others, shifts))
    # E1 is busy 8–11, the session of strangers at 11 does not matter, E2 works 12–13
    assert slots == [
        (NINE + 2 * HOUR, NINE + 3 * HOUR),
        (NINE + 4 * HOUR, NINE + 5 * HOUR),
        (NINE + 4.5 * HOUR, NINE + 5.5 * HOUR),
    ]
    assert all(start.hour >= 8 and end.hour <= 18 for start, end in slots)


@pytest.mark.parametrize(
    ("kinds", "may"),
    [
        ((), True),
        ((ConflictKind.PERSON_DOUBLE_BOOKED, ConflictKind.SHIFT_CLASH), True),
        ((ConflictKind.OVER_CAPACITY, ConflictKind.TEAM_SHARE), True),
        ((ConflictKind.SHIFT_CLASH, ConflictKind.ROOM_DOUBLE_BOOKED), False),
        ((ConflictKind.TRAINER_DOUBLE_BOOKED,), False),
    ],
)
def test_a_planner_may_confirm_every_conflict_but_a_room_or_trainer_taken(
    kinds: tuple[ConflictKind, ...], may: bool
) -> None:
    assert may_override([Conflict(kind) for kind in kinds]) is may
