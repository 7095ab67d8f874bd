"""Session notices beyond the phone: a moved session reaches, besides the phone page, the
e-mail address of each affected employee who has one (a real local SMTP server) and the
webhooks of their org unit that asked for `session_notice` (a real local HTTP receiver),
once per event and person — reading the log again, or a second process, sends nothing
twice; a webhook that did not ask gets none; a receiver that keeps failing is retried and
then kept as dead."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from app.bootstrap import Muster, build
from app.domain.org import Employee
from app.domain.training import TrainingSession
from tests.conftest import Plant, load_plant, make_settings
from tests.integration import test_report_delivery
from tests.integration.test_report_delivery import Mailbox
from tests.support.clock import ManualClock

mailbox, posts = test_report_delivery.mailbox, test_report_delivery.posts
ROSTER = [f"E{n:02d}" for n in range(1, 13)] + ["E15"]
TEAM = [f"E{n:02d}" for n in range(1, 9)]  # W1-T1


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def wired(
    backend: str,
    tmp_path: Path,
    pg_schema: str,
    mailbox: tuple[int, Mailbox],
    clock: ManualClock,
) -> Iterator[tuple[Muster, Plant]]:
    settings = make_settings(
        backend, tmp_path, pg_schema, smtp_port=mailbox[0], alert_delivery_attempts=2
    )
    muster = build(settings, clock=clock)
    plant = load_plant(muster)
    yield muster, plant
    muster.close()


def give_address(muster: Muster, employee_no: str, address: str) -> None:
    row = muster.store.fetch_one(
        "SELECT id FROM employees WHERE employee_no = :no", {"no": employee_no}
    )
    assert row is not None
    person = muster.app.repository.get(UUID(row["id"]))
    assert isinstance(person, Employee)
    person.change_details(person.name, None, address, None, "test")
    muster.app.save(person)


def move_later_session(muster: Muster, plant: Plant, room: str) -> None:
    later = muster.app.repository.get(UUID(plant.later_session_id))
    assert isinstance(later, TrainingSession)
    later.reschedule(later.starts_at, later.ends_at, room, "user:hr")
    muster.app.save(later)


def deliver(muster: Muster) -> None:
    muster.runner.run_once()
    muster.notices.run_until_idle()
    muster.notice_delivery.run_until_idle()


def mails(box: Mailbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(m, policy=email.policy.default)  # type: ignore[misc]
        for m in box.messages
    ]


def test_a_moved_session_reaches_addresses_and_opted_in_webhooks_once(
    wired: tuple[Muster, Plant],
    mailbox: tuple[int, Mailbox],
    posts: tuple[str, list[dict[str, object]]],
) -> None:
    muster, plant = wired
    url, received = posts
    give_address(muster, "E05", "e05@plant.example")
    give_address(muster, "E20", "e20@plant.example")  # not on the roster
    muster.app.add_webhook(url, "json", "W1-T1", ["session_notice"], "test")
    muster.app.add_webhook(url + "?alerts", "json", "P1", [], "test")  # alerts only
    deliver(muster)

    move_later_session(muster, plant, "培训室C")
    deliver(muster)
    [mail] = mails(mailbox[1])
    assert mail["To"] == "e05@plant.example"
    assert mail["Subject"] == "您的培训有变动"
    assert "培训室C" in mail.get_content() and "改到" in mail.get_content()
    assert sorted(str(p["alert"]["employee_no"]) for p in received) == TEAM  # type: ignore[index]
    assert {p["notice"] for p in received} == {"rescheduled"}
    assert all("培训室C" in str(p["text"]) for p in received)

    # the log read again from the start, and a second process: nothing goes out twice
    with muster.store.transaction() as tx:
        tx.execute(
            "UPDATE projection_tracking SET position = 0 "
            "WHERE name IN ('notice_delivery', 'session_notices')"
        )
    deliver(muster)
    again = build(muster.settings, muster.adapters)
    try:
        again.notice_delivery.run_until_idle()
    finally:
        again.close()
    assert len(mailbox[1].messages) == 1 and len(received) == len(TEAM)
    states = muster.store.fetch("SELECT state, COUNT(*) AS n FROM notice_jobs GROUP BY state")
    assert [(r["state"], r["n"]) for r in states] == [("sent", len(TEAM) + 1)]


def test_a_receiver_that_keeps_failing_is_retried_then_kept_as_dead(
    wired: tuple[Muster, Plant], clock: ManualClock
) -> None:
    muster, plant = wired
    # nothing listens here: every attempt is refused
    muster.app.add_webhook("http://127.0.0.1:9/hook", "json", "W1-T1", ["session_notice"], "t")
    deliver(muster)
    move_later_session(muster, plant, "培训室C")
    deliver(muster)
    jobs = muster.store.fetch("SELECT attempt, state, error FROM notice_jobs")
    assert len(jobs) == len(TEAM) and {(j["attempt"], j["state"]) for j in jobs} == {(2, "due")}
    clock.advance(seconds=60)
    muster.notice_delivery.run_until_idle()
    jobs = muster.store.fetch("SELECT attempt, state, error FROM notice_jobs")
    assert {(j["attempt"], j["state"]) for j in jobs} == {(2, "dead")}
    assert all(j["error"] for j in jobs)
