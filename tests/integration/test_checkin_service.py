"""The check-in command against real SQLite and PostgreSQL: idempotency, rules, evidence."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from app.bootstrap import Muster
from app.domain.attendance import Attendance
from app.domain.errors import DeviceNotRecognised
from tests.conftest import Plant
from tests.support.checkins import badge, check_in


def stored_attendance(muster: Muster) -> int:
    return sum(
        1
        for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
        if n.topic.endswith("Attendance.EmployeeCheckedIn")
    )


def test_the_same_batch_twice_creates_each_record_once(muster: Muster, plant: Plant) -> None:
    batch = [badge(plant, f"E{n:02d}") for n in range(1, 9)]
    first = check_in(muster, plant.p1_token, batch, offline=True)
    again = check_in(muster, plant.p1_token, batch, offline=True)
    assert [o.status_code for o in first] == [201] * 8
    assert [o.status_code for o in again] == [200] * 8
    assert all(o.body["replayed"] is True for o in again)
    for a, b in zip(first, again, strict=True):
        assert {k: v for k, v in a.body.items() if k != "replayed"} == {
            k: v for k, v in b.body.items() if k != "replayed"
        }
    assert stored_attendance(muster) == 8
    muster.runner.run_once()
    row = muster.store.fetch_one(
        "SELECT checked_in FROM sessions WHERE id = :id", {"id": plant.session_id}
    )
    assert row == {"checked_in": 8}


def test_a_second_check_in_of_the_same_person_is_a_duplicate_not_a_record(
    muster: Muster, plant: Plant
) -> None:
    (first,) = check_in(muster, plant.p1_token, [badge(plant, "E01")])
    (second,) = check_in(muster, plant.p1_token, [badge(plant, "E01")])
    assert first.status_code == 201 and first.body["message"] == "签到成功"
    assert second.status_code == 200
    assert second.body["checkin_id"] == first.body["checkin_id"]
    assert "duplicate_checkin" in second.body["flags"]
    assert second.body["message"] == "已签到，无需重复签到"
    assert stored_attendance(muster) == 1


def test_the_same_item_racing_in_one_batch_is_stored_once(muster: Muster, plant: Plant) -> None:
    same = badge(plant, "E02", cei="race-1")
    results = check_in(muster, plant.p1_token, [same, dict(same), dict(same)], offline=True)
    assert sorted(o.status_code for o in results) == [200, 200, 201]
    assert len({o.body["checkin_id"] for o in results}) == 1
    assert stored_attendance(muster) == 1


def test_a_walk_in_is_accepted_and_flagged(muster: Muster, plant: Plant) -> None:
    (outcome,) = check_in(muster, plant.p1_token, [badge(plant, "E13")])  # not on the roster
    assert outcome.status_code == 201
    assert outcome.body["status"] == "flagged"
    assert outcome.body["flags"] == ["walk_in"]
    muster.runner.run_once()
    row = muster.store.fetch_one(
        "SELECT walk_ins, checked_in FROM sessions WHERE id = :id", {"id": plant.session_id}
    )
    assert row == {"walk_ins": 1, "checked_in": 0}


def test_an_unknown_badge_is_refused_and_kept_as_evidence(muster: Muster, plant: Plant) -> None:
    attempt = {
        "client_event_id": "x-1",
        "session_id": plant.session_id,
        "method": "badge",
        "badge_uid": "NOBODY",
    }
    (outcome,) = check_in(muster, plant.p1_token, [attempt])
    (replay,) = check_in(muster, plant.p1_token, [attempt])
    assert outcome.status_code == 201 and "type" not in outcome.body
    assert outcome.body["status"] == "rejected" and outcome.body["employee"] is None
    assert outcome.body["reason"] == "unknown_badge"
    assert outcome.body["message"] == "无法识别的工牌，请联系培训讲师"
    assert replay.status_code == 200 and replay.body["replayed"] is True
    assert {**replay.body, "replayed": False} == outcome.body
    muster.runner.run_once()
    rows = muster.store.fetch("SELECT presented, reason FROM rejections")
    assert rows == [{"presented": "NOBODY", "reason": "unknown_badge"}]


def test_a_manual_check_in_keeps_its_reason_and_is_taken_without_one(
    muster: Muster, plant: Plant
) -> None:
    """CONTRACT.md's check-in has no `reason`: a script's manual check-in without one is
    taken (marked manual); the kiosk always sends the reason the trainer picked."""
    manual = {"session_id": plant.session_id, "method": "manual"}
    (with_reason,) = check_in(
        muster,
        plant.p1_token,
        [{**manual, "client_event_id": "m-1", "employee_id": "E03", "reason": "工牌遗忘"}],
    )
    (without,) = check_in(
        muster, plant.p1_token, [{**manual, "client_event_id": "m-2", "employee_id": "E04"}]
    )
    for answer in (with_reason, without):
        assert answer.status_code == 201 and answer.body["status"] == "accepted"
        assert "manual" in answer.body["flags"]
    assert with_reason.body["employee"] == {"id": "E03", "name": "员工E03"}
    muster.runner.run_once()
    rows = muster.store.fetch(
        "SELECT employee_no, reason FROM attendance WHERE method = 'manual' ORDER BY employee_no"
    )
    assert [(r["employee_no"], r["reason"]) for r in rows] == [("E03", "工牌遗忘"), ("E04", None)]


def test_a_mixed_batch_answers_each_item_from_what_is_stored(muster: Muster, plant: Plant) -> None:
    """Badge and manual items, people already checked in and an unknown session in one batch:
    each item gets its own answer, looked up together for the whole batch."""
    (earlier,) = check_in(muster, plant.p1_token, [badge(plant, "E04")])
    manual = {
        "session_id": plant.session_id,
        "method": "manual",
        "reason": "工牌遗忘",
    }
    batch = [
        badge(plant, "E05"),
        {**manual, "client_event_id": "m-06", "employee_id": "E06"},
        {**manual, "client_event_id": "m-04", "employee_id": "E04"},  # came by badge before
        badge(plant, "E07", session_id=str(uuid.uuid4())),
        {**manual, "client_event_id": "m-06-again", "employee_id": "E06"},
    ]
    results = check_in(muster, plant.p1_token, batch, offline=True)
    assert [o.status_code for o in results] == [201, 201, 200, 404, 200]
    assert results[2].body["checkin_id"] == earlier.body["checkin_id"]
    assert "duplicate_checkin" in results[2].body["flags"]
    assert results[3].body["type"].endswith("unknown-session")
    assert results[4].body["checkin_id"] == results[1].body["checkin_id"]
    assert stored_attendance(muster) == 3


def test_a_session_of_another_plant_is_refused(muster: Muster, plant: Plant) -> None:
    other = badge(plant, "E15", session_id=plant.other_plant_session_id)
    (outcome,) = check_in(muster, plant.p1_token, [other])
    assert outcome.status_code == 403
    assert outcome.body["type"].endswith("session-other-plant")
    assert stored_attendance(muster) == 0


def test_cross_plant_trainee_checks_in_with_the_host_plant_device(
    muster: Muster, plant: Plant
) -> None:
    (outcome,) = check_in(muster, plant.p1_token, [badge(plant, "E15")])  # employee of plant P2
    assert outcome.status_code == 201 and outcome.body["status"] == "accepted"


def test_revoked_device_is_refused_and_nothing_changes(muster: Muster, plant: Plant) -> None:
    check_in(muster, plant.p1_token, [badge(plant, "E04")])
    muster.app.revoke_device("tablet-p1", "lost", "test")
    muster.runner.run_once()
    with pytest.raises(DeviceNotRecognised):
        check_in(muster, plant.p1_token, [badge(plant, "E05")])
    assert stored_attendance(muster) == 1


def test_one_bad_item_never_fails_the_others(muster: Muster, plant: Plant) -> None:
    batch: list[Any] = [
        badge(plant, "E06"),
        {"client_event_id": 5},
        "nonsense",
        badge(plant, "E07", session_id="not-a-session"),
        badge(plant, "E08"),
    ]
    results = check_in(muster, plant.p1_token, batch, offline=True)
    assert [o.status_code for o in results] == [201, 422, 422, 404, 201]
    assert stored_attendance(muster) == 2


def test_offline_sync_uses_the_corrected_device_time(muster: Muster, plant: Plant) -> None:
    now = datetime.now(UTC)
    # The tablet's clock is 30 minutes fast; it queued the check-in 4 minutes before sending.
    sent_at = now + timedelta(minutes=30)
    device_time = sent_at - timedelta(minutes=4)
    (outcome,) = check_in(
        muster,
        plant.p1_token,
        [badge(plant, "E09", device_time=device_time.isoformat())],
        offline=True,
        sent_at=sent_at,
    )
    assert outcome.status_code == 201
    assert "clock_skew" in outcome.body["flags"] and "offline_sync" in outcome.body["flags"]
    muster.runner.run_once()
    row = muster.store.fetch_one(
        "SELECT checked_in_at FROM attendance WHERE employee_no = 'E09' AND session_id = :s",
        {"s": plant.session_id},
    )
    assert row is not None
    at = datetime.fromisoformat(row["checked_in_at"])
    assert abs((now - timedelta(minutes=4)) - at) < timedelta(seconds=5)


def test_group_commit_keeps_the_others_when_one_is_a_duplicate(
    muster: Muster, plant: Plant
) -> None:
    sid = uuid.UUID(plant.session_id)

    def attendance(no: str) -> Attendance:
        return Attendance(
            session_id=sid,
            employee_no=no,
            employee_name=no,
            dept=None,
            method="badge",
            attendance_status="present",
            flags=[],
            checked_in_at=datetime.now(UTC),
            device_id=None,
            device_time=None,
            device_seq=None,
            client_event_id=no,
            reason=None,
            evidence={},
            actor="t",
        )

    muster.committer.save(attendance("E10"))
    futures = [muster.committer.submit(attendance(no)) for no in ("E11", "E10", "E12")]
    outcomes = []
    for f in futures:
        try:
            f.result(timeout=10)
            outcomes.append("ok")
        except IntegrityError:
            outcomes.append("duplicate")
    assert outcomes == ["ok", "duplicate", "ok"]
    assert stored_attendance(muster) == 3
    # a batch's aggregates share one future with one outcome each
    each = muster.committer.submit_each([attendance(no) for no in ("E13", "E11", "E14")])
    assert [type(o).__name__ for o in each.result(timeout=10)] == [
        "NoneType",
        "IntegrityError",
        "NoneType",
    ]
    assert stored_attendance(muster) == 5
