"""A follower reads only the events it follows: the store passes the rest over, its
checkpoint still moves past them, and a burst of check-ins wakes only the followers that
want check-ins. The anomaly rules save what one reading of the log raised together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.alerts.follower import Follower
from app.bootstrap import Muster
from app.domain.attendance import Attendance
from app.projections.subscriber import SubscriberRunner
from app.projections.tracking import log_head
from app.services.anomaly_rules import AnomalyRules
from tests.conftest import Plant
from tests.support.checkins import badge, check_in


class CheckInCounter(Follower):
    """Notes the check-ins it reads, three events per round at most."""

    name = "test_checkin_counter"
    topics = (Attendance.EmployeeCheckedIn,)

    def __init__(self, app: Any, store: Any) -> None:
        super().__init__(app, store, batch_size=3)
        self.seen: list[str] = []

    def run_once(self) -> datetime | None:
        start, end, events = self.read()
        self.seen += [e.employee_no for _, e in events]
        with self.store.transaction() as tx:
            self.move(tx, start, end)
        return None


def test_a_follower_reads_its_events_only_and_its_checkpoint_passes_the_others(
    muster: Muster, plant: Plant
) -> None:
    people = ["E01", "E02", "E03", "E04", "E05", "E06", "E07"]
    answers = check_in(muster, plant.p1_token, [badge(plant, no) for no in people])
    strangers = [{**badge(plant, "E01"), "badge_uid": f"NOBODY-{n}"} for n in range(5)]
    refused = check_in(muster, plant.p1_token, strangers)
    assert all(a.status_code == 201 for a in answers)
    assert all(a.status_code == 201 and a.body["status"] == "rejected" for a in refused)
    counter = CheckInCounter(muster.app, muster.store)
    counter.run_until_idle()
    assert sorted(counter.seen) == people  # each once, nothing else decoded
    assert counter.position() == log_head(muster.app)


def test_a_check_in_wakes_the_followers_of_check_ins_and_not_the_others(
    muster: Muster, plant: Plant
) -> None:
    muster.runner.run_once()
    followers = (muster.alert_engine, muster.report_delivery, muster.alert_delivery)
    for follower in followers:
        follower._wake.clear()
    check_in(muster, plant.p1_token, [badge(plant, "E01")])
    muster.runner.run_once()
    woken = {f.name for f in followers if f._wake.is_set()}
    assert woken == {"alert_engine"}  # the others look on their next poll


def test_flagged_check_ins_raise_one_anomaly_each_and_a_second_reading_raises_none_again(
    muster: Muster, plant: Plant
) -> None:
    skewed = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    people = ["E01", "E02", "E03", "E04", "E05"]
    items = [badge(plant, no, device_time=skewed, device_seq=n) for n, no in enumerate(people)]
    assert all(a.status_code == 201 for a in check_in(muster, plant.p1_token, items))
    muster.runner.run_once()

    def flagged() -> list[str]:
        return sorted(
            n.topic
            for n in muster.app.recorder.select_notifications(start=1, limit=100_000)
            if n.topic.endswith("AnomalyFlagged")
        )

    def reading() -> SubscriberRunner:
        rules = AnomalyRules(muster.app, muster.store, muster.evidence)
        return SubscriberRunner(muster.app, muster.store, rules)

    reading().run_once()
    assert len(flagged()) == len(people)  # device_clock_skew, once per check-in
    muster.runner.run_once()  # the anomalies too: the rules may read to the head
    with muster.store.transaction() as tx:
        tx.execute("UPDATE projection_tracking SET position = 0 WHERE name = 'anomaly_rules'")
    again = reading()
    again.run_once()  # the same stretch read again (a restart, another worker)
    assert len(flagged()) == len(people)
    assert again.position() == log_head(muster.app)
