"""Anomalies a check-in itself shows, flagged on the reply and the stored event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.bootstrap import Muster
from tests.conftest import Plant
from tests.support.checkins import badge, check_in

ANOMALIES = {"checkin_outside_window", "device_room_mismatch", "device_clock_skew"}


def stored_flags(muster: Muster, topic: str) -> list[list[str]]:
    events = muster.app.recorder.select_notifications(start=1, limit=100_000)
    return [
        list(muster.app.mapper.to_domain_event(n).flags) for n in events if n.topic.endswith(topic)
    ]


def test_an_honest_check_in_carries_no_anomaly(muster: Muster, plant: Plant) -> None:
    now = datetime.now(UTC).isoformat()
    (answer,) = check_in(muster, plant.p1_token, [badge(plant, "E01", device_time=now)])
    assert answer.status_code == 201 and answer.body["status"] == "accepted"
    assert answer.body["flags"] == []
    assert stored_flags(muster, "EmployeeCheckedIn") == [[]]


def test_a_tablet_of_another_room_is_flagged(muster: Muster, plant: Plant) -> None:
    token = muster.app.register_device("tablet-b", "培训室B", "P1", "tablet", "test")
    assert muster.runner.wait_until_caught_up(10)
    (answer,) = check_in(muster, token, [badge(plant, "E02")])
    assert answer.status_code == 201 and answer.body["status"] == "flagged"
    assert answer.body["flags"] == ["device_room_mismatch"]
    assert stored_flags(muster, "EmployeeCheckedIn") == [["device_room_mismatch"]]


def test_a_skewed_device_clock_is_flagged_under_both_names(muster: Muster, plant: Plant) -> None:
    fast = (datetime.now(UTC) + timedelta(minutes=9)).isoformat()
    (answer,) = check_in(muster, plant.p1_token, [badge(plant, "E03", device_time=fast)])
    assert answer.body["status"] == "flagged"
    assert {"clock_skew", "device_clock_skew"} <= set(answer.body["flags"])
    assert "device_clock_skew" in stored_flags(muster, "EmployeeCheckedIn")[0]


def test_a_check_in_outside_the_window_is_refused_and_kept_flagged(
    muster: Muster, plant: Plant
) -> None:
    early = badge(plant, "E04", session_id=plant.later_session_id)
    (answer,) = check_in(muster, plant.p1_token, [early])
    assert answer.status_code == 201 and answer.body["status"] == "rejected"
    assert answer.body["reason"] == "too_early"
    assert answer.body["employee"] == {"id": "E04", "name": "员工E04"}
    assert answer.body["checkin_id"]
    # the later session is in room B: this tablet of room A shows that too
    assert answer.body["flags"] == ["checkin_outside_window", "device_room_mismatch"]
    assert stored_flags(muster, "CheckInRejected") == [answer.body["flags"]]
    (again,) = check_in(muster, plant.p1_token, [early])
    assert again.status_code == 200 and again.body["replayed"] is True
    assert {**again.body, "replayed": False} == answer.body
    muster.runner.run_once()  # answered from the read models now, still naming the person
    (later,) = check_in(muster, plant.p1_token, [early])
    assert later.status_code == 200 and later.body == again.body


def test_an_offline_check_in_from_before_the_window_is_flagged(
    muster: Muster, plant: Plant
) -> None:
    now = datetime.now(UTC)
    queued = (now - timedelta(hours=2)).isoformat()  # hours before the session began
    items = [
        badge(plant, "E05", device_time=queued),
        badge(plant, "E06", device_time=now.isoformat()),
    ]
    early, fine = check_in(muster, plant.p1_token, items, offline=True, sent_at=now)
    assert early.status_code == 201 and early.body["status"] == "rejected"
    assert early.body["flags"] == ["checkin_outside_window"]
    assert fine.status_code == 201 and not ANOMALIES & set(fine.body["flags"])
