"""Session notices beyond the phone: each notice `SessionNotices` records (a session moved,
called off, its roster or details changed) also goes, through the alerts' notification port
(`app.alerts.delivery.Channel`), to the employee's e-mail address when the plant imported
one, and to the webhooks registered for the employee's org unit whose rules name
`session_notice` (a team's group robot; a webhook without rules gets alerts only).

A follower with its own checkpoint that never passes the notices' one: beside its checkpoint,
in the same transaction, it writes one job per notice, person and destination, so each goes
out once however often the log is read (a job stays, `state` due → sent, or dead after the
last attempt, with the error). Jobs are claimed with a compare-and-set before they are sent
(two workers never both send one) and retried with backoff. The address is looked up when
the job is sent: an erased person's address is gone, and the job with it (`gone`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from app.alerts.delivery import Channel, Notice, send
from app.alerts.follower import Follower
from app.alerts.retries import Retries
from app.services.session_notices import SessionNotices
from app.stores.base import ReadStore, Row, from_iso, iso

log = structlog.get_logger(__name__)

#: the webhook rule that opts a webhook in to session notices
RULE = "session_notice"
#: (kind, facts, language) → (title, text): the words come from the web layer's catalogue
Words = Callable[[str, dict[str, Any], str], tuple[str, str]]
#: a claimed job is left alone this long before another round may take it again
LEASE = timedelta(minutes=2)
#: jobs sent per round
ROUND = 100

JOBS = (
    # the employee's own address (looked up again when sent)
    "INSERT INTO notice_jobs (position, employee_no, destination, attempt, due_at, state) "
    "SELECT n.position, n.employee_no, 'mail', 1, :at, 'due' FROM session_notices n "
    "JOIN employee_details d ON d.employee_no = n.employee_no "
    "WHERE n.position > :start AND n.position <= :end AND d.email LIKE '%@%' "
    "ON CONFLICT DO NOTHING",
    # webhooks of an org unit holding the employee's, opted in by their rules
    "INSERT INTO notice_jobs (position, employee_no, destination, attempt, due_at, state) "
    "SELECT n.position, n.employee_no, w.id, 1, :at, 'due' FROM session_notices n "
    "JOIN employees e ON e.employee_no = n.employee_no "
    "JOIN org_units o ON o.code = e.org_unit "
    "JOIN webhooks w ON w.active = 1 AND w.rules LIKE :rule "
    "JOIN org_units s ON s.code = w.scope "
    "WHERE n.position > :start AND n.position <= :end AND o.path LIKE s.path || '%' "
    "ON CONFLICT DO NOTHING",
)


class NoticeDelivery(Follower):
    name = "notice_delivery"
    # the notices, and the rows that say where they go: people, addresses, webhooks
    depends_on = ("session_notices", "directory", "plans", "alerts")
    topics = SessionNotices.topics
    tables = (
        "CREATE TABLE IF NOT EXISTS notice_jobs (position BIGINT NOT NULL, "
        "employee_no TEXT NOT NULL, destination TEXT NOT NULL, attempt INTEGER NOT NULL, "
        "due_at TEXT NOT NULL, state TEXT NOT NULL, error TEXT, "
        "PRIMARY KEY (position, employee_no, destination))",
        "CREATE INDEX IF NOT EXISTS notice_jobs_due ON notice_jobs (state, due_at)",
    )

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        *,
        channels: dict[str, Channel],
        words: Words,
        lang: str,
        retries: Retries,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, store, **kwargs)
        self.channels = channels
        self.words = words
        self.lang = lang
        self.retries = retries
        #: the nearest job deadline as of the last look (None: no job waits)
        self._nearest: datetime | None = None
        self._known = False

    def run_once(self) -> datetime | None:
        """Take in new notices as jobs, send what is due; returns the next deadline."""
        now = self.clock()
        start, end, _events = self.read()
        if end > start:
            with self.store.transaction() as tx:
                if not self.move(tx, start, end):
                    return None
                params = {"start": start, "end": end, "at": iso(now), "rule": f'%"{RULE}"%'}
                for statement in JOBS:
                    tx.execute(statement, params)
            self._known = False
        if self._known and (self._nearest is None or now < self._nearest):
            return self._nearest  # nothing new, nothing due: no query
        self._nearest, self._known = self._send_due(now), True
        return self._nearest

    def _send_due(self, now: datetime) -> datetime | None:
        rows = self.store.fetch(
            "SELECT position, employee_no, destination, attempt, due_at FROM notice_jobs "
            "WHERE state = 'due' AND due_at <= :now ORDER BY due_at LIMIT :n",
            {"now": iso(now), "n": ROUND},
        )
        for job in rows:
            if self._claim(job, now + LEASE):
                self._send(job, now)
        nearest = self.store.fetch_one(
            "SELECT MIN(due_at) AS due FROM notice_jobs WHERE state = 'due'", {}
        )
        return from_iso(nearest["due"]) if nearest and nearest["due"] else None

    def _claim(self, job: Row, until: datetime) -> bool:
        with self.store.transaction() as tx:
            return bool(
                tx.fetch(
                    "UPDATE notice_jobs SET due_at = :until WHERE position = :p "
                    "AND employee_no = :no AND destination = :d AND due_at = :due "
                    "RETURNING position",
                    {**self._key(job), "until": iso(until), "due": job["due_at"]},
                )
            )

    def _send(self, job: Row, now: datetime) -> None:
        notice = self.store.fetch_one(
            "SELECT session_id, kind, facts, at FROM session_notices "
            "WHERE position = :p AND employee_no = :no",
            self._key(job),
        )
        destination = self._destination(job)
        if notice is None or destination is None:
            self._finish(job, "UPDATE notice_jobs SET state = 'gone'", {})
            return
        facts = json.loads(notice["facts"])
        title, text = self.words(notice["kind"], facts, self.lang)
        about = {"type": RULE, "employee_no": job["employee_no"], **notice, "facts": facts}
        problem = send(self.channels, destination, Notice(about, notice["kind"], title, text))
        if problem is None:
            self._finish(job, "UPDATE notice_jobs SET state = 'sent', error = NULL", {})
            return
        log.warning("session notice not delivered", job=self._key(job), error=problem)
        retry_at = self.retries.retry_at(int(job["attempt"]), now)
        if retry_at is None:  # the dead-letter list
            self._finish(job, "UPDATE notice_jobs SET state = 'dead', error = :e", {"e": problem})
        else:
            update = "UPDATE notice_jobs SET attempt = attempt + 1, due_at = :at, error = :e"
            self._finish(job, update, {"at": iso(retry_at), "e": problem[:500]})

    def _destination(self, job: Row) -> Row | None:
        if job["destination"] == "mail":
            row = self.store.fetch_one(
                "SELECT email FROM employee_details WHERE employee_no = :no",
                {"no": job["employee_no"]},
            )
            if row is None or "@" not in (row["email"] or ""):
                return None  # erased, or the address was taken away meanwhile
            return {"url": f"mailto:{row['email']}", "fmt": "mail"}
        return self.store.fetch_one(
            "SELECT w.id, w.url, w.fmt, k.secret FROM webhooks w "
            "LEFT JOIN webhook_secrets k ON k.webhook_id = w.id "
            "WHERE w.id = :id AND w.active = 1",
            {"id": job["destination"]},
        )

    @staticmethod
    def _key(job: Row) -> dict[str, Any]:
        return {"p": job["position"], "no": job["employee_no"], "d": job["destination"]}

    def _finish(self, job: Row, change: str, params: dict[str, Any]) -> None:
        with self.store.transaction() as tx:
            tx.execute(  # `change` is one of this module's constant statements
                f"{change} WHERE position = :p AND employee_no = :no AND destination = :d",  # nosec B608
                {**self._key(job), **params},
            )
