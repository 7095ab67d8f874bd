"""Alert delivery: follows the log for raised, acknowledged and resolved alerts and tells
people, through one port (`Channel`) with an adapter per kind of destination.

- Every page a recipient has open gets a toast at once (`app.alerts.toasts`, a follower of
  its own: a toast waits for NATS, a webhook does not).
- Webhooks (JSON, DingTalk, Feishu, WeCom) and mail (`mailto:`) registered for a scope that
  holds the alert get a job, stored with the checkpoint; jobs run on a small thread pool so a
  slow receiver holds up nobody else. A failed attempt is retried with exponential backoff;
  after the last one the notice is dead (the dead-letter list). Every attempt's outcome is an
  event on the alert (`AlertDelivered`, `AlertDeliveryFailed`).
"""

from __future__ import annotations

import json
import smtplib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import httpx
import structlog

from app.alerts.follower import Follower, events_of
from app.alerts.formats import refusal, webhook_request
from app.alerts.queries import alert_row, alert_view, webhooks_for
from app.alerts.retries import Retries
from app.domain.alerts import Alert
from app.stores.base import ReadStore, Row, iso

log = structlog.get_logger(__name__)

#: (alert view, language) → (title, text): the words come from the web layer's catalogue
Describe = Callable[[dict[str, Any], str], tuple[str, str]]
NOTICES = {
    "AlertRaised": "raised",
    "AlertAcknowledged": "acknowledged",
    "AlertResolved": "resolved",
}


def toast_message(
    prefix: str, position: int, notice: str, view: dict[str, Any]
) -> tuple[str, bytes, str]:
    """The bus message (subject, data, message id) of an alert notice at log `position`.

    The id starts with the subject, which names the deployment: on a NATS shared by several
    deployments a bare log position would equal another deployment's, and JetStream would
    drop ours as a duplicate of theirs."""
    subject = f"{prefix}.{view['id']}"
    body = json.dumps(toast_note(position, notice, view), ensure_ascii=False).encode()
    return subject, body, f"{subject}:{position}"


def toast_note(position: int, notice: str, view: dict[str, Any]) -> dict[str, Any]:
    """What the hubs are told of an alert notice at log `position` (`view` with `detail`)."""
    return {"type": "alert", "id": view["id"], "version": position, "notice": notice, "alert": view}


class DeliveryError(Exception):
    """The destination did not take the notice."""


@dataclass(frozen=True)
class Notice:
    """One notice (an alert's, or a scheduled report's) for one destination, worded in the
    plant's language; mail carries the `attachments` (file name, MIME type, bytes)."""

    alert: dict[str, Any]
    notice: str
    title: str
    text: str
    attachments: tuple[tuple[str, str, bytes], ...] = ()


class Channel(ABC):
    """The notification port: one adapter per kind of destination."""

    @abstractmethod
    def send(self, destination: Row, notice: Notice) -> None:
        """Deliver or raise `DeliveryError`."""


def send(channels: dict[str, Channel], destination: Row, notice: Notice) -> str | None:
    """Hand `notice` to the channel for the destination's kind (mail, or else a webhook);
    returns why the destination did not take it, or None when it did."""
    channel = channels["mail" if destination["fmt"] == "mail" else "webhook"]
    try:
        channel.send(destination, notice)
    except DeliveryError as exc:
        return str(exc)
    return None


class WebhookChannel(Channel):
    """HTTP POST in the destination's format (`app.alerts.formats`)."""

    def __init__(self, clock: Callable[[], datetime], timeout_s: float = 5.0) -> None:
        self.clock = clock
        self.client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def send(self, destination: Row, notice: Notice) -> None:
        request = webhook_request(
            destination["fmt"],
            destination["url"],
            destination.get("secret"),
            notice.alert,
            notice.notice,
            notice.title,
            notice.text,
            self.clock().timestamp(),
        )
        try:
            reply = self.client.post(request.url, content=request.body, headers=request.headers)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        problem = refusal(destination["fmt"], reply.status_code, reply.content)
        if problem:
            raise DeliveryError(problem)


class MailChannel(Channel):
    """Plain SMTP to the address of a `mailto:` destination."""

    def __init__(self, host: str, port: int, sender: str, timeout_s: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout_s = timeout_s

    def send(self, destination: Row, notice: Notice) -> None:
        address = unquote(urlsplit(destination["url"]).path)
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = notice.title
        if notice.attachments:
            message.set_content(notice.text)
        else:
            message.set_content(f"{notice.text}\n\n{json.dumps(notice.alert, ensure_ascii=False)}")
        for filename, mime, data in notice.attachments:
            kind, _, sub = mime.partition("/")
            message.add_attachment(data, maintype=kind, subtype=sub, filename=filename)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


class AlertDelivery(Follower):
    name = "alert_delivery"
    depends_on = ("alerts",)
    topics = events_of(Alert)
    tables = (
        "CREATE TABLE IF NOT EXISTS delivery_jobs (alert_id TEXT NOT NULL, "
        "destination TEXT NOT NULL, notice TEXT NOT NULL, attempt INTEGER NOT NULL, "
        "due_at TEXT NOT NULL, PRIMARY KEY (alert_id, destination, notice))",
        "CREATE INDEX IF NOT EXISTS delivery_jobs_due ON delivery_jobs (due_at)",
        # signing secrets of DingTalk and Feishu robots: never in an event
        "CREATE TABLE IF NOT EXISTS webhook_secrets (webhook_id TEXT PRIMARY KEY, "
        "secret TEXT NOT NULL)",
    )

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        *,
        channels: dict[str, Channel],
        describe: Describe,
        lang: str,
        retries: Retries,
        on_commit: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, store, **kwargs)
        self.channels = channels
        self.describe = describe
        self.lang = lang
        self.retries = retries
        self.on_commit = on_commit
        #: attempts run here while the thread runs; `run_once` alone (tests) runs them inline
        self._pool: ThreadPoolExecutor | None = None
        self._running: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alert-delivery")
        super().start()

    def stop(self) -> None:
        super().stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # -- following the log -----------------------------------------------------------------

    def run_once(self) -> datetime | None:
        now = self.clock()
        start, end, events = self.read()
        jobs: list[tuple[str, str, str]] = []
        for _position, e in events:
            notice = NOTICES.get(type(e).__name__)
            if notice is None:
                continue
            alert_id = str(e.originator_id)
            if notice == "acknowledged":
                continue
            row = alert_row(self.store, alert_id)
            if row is not None:
                jobs.extend((alert_id, w["id"], notice) for w in webhooks_for(self.store, row))
        with self.store.transaction() as tx:
            if not self.move(tx, start, end):
                return None
            for alert_id, destination, notice in jobs:
                tx.execute(
                    "INSERT INTO delivery_jobs (alert_id, destination, notice, attempt, due_at) "
                    "VALUES (:a, :d, :n, 1, :at) ON CONFLICT (alert_id, destination, notice) "
                    "DO NOTHING",
                    {"a": alert_id, "d": destination, "n": notice, "at": iso(now)},
                )
        return self._start_due(now)

    # -- jobs --------------------------------------------------------------------------------

    def _start_due(self, now: datetime) -> datetime | None:
        rows = self.store.fetch(
            "SELECT alert_id, destination, notice, attempt, due_at FROM delivery_jobs "
            "ORDER BY due_at"
        )
        next_due: datetime | None = None
        for job in rows:
            key = (job["alert_id"], job["destination"], job["notice"])
            due = datetime.fromisoformat(job["due_at"])
            with self._lock:
                if key in self._running:
                    continue
                if due > now:
                    next_due = due if next_due is None else min(next_due, due)
                    continue
                self._running.add(key)
            if self._pool is None:
                self._attempt(job)
            else:
                self._pool.submit(self._attempt, job)
        return next_due

    def _attempt(self, job: Row) -> None:
        key = (job["alert_id"], job["destination"], job["notice"])
        try:
            self._deliver(job)
        except Exception:
            log.exception("delivery attempt could not be recorded", job=key)
        finally:
            with self._lock:
                self._running.discard(key)
            self.wake()

    def _deliver(self, job: Row) -> None:
        destination = self.store.fetch_one(
            "SELECT w.id, w.url, w.fmt, w.active, k.secret FROM webhooks w "
            "LEFT JOIN webhook_secrets k ON k.webhook_id = w.id WHERE w.id = :id",
            {"id": job["destination"]},
        )
        row = alert_row(self.store, job["alert_id"])
        attempt = int(job["attempt"])
        if destination is None or row is None or not destination["active"]:
            self._finish(job, None)
            return
        view = alert_view(row)
        title, view["detail"] = self.describe(view, self.lang)
        outcome: dict[str, Any] = {
            "destination": destination["url"],
            "channel": destination["fmt"],
            "notice": job["notice"],
            "attempt": attempt,
        }
        problem = send(
            self.channels, destination, Notice(view, job["notice"], title, view["detail"])
        )
        if problem is None:
            self.app.record_delivery(UUID(job["alert_id"]), **outcome, at=self.clock())
            self._finish(job, None)
        else:
            retry_at = self.retries.retry_at(attempt, self.clock())
            self.app.record_delivery(
                UUID(job["alert_id"]),
                **outcome,
                error=problem[:500],
                final=retry_at is None,
                retry_at=retry_at,
                at=self.clock(),
            )
            log.warning("alert delivery failed", destination=destination["url"], error=problem)
            self._finish(job, retry_at)
        if self.on_commit is not None:
            self.on_commit()

    def _finish(self, job: Row, retry_at: datetime | None) -> None:
        """Delete the job, or move it to its next attempt."""
        params = {"a": job["alert_id"], "d": job["destination"], "n": job["notice"]}
        with self.store.transaction() as tx:
            if retry_at is None:
                tx.execute(
                    "DELETE FROM delivery_jobs WHERE alert_id = :a AND destination = :d "
                    "AND notice = :n",
                    params,
                )
            else:
                tx.execute(
                    "UPDATE delivery_jobs SET attempt = attempt + 1, due_at = :at "
                    "WHERE alert_id = :a AND destination = :d AND notice = :n",
                    {**params, "at": iso(retry_at)},
                )
