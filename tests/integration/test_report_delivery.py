"""Scheduled custom reports delivered through the alerts' channels, on a clock the test moves:
a real local SMTP server (aiosmtpd) gets a mail with the CSV, a real local HTTP receiver the
JSON summary, a login its in-app inbox; once per period, and every delivery is an event."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from litestar.testing import TestClient

from app.bootstrap import Muster, build
from app.stores.base import from_iso
from app.web.app import create_app
from tests.conftest import free_port, load_plant, make_settings
from tests.support.clock import ManualClock as Clock

PLANT_TZ = ZoneInfo("Asia/Shanghai")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def posts() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback: (its URL, the JSON bodies it got)."""
    port, received = free_port(), []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/reports", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def mailbox() -> Iterator[tuple[int, Mailbox]]:
    box, port = Mailbox(), free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    yield port, box
    smtp.stop()


@pytest.fixture
def wired(
    backend: str, tmp_path: Path, pg_schema: str, mailbox: tuple[int, Mailbox]
) -> Iterator[tuple[Muster, Clock]]:
    # a Sunday evening in the plant: the daily report is due at 07:00 on Monday
    clock = Clock(datetime(2026, 12, 6, 20, 0, tzinfo=PLANT_TZ).astimezone(UTC))
    muster = build(make_settings(backend, tmp_path, pg_schema, smtp_port=mailbox[0]), clock=clock)
    load_plant(muster)
    yield muster, clock
    muster.close()


def deliver(muster: Muster) -> datetime | None:
    muster.runner.run_once()
    muster.report_delivery.run_until_idle()
    due = muster.report_delivery.run_once()
    muster.runner.run_once()
    return due


def sent_events(muster: Muster, report_id: UUID) -> list[Any]:
    return [e for e in muster.app.events.get(report_id) if type(e).__name__ == "ReportSent"]


def test_a_daily_report_reaches_mail_webhook_and_inbox_once_per_day(
    wired: tuple[Muster, Clock],
    mailbox: tuple[int, Mailbox],
    posts: tuple[str, list[dict[str, Any]]],
) -> None:
    muster, clock = wired
    url, received = posts
    box = mailbox[1]
    muster.app.add_webhook(url, "json", "P1", [], "test")
    report = muster.app.save_report(
        "hr",
        "每日参训",
        "P1",
        ["workshop"],
        ["expected", "attended", "participation"],
        "daily",
        ["sz1", "plant-hr@plant.example", url],
    )
    assert deliver(muster) == datetime(2026, 12, 7, 7, 0, tzinfo=PLANT_TZ)
    assert box.messages == [] and received == []  # not before 07:00

    clock.now = datetime(2026, 12, 7, 7, 0, 1, tzinfo=PLANT_TZ).astimezone(UTC)
    next_due = deliver(muster)
    assert next_due == datetime(2026, 12, 8, 7, 0, tzinfo=PLANT_TZ)
    mail = email.message_from_bytes(box.messages[0], policy=email.policy.default)
    assert mail["To"] == "plant-hr@plant.example"
    assert mail["Subject"] == "定期报表：每日参训（2026-12-07）"
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "每日参训-2026-12-07.csv"
    table = attachment.get_payload(decode=True).decode("utf-8-sig")
    assert table.splitlines()[0] == "车间,应到,实到,参训率"
    assert any(line.startswith("W1,") for line in table.splitlines()[1:])
    (body,) = received
    assert body["notice"] == "report" and body["alert"]["period"] == "2026-12-07"
    assert {r["workshop"] for r in body["alert"]["rows"]} >= {"W1", "W2"}
    inbox = muster.store.fetch("SELECT login, period FROM report_inbox")
    assert inbox == [{"login": "sz1", "period": "2026-12-07"}]
    (sent,) = sent_events(muster, report)
    assert sorted(sent.delivered) == sorted(["sz1", "plant-hr@plant.example", url])
    assert sent.failed == {}

    clock.now += timedelta(hours=3)  # later the same day: nothing again
    deliver(muster)
    assert len(box.messages) == 1 and len(received) == 1

    clock.now = datetime(2026, 12, 8, 7, 5, tzinfo=PLANT_TZ).astimezone(UTC)
    deliver(muster)
    assert len(box.messages) == 2 and len(received) == 2
    assert [e.period for e in sent_events(muster, report)] == ["2026-12-07", "2026-12-08"]


def test_a_weekly_report_goes_on_monday_and_names_who_could_not_get_it(
    wired: tuple[Muster, Clock], mailbox: tuple[int, Mailbox]
) -> None:
    muster, clock = wired
    muster.app.add_user("w3-head", "dept_head", "W3", "test", password="pw-w3-head-1")
    report = muster.app.save_report(
        "sz1",
        "周报",
        "P1",
        ["course"],
        ["participation"],
        "weekly",
        ["hr", "w3-head", "nobody", "http://127.0.0.1:9/not-registered"],
    )
    deliver(muster)
    clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=PLANT_TZ).astimezone(UTC)
    assert deliver(muster) == datetime(2026, 12, 14, 7, 0, tzinfo=PLANT_TZ)
    (sent,) = sent_events(muster, report)
    assert sent.period == "2026-W50"
    assert sent.delivered == ["hr"] and sent.inbox == ["hr"]
    assert sent.failed == {
        "w3-head": "outside_scope",
        "nobody": "unknown_login",
        "http://127.0.0.1:9/not-registered": "webhook_not_registered",
    }
    assert mailbox[1].messages == []


def test_a_report_taken_off_its_schedule_is_not_sent(wired: tuple[Muster, Clock]) -> None:
    muster, clock = wired
    args = ("hr", "月报", "G", ["plant"], ["attended"])
    report = muster.app.save_report(*args, "monthly", ["hr"])
    deliver(muster)
    assert muster.store.fetch("SELECT schedule FROM report_schedule") == [{"schedule": "monthly"}]
    muster.app.save_report(*args, "none", ["hr"])
    deliver(muster)
    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=PLANT_TZ).astimezone(UTC)
    deliver(muster)
    assert sent_events(muster, report) == []
    assert muster.store.fetch("SELECT report_id FROM report_schedule") == []


def test_the_builder_page_lists_reports_sent_to_me(wired: tuple[Muster, Clock]) -> None:
    muster, clock = wired
    muster.app.save_report("sz1", "日报", "P1", ["workshop"], ["attended"], "daily", ["hr"])
    deliver(muster)
    clock.now = datetime(2026, 12, 7, 7, 30, tzinfo=PLANT_TZ).astimezone(UTC)
    deliver(muster)
    with TestClient(create_app(muster, start_projections=False)) as client:
        token = client.post(
            "/api/v1/auth/token", json={"login": "hr", "password": "hr-password"}
        ).json()["token"]
        page = client.get(
            "/reports/custom",
            params={"lang": "zh-CN"},
            headers={"Authorization": f"Bearer {token}"},
        ).text
    inbox = page[page.index('id="inbox"') :]
    assert "发给我的报表" in inbox and "日报" in inbox and "2026-12-07" in inbox and "sz1" in inbox


class Refusing(Mailbox):
    """A mail server that answers `451` (try again later) while `refuse` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse = True
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refused += 1
            return "451 4.3.0 mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)


class Receiver:
    """A webhook receiver on loopback that answers `503` while `down` is set."""

    def __init__(self) -> None:
        self.down = True
        self.refused = 0
        self.bodies: list[dict[str, Any]] = []
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.down:
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(body)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/reports"


@pytest.fixture
def flaky(
    backend: str, tmp_path: Path, pg_schema: str
) -> Iterator[tuple[Muster, Clock, Refusing, Receiver]]:
    """A plant whose mail server and webhook both refuse until the test lets them take."""
    box, port = Refusing(), free_port()
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    hook = Receiver()
    clock = Clock(datetime(2026, 12, 6, 20, 0, tzinfo=PLANT_TZ).astimezone(UTC))
    muster = build(make_settings(backend, tmp_path, pg_schema, smtp_port=port), clock=clock)
    load_plant(muster)
    muster.app.add_webhook(hook.url, "json", "P1", [], "test")
    yield muster, clock, box, hook
    muster.close()
    hook.server.shutdown()
    hook.server.server_close()
    smtp.stop()


def retried_events(muster: Muster, report_id: UUID) -> list[Any]:
    return [
        e for e in muster.app.events.get(report_id) if type(e).__name__ == "ReportDeliveryRetried"
    ]


def test_a_refused_delivery_is_retried_within_the_period_not_the_next_day(
    flaky: tuple[Muster, Clock, Refusing, Receiver],
) -> None:
    muster, clock, box, hook = flaky
    report = muster.app.save_report(
        "hr",
        "日报",
        "P1",
        ["workshop"],
        ["attended"],
        "daily",
        ["sz1", "hr@plant.example", hook.url],
    )
    deliver(muster)
    clock.now = datetime(2026, 12, 7, 7, 0, 1, tzinfo=PLANT_TZ).astimezone(UTC)
    first_retry = deliver(muster)
    (sent,) = sent_events(muster, report)
    assert sent.delivered == ["sz1"] and set(sent.failed) == {"hr@plant.example", hook.url}
    assert "451" in sent.failed["hr@plant.example"] and "503" in sent.failed[hook.url]
    # the next try is a minute on, not tomorrow's delivery
    assert first_retry == clock.now + timedelta(minutes=1)

    clock.now = first_retry  # still down: the wait doubles
    assert deliver(muster) == clock.now + timedelta(minutes=2)
    assert (box.refused, hook.refused) == (2, 2)

    box.refuse, hook.down = False, False
    clock.now += timedelta(minutes=2)
    assert deliver(muster) == datetime(2026, 12, 8, 7, 0, tzinfo=PLANT_TZ)  # all taken
    mail = email.message_from_bytes(box.messages[0], policy=email.policy.default)
    assert mail["To"] == "hr@plant.example" and "2026-12-07" in mail["Subject"]
    assert [b["alert"]["period"] for b in hook.bodies] == ["2026-12-07"]
    assert len(sent_events(muster, report)) == 1  # still the period's one ReportSent
    tries = retried_events(muster, report)
    assert [(e.attempt, e.delivered, sorted(e.failed)) for e in tries] == [
        (2, [], sorted(["hr@plant.example", hook.url])),
        (3, ["hr@plant.example", hook.url], []),
    ]
    clock.now += timedelta(hours=5)
    deliver(muster)
    assert len(box.messages) == 1 and len(hook.bodies) == 1
    assert muster.store.fetch("SELECT recipient FROM report_retries") == []


def test_retries_stop_when_the_next_period_is_due(
    flaky: tuple[Muster, Clock, Refusing, Receiver],
) -> None:
    muster, clock, _, hook = flaky
    report = muster.app.save_report(
        "hr", "日报", "P1", ["workshop"], ["attended"], "daily", [hook.url]
    )
    deliver(muster)
    clock.now = datetime(2026, 12, 7, 7, 0, 1, tzinfo=PLANT_TZ).astimezone(UTC)
    due = deliver(muster)
    tomorrow = datetime(2026, 12, 8, 7, 0, tzinfo=PLANT_TZ)
    while due is not None and due < tomorrow:  # the receiver stays down all day
        clock.now = due
        due = deliver(muster)
    tries = retried_events(muster, report)
    # backing off from a minute, doubling up to an hour: the attempts run out in the day
    assert 1 + len(tries) == hook.refused == 8
    assert all(e.period == "2026-12-07" and e.delivered == [] for e in tries)
    assert muster.store.fetch("SELECT recipient FROM report_retries") == []
    hook.down = False
    clock.now = datetime(2026, 12, 8, 7, 0, 1, tzinfo=PLANT_TZ).astimezone(UTC)
    deliver(muster)
    assert [b["alert"]["period"] for b in hook.bodies] == ["2026-12-08"]  # not 12-07 again
    assert [e.period for e in sent_events(muster, report)] == ["2026-12-07", "2026-12-08"]


def test_periods_missed_while_down_are_made_up_once_on_start(
    backend: str, tmp_path: Path, pg_schema: str, posts: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = posts
    clock = Clock(datetime(2026, 12, 6, 20, 0, tzinfo=PLANT_TZ).astimezone(UTC))
    settings = make_settings(backend, tmp_path, pg_schema)
    muster = build(settings, clock=clock)
    load_plant(muster)
    muster.app.add_webhook(url, "json", "P1", [], "test")
    report = muster.app.save_report("hr", "日报", "P1", ["workshop"], ["attended"], "daily", [url])
    deliver(muster)
    muster.close()  # down from Sunday evening to Thursday morning

    clock.now = datetime(2026, 12, 10, 9, 0, tzinfo=PLANT_TZ).astimezone(UTC)
    # two processes start at once on the same store; each period is claimed by one of them
    started = [build(settings, clock=clock) for _ in range(2)]
    try:
        for m in started:
            m.runner.run_once()
        threads = [threading.Thread(target=m.report_delivery.run_until_idle) for m in started]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        (row,) = started[0].store.fetch("SELECT due_at FROM report_schedule")
        assert from_iso(row["due_at"]) == datetime(2026, 12, 11, 7, 0, tzinfo=PLANT_TZ)
        periods = sorted(e.period for e in sent_events(started[0], report))
        assert periods == ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10"]
        assert sorted(b["alert"]["period"] for b in received) == periods
    finally:
        for m in started:
            m.close()
