"""Alert delivery to a real local HTTP receiver and a real local SMTP server (aiosmtpd):
each format's body and signature, retries with backoff, the dead-letter list, and every
attempt recorded as an event."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from app.bootstrap import Muster, build
from app.settings import Settings
from tests.conftest import Plant, free_port, load_plant, make_settings
from tests.integration.test_alert_engine import Clock, settle, two_minutes_in


@dataclass
class Receiver:
    """A webhook receiver on loopback: records each POST, answers with `replies` in turn
    (then the last one again)."""

    url: str
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=lambda: [(200, {})])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    box = Receiver(f"http://127.0.0.1:{port}/hook")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.posts.append((self.path, json.loads(body)))
            status, reply = box.replies[min(len(box.posts), len(box.replies)) - 1]
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def settings(backend: str, tmp_path: Path, pg_schema: str) -> Settings:
    return make_settings(
        backend, tmp_path, pg_schema, alert_retry_base_s=30, alert_delivery_attempts=3
    )


@pytest.fixture
def muster(settings: Settings, clock: Clock) -> Iterator[Muster]:
    wired = build(settings, clock=clock)
    yield wired
    wired.close()


def add_webhook(muster: Muster, url: str, fmt: str, secret: str | None = None, **kw: Any) -> None:
    webhook = muster.app.add_webhook(url, fmt, kw.get("scope", "P1"), kw.get("rules", []), "test")
    if secret:
        with muster.store.transaction() as tx:
            tx.execute(
                "INSERT INTO webhook_secrets (webhook_id, secret) VALUES (:id, :s)",
                {"id": str(webhook), "s": secret},
            )


def deliver(muster: Muster) -> None:
    settle(muster)
    muster.alert_delivery.run_until_idle()
    muster.runner.run_once()


def late_mark(muster: Muster, clock: Clock) -> Plant:
    """The test plant past its late mark: P1's session has departments below 80%."""
    plant = load_plant(muster, started_minutes_ago=2)
    clock.now = two_minutes_in(muster, plant) + timedelta(minutes=8, seconds=1)
    return plant


def deliveries(muster: Muster) -> list[tuple[str, int, str]]:
    rows = muster.store.fetch(
        "SELECT d.outcome, d.attempt, d.notice FROM alert_deliveries d "
        "JOIN alerts a ON a.id = d.alert_id ORDER BY d.at, d.attempt"
    )
    return [(r["outcome"], r["attempt"], r["notice"]) for r in rows]


def test_a_json_webhook_gets_the_alert_as_the_api_shows_it(
    muster: Muster, clock: Clock, receiver: Receiver
) -> None:
    add_webhook(muster, receiver.url, "json", rules=["dept_rate_low"])
    late_mark(muster, clock)
    deliver(muster)
    bodies = [b for _, b in receiver.posts]
    # W3 (in P2) trains in P1 too: its alert goes to P2's webhooks
    assert {b["alert"]["subject"]["org_code"] for b in bodies} == {"W1", "W2"}
    w1 = next(b for b in bodies if b["alert"]["subject"]["org_code"] == "W1")
    assert w1["notice"] == "raised" and w1["alert"]["rule"] == "dept_rate_low"
    assert "员工E08" in w1["text"] and "冲压车间" in w1["text"]
    assert {o for o, _, _ in deliveries(muster)} == {"delivered"}


def test_dingtalk_posts_are_markdown_signed_with_the_secret(
    muster: Muster, clock: Clock, receiver: Receiver
) -> None:
    add_webhook(muster, receiver.url, "dingtalk", secret="SEC123", rules=["no_checkins"])
    receiver.replies = [(200, {"errcode": 0, "errmsg": "ok"})]
    late_mark(muster, clock)
    deliver(muster)
    (path, body), *_ = receiver.posts
    query = parse_qs(urlsplit(path).query)
    ts = query["timestamp"][0]
    expected = base64.b64encode(
        hmac.new(b"SEC123", f"{ts}\nSEC123".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]
    assert body["msgtype"] == "markdown" and "开课后无人签到" in body["markdown"]["title"]


def test_feishu_bodies_carry_their_signature_and_wecom_posts_markdown(
    muster: Muster, clock: Clock, receiver: Receiver
) -> None:
    add_webhook(muster, receiver.url + "?f", "feishu", secret="FS", rules=["no_checkins"])
    add_webhook(muster, receiver.url + "?w", "wecom", rules=["no_checkins"])
    receiver.replies = [(200, {"code": 0})]
    late_mark(muster, clock)
    deliver(muster)
    feishu = next(b for p, b in receiver.posts if p.endswith("?f"))
    key = f"{feishu['timestamp']}\nFS".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert feishu["msg_type"] == "text" and "无人签到" in feishu["content"]["text"]
    wecom = next(b for p, b in receiver.posts if p.endswith("?w"))
    assert wecom["msgtype"] == "markdown" and "无人签到" in wecom["markdown"]["content"]


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(
    muster: Muster, clock: Clock, receiver: Receiver
) -> None:
    add_webhook(muster, receiver.url, "json", rules=["no_checkins"])
    receiver.replies = [(503, {"error": "busy"})]
    late_mark(muster, clock)
    deliver(muster)
    assert deliveries(muster) == [("failed", 1, "raised")]
    deliver(muster)
    assert len(receiver.posts) == 1  # not before its backoff
    clock.advance(seconds=30)
    deliver(muster)
    assert len(receiver.posts) == 2
    clock.advance(seconds=59)
    deliver(muster)
    assert len(receiver.posts) == 2  # the second retry waits twice as long
    clock.advance(seconds=1)
    deliver(muster)
    assert deliveries(muster) == [
        ("failed", 1, "raised"),
        ("failed", 2, "raised"),
        ("dead", 3, "raised"),
    ]
    clock.advance(hours=1)  # the session is over: the alert resolves, and that notice dies too
    deliver(muster)
    assert muster.store.fetch(
        "SELECT COUNT(*) AS n FROM delivery_jobs WHERE notice = 'raised'"
    ) == [{"n": 0}]
    topics = [
        n.topic.rsplit(".", 1)[-1]
        for n in muster.app.recorder.select_notifications(start=1, limit=10_000)
    ]
    assert topics.count("AlertDeliveryFailed") >= 3


def test_a_receiver_back_after_a_failure_gets_the_notice(
    muster: Muster, clock: Clock, receiver: Receiver
) -> None:
    add_webhook(muster, receiver.url, "dingtalk", rules=["no_checkins"])
    receiver.replies = [
        (200, {"errcode": 310000, "errmsg": "sign not match"}),
        (200, {"errcode": 0}),
    ]
    late_mark(muster, clock)
    deliver(muster)
    clock.advance(seconds=30)
    deliver(muster)
    assert deliveries(muster) == [("failed", 1, "raised"), ("delivered", 2, "raised")]
    error = muster.store.fetch_one("SELECT error FROM alert_deliveries WHERE outcome = 'failed'")
    assert error is not None and "310000" in error["error"]


def test_a_webhook_gets_only_its_scopes_departments_and_its_rules(
    muster: Muster, clock: Clock, receiver: Receiver
) -> None:
    add_webhook(muster, receiver.url, "json", scope="P2", rules=["dept_rate_low"])
    late_mark(muster, clock)
    deliver(muster)
    # P2's department, in P2's session and in the session it shares in P1; nothing of P1's own
    got = sorted((b["alert"]["rule"], b["alert"]["plant"]) for _, b in receiver.posts)
    assert got == [("dept_rate_low", "P1"), ("dept_rate_low", "P2")]
    assert {b["alert"]["subject"]["org_code"] for _, b in receiver.posts} == {"W3"}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def test_mail_destinations_get_a_mail_through_smtp(
    backend: str, tmp_path: Path, pg_schema: str, clock: Clock
) -> None:
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    muster = build(make_settings(backend, tmp_path, pg_schema, smtp_port=port), clock=clock)
    try:
        add_webhook(muster, "mailto:hr@plant.example", "mail", rules=["no_checkins"])
        late_mark(muster, clock)
        deliver(muster)
    finally:
        muster.close()
        smtp.stop()
    assert len(inbox.messages) == 1
    mail = email.message_from_bytes(inbox.messages[0], policy=email.policy.default)
    assert mail["To"] == "hr@plant.example"
    assert mail["Subject"] == "开课后无人签到"
    assert "尚无人签到" in mail.get_content()
