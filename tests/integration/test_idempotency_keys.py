"""A `client_event_id` is bound to the content it first came with (issue 24, finding 2)."""

from __future__ import annotations

from typing import Any

import pytest

from app.bootstrap import Muster
from tests.conftest import Plant
from tests.integration.test_checkin_service import stored_attendance
from tests.support.checkins import badge, check_in


def records(muster: Muster) -> int:
    """Check-ins and refusals stored: every record a device command made."""
    return sum(
        1
        for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.endswith(("EmployeeCheckedIn", "CheckInRejected"))
    )


def other_content(plant: Plant, first: dict[str, Any], change: str) -> dict[str, Any]:
    if change == "employee":
        return badge(plant, "E08", cei=first["client_event_id"])
    if change == "session":
        return {**first, "session_id": plant.later_session_id}
    return {**first, "device_time": "2026-01-01T08:00:00+08:00"}


@pytest.mark.parametrize("projected", [True, False], ids=["read-models", "event-store"])
@pytest.mark.parametrize("change", ["employee", "session", "device_time"])
def test_a_reused_id_with_other_content_is_refused_naming_the_first(
    muster: Muster, plant: Plant, change: str, projected: bool
) -> None:
    first = badge(plant, "E07", cei="tablet-bug-1")
    (stored,) = check_in(muster, plant.p1_token, [first])
    if projected:
        muster.runner.run_once()
    (reused,) = check_in(muster, plant.p1_token, [other_content(plant, first, change)])
    assert reused.status_code == 409, reused.body
    assert reused.body["type"].endswith("idempotency-key-reused")
    assert reused.body["checkin_id"] == stored.body["checkin_id"]
    assert stored_attendance(muster) == 1 and records(muster) == 1
    (again,) = check_in(muster, plant.p1_token, [first])
    assert again.status_code == 200 and again.body["replayed"] is True
    assert again.body["checkin_id"] == stored.body["checkin_id"]


@pytest.mark.parametrize("projected", [True, False], ids=["read-models", "event-store"])
def test_an_unknown_badge_then_a_valid_one_under_one_id_stores_only_the_refusal(
    muster: Muster, plant: Plant, projected: bool
) -> None:
    unknown = {**badge(plant, "E09", cei="bug-2"), "badge_uid": "NOBODY"}
    (refused,) = check_in(muster, plant.p1_token, [unknown])
    if projected:
        muster.runner.run_once()
    (reused,) = check_in(muster, plant.p1_token, [badge(plant, "E09", cei="bug-2")])
    assert refused.status_code == 201 and refused.body["status"] == "rejected"
    assert reused.status_code == 409 and reused.body["checkin_id"] == refused.body["checkin_id"]
    assert stored_attendance(muster) == 0 and records(muster) == 1


def test_in_a_batch_each_reused_id_is_refused_alone(muster: Muster, plant: Plant) -> None:
    batch = [badge(plant, "E01", cei="b-1"), badge(plant, "E02", cei="b-2")]
    first = check_in(muster, plant.p1_token, batch, offline=True)
    muster.runner.run_once()
    resend = [batch[0], badge(plant, "E03", cei="b-2"), badge(plant, "E04", cei="b-3")]
    again = check_in(muster, plant.p1_token, resend, offline=True)
    assert [a.status_code for a in again] == [200, 409, 201]
    assert again[0].body["replayed"] is True
    assert again[1].body["checkin_id"] == first[1].body["checkin_id"]
    assert stored_attendance(muster) == 3


def test_one_id_twice_in_one_batch_with_other_content(muster: Muster, plant: Plant) -> None:
    batch = [badge(plant, "E05", cei="dup"), badge(plant, "E06", cei="dup")]
    answers = check_in(muster, plant.p1_token, batch, offline=True)
    assert [a.status_code for a in answers] == [201, 409]
    assert answers[1].body["checkin_id"] == answers[0].body["checkin_id"]
    assert stored_attendance(muster) == 1


def test_the_same_id_from_another_device_is_another_command(muster: Muster, plant: Plant) -> None:
    token = muster.app.register_device("tablet-a2", "培训室A", "P1", "tablet", "test")
    assert muster.runner.wait_until_caught_up(10)
    (one,) = check_in(muster, plant.p1_token, [badge(plant, "E10", cei="same")])
    (two,) = check_in(muster, token, [badge(plant, "E11", cei="same")])
    assert one.status_code == two.status_code == 201
    assert stored_attendance(muster) == 2
