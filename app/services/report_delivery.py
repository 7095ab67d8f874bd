"""Scheduled reports: a saved custom report with a schedule goes out through the alerts'
notification port (`app.alerts.delivery.Channel`) once per period.

A follower with its own checkpoint, like the alert delivery: it reads the saved reports'
events (`ReportSaved`, `ReportChanged`, `ReportScheduled`) and keeps, beside its checkpoint
and in the same transaction, when each scheduled report is next due. Between events it
sleeps until the nearest of those deadlines (`next_delivery`: 07:00 plant time daily, on
Mondays or on the 1st). When one comes it builds the report as it stands, sends it to each
recipient and records `ReportSent` on the report (the period, who got it, who did not and
why); a report is sent once per period, even after a restart. Periods that passed while no
process ran are made up on start, oldest first, each claimed and recorded on its own.

A copy a mail server or webhook did not take is tried again within the period, backing off
(1, 2, 4 … minutes, at most an hour between tries), until it is taken, the attempts run out
or the report's next delivery is due; each further attempt is a `ReportDeliveryRetried`
event beside the period's one `ReportSent`.

Recipients are logins (the report lands in their in-app inbox: the `ReportSent` event, on
the builder page), e-mail addresses (SMTP, the table as a CSV attachment) or the URL of a
webhook plant IT registered (`muster webhooks add`: JSON, DingTalk, Feishu, WeCom). A login
whose scope does not hold the report's org unit gets nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from uuid import UUID

import structlog

from app.alerts.delivery import Channel, Notice, send
from app.alerts.follower import Follower, events_of
from app.alerts.retries import Retries
from app.analysis.builder import custom_report
from app.domain.reports import SavedReport, next_delivery, period_of
from app.stores.base import ReadStore, Row, Tx, from_iso, iso

log = structlog.get_logger(__name__)
ACTOR = "report-delivery"
#: a copy not taken is tried again after 1, 2, 4 … minutes, at most an hour apart, 8 times in all
RETRIES = Retries(attempts=8, base_s=60.0, max_s=3600.0)


@dataclass(frozen=True)
class ReportText:
    """A report worded for sending: title, body text and the table as a CSV file."""

    title: str
    text: str
    csv: bytes


#: (report facts, table rows, language) → its words; they come from the web layer's catalogue
Render = Callable[[dict[str, Any], list[Row], str], ReportText]


class ReportDelivery(Follower):
    name = "report_delivery"
    depends_on = ("saved_reports",)
    topics = events_of(SavedReport)
    tables = (
        "CREATE TABLE IF NOT EXISTS report_schedule (report_id TEXT PRIMARY KEY, "
        "schedule TEXT NOT NULL, due_at TEXT NOT NULL)",
        # copies of a period's report that a mail server or webhook did not take yet
        "CREATE TABLE IF NOT EXISTS report_retries (report_id TEXT NOT NULL, "
        "period TEXT NOT NULL, recipient TEXT NOT NULL, attempt INTEGER NOT NULL, "
        "due_at TEXT NOT NULL, until_at TEXT NOT NULL, "
        "PRIMARY KEY (report_id, period, recipient))",
    )

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        *,
        channels: dict[str, Channel],
        render: Render,
        tz: tzinfo,
        lang: str,
        on_commit: Callable[[], None] | None = None,
        retries: Retries = RETRIES,
        make_up_days: int = 31,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, store, **kwargs)
        #: how a copy not taken is tried again, within its period
        self.retries = retries
        #: periods missed longer ago than this are not made up (a log line says so)
        self.make_up = timedelta(days=make_up_days)
        self.channels = channels
        self.render = render
        self.tz = tz
        self.lang = lang
        self.on_commit = on_commit
        #: the nearest deadline (None: nothing scheduled), as of the last look at the
        #: schedule table; only events or that deadline make it look again
        self._nearest: datetime | None = None
        self._known = False

    def run_once(self) -> datetime | None:
        """Take in schedule changes, send what is due; returns the next deadline."""
        now = self.clock()
        start, end, events = self.read()
        touched = {
            str(e.originator_id)
            for _, e in events
            if type(e).__qualname__.startswith(f"{SavedReport.__name__}.")
        }
        if not touched and self._known and (self._nearest is None or now < self._nearest):
            if end > start:  # other training events: only the checkpoint moves
                with self.store.transaction() as tx:
                    self.move(tx, start, end)
            return self._nearest
        with self.store.transaction() as tx:
            if not self.move(tx, start, end):
                return None
            for report_id in touched:
                self._plan(tx, report_id, now)
        self._nearest, self._known = self._send_due(now), True
        return self._nearest

    def _plan(self, tx: Tx, report_id: str, now: datetime) -> None:
        """Keep the report's next deadline as its schedule now says."""
        found = tx.fetch(
            "SELECT r.schedule, s.schedule AS planned FROM saved_reports r "
            "LEFT JOIN report_schedule s ON s.report_id = r.id WHERE r.id = :id",
            {"id": report_id},
        )
        schedule = found[0]["schedule"] if found else "none"
        due = next_delivery(schedule, now, self.tz)
        if due is None:
            tx.execute("DELETE FROM report_schedule WHERE report_id = :id", {"id": report_id})
        elif found[0]["planned"] != schedule:
            tx.execute(
                "INSERT INTO report_schedule (report_id, schedule, due_at) "
                "VALUES (:id, :s, :due) ON CONFLICT (report_id) DO UPDATE "
                "SET schedule = :s, due_at = :due",
                {"id": report_id, "s": schedule, "due": iso(due)},
            )

    def _send_due(self, now: datetime) -> datetime | None:
        nearest: datetime | None = None
        for row in self.store.fetch("SELECT report_id, schedule, due_at FROM report_schedule"):
            due: datetime | None = from_iso(row["due_at"])
            claimed = row["due_at"]
            # periods missed while no process ran are made up one by one, oldest first,
            # each claimed on its own so it goes out once
            while due is not None and due <= now:
                following = next_delivery(row["schedule"], due, self.tz)
                if following is None or not self._claim(row["report_id"], claimed, following):
                    due = None  # another process took it and keeps the deadline
                    break
                if now - due <= self.make_up:
                    try:
                        self._send(UUID(row["report_id"]), row["schedule"], due, now)
                    except Exception:  # one report failing to build never stops the others
                        log.exception("scheduled report not sent", report=row["report_id"])
                else:
                    log.warning("missed report period too old to make up", period=iso(due))
                due, claimed = following, iso(following)
            if due is not None:
                nearest = due if nearest is None else min(nearest, due)
        retry = self._retry_due(now)
        if retry is not None:
            nearest = retry if nearest is None else min(nearest, retry)
        return nearest

    def _claim(self, report_id: str, due_at: str, following: datetime) -> bool:
        """Move the deadline on before sending (compare-and-set), so two processes never
        both send one period."""
        with self.store.transaction() as tx:
            moved = tx.fetch(
                "UPDATE report_schedule SET due_at = :next "
                "WHERE report_id = :id AND due_at = :due RETURNING report_id",
                {"next": iso(following), "id": report_id, "due": due_at},
            )
        return bool(moved)

    def _compose(self, report: SavedReport, period: str) -> tuple[Notice, str | None]:
        """The report as it stands, worded for sending, and the path of its org unit."""
        org = self.store.fetch_one("SELECT path FROM org_units WHERE code = :c", {"c": report.org})
        rows = custom_report(self.store, org["path"], report.dimensions) if org else []
        facts = {
            "report": report.name,
            "owner": report.owner,
            "org": report.org,
            "period": period,
            "dimensions": report.dimensions,
            "measures": report.measures,
        }
        words = self.render(facts, rows, self.lang)
        notice = Notice(
            {
                **facts,
                "rows": [
                    {k: r.get(k) for k in (*report.dimensions, *report.measures)} for r in rows
                ],
            },
            "report",
            words.title,
            words.text,
            attachments=((f"{report.name}-{period}.csv", "text/csv", words.csv),),
        )
        return notice, org["path"] if org else None

    def _send(self, report_id: UUID, schedule: str, due: datetime, now: datetime) -> None:
        report: SavedReport | None = self.app.get_or_none(report_id)
        if report is None or report.schedule != schedule:
            return
        period = period_of(schedule, due, self.tz)
        if report.last_period == period:
            return  # sent already (before a restart)
        notice, org_path = self._compose(report, period)
        delivered: list[str] = []
        inbox: list[str] = []
        failed: dict[str, str] = {}
        retry: list[str] = []
        for recipient in report.recipients:
            destination = self._destination(recipient, org_path)
            if isinstance(destination, str):
                failed[recipient] = destination  # no retry helps: a fact of the set-up
                continue
            if destination["fmt"] == "inbox":
                inbox.append(recipient)
                delivered.append(recipient)
                continue
            problem = self._deliver(destination, notice, recipient)
            if problem is None:
                delivered.append(recipient)
            else:
                failed[recipient] = problem
                retry.append(recipient)
        recorded = self.app.record_report_sent(report_id, period, delivered, inbox, failed, ACTOR)
        if not recorded:
            return
        if retry:
            # retried within the period: until the report's next delivery is due
            until = next_delivery(schedule, now, self.tz) or now
            with self.store.transaction() as tx:
                for recipient in retry:
                    tx.execute(
                        "INSERT INTO report_retries (report_id, period, recipient, attempt, "
                        "due_at, until_at) VALUES (:id, :period, :to, 1, :due, :until) "
                        "ON CONFLICT DO NOTHING",
                        {
                            "id": str(report_id),
                            "period": period,
                            "to": recipient,
                            "due": iso(now + self.retries.wait(1)),
                            "until": iso(until),
                        },
                    )
        if self.on_commit is not None:
            self.on_commit()

    def _deliver(self, destination: Row, notice: Notice, recipient: str) -> str | None:
        """Send one copy; the reason it was not taken, or None."""
        problem = send(self.channels, destination, notice)
        if problem is not None:
            log.warning("scheduled report not delivered", to=recipient, error=problem)
            return problem[:300]
        return None

    def _retry_due(self, now: datetime) -> datetime | None:
        """Try again the copies that failed and are due; returns the nearest later retry."""
        nearest: datetime | None = None
        due: dict[tuple[str, str], list[Row]] = {}
        for row in self.store.fetch(
            "SELECT report_id, period, recipient, attempt, due_at, until_at FROM report_retries"
        ):
            at = from_iso(row["due_at"])
            if at > now:
                nearest = at if nearest is None else min(nearest, at)
            else:
                due.setdefault((row["report_id"], row["period"]), []).append(row)
        for (report_id, period), rows in due.items():
            later = self._retry(report_id, period, rows, now)
            if later is not None:
                nearest = later if nearest is None else min(nearest, later)
        return nearest

    def _retry(
        self, report_id: str, period: str, rows: list[Row], now: datetime
    ) -> datetime | None:
        """One more attempt for each claimed copy of one report's period."""
        claimed: list[Row] = []
        nearest: datetime | None = None
        for row in rows:
            attempt = int(row["attempt"]) + 1
            # the claim holds the copy until its next try, even when this one is the last
            retry_at = now + self.retries.wait(attempt)
            last = self.retries.gives_up(attempt, retry_at, from_iso(row["until_at"]))
            key = {"id": report_id, "period": period, "to": row["recipient"]}
            with self.store.transaction() as tx:  # compare-and-set on the attempt
                taken = tx.fetch(
                    "UPDATE report_retries SET attempt = :next, due_at = :due "
                    "WHERE report_id = :id AND period = :period AND recipient = :to "
                    "AND attempt = :attempt RETURNING recipient",
                    {**key, "next": attempt, "attempt": row["attempt"], "due": iso(retry_at)},
                )
            if taken:
                claimed.append({**row, "attempt": attempt, "last": last, "retry_at": retry_at})
        if not claimed:
            return None
        report: SavedReport | None = self.app.get_or_none(UUID(report_id))
        if report is None:
            return None
        notice, org_path = self._compose(report, period)
        delivered: list[str] = []
        failed: dict[str, str] = {}
        for row in claimed:
            to = row["recipient"]
            destination = self._destination(to, org_path)
            problem = destination if isinstance(destination, str) else None
            if not isinstance(destination, str):
                problem = self._deliver(destination, notice, to)
            if problem is None:
                delivered.append(to)
            else:
                failed[to] = problem
            if problem is None or row["last"] or isinstance(destination, str):
                with self.store.transaction() as tx:
                    tx.execute(
                        "DELETE FROM report_retries WHERE report_id = :id AND period = :period "
                        "AND recipient = :to",
                        {"id": report_id, "period": period, "to": to},
                    )
            else:
                at = row["retry_at"]
                nearest = at if nearest is None else min(nearest, at)
        attempt = max(int(r["attempt"]) for r in claimed)
        self.app.record_report_retry(UUID(report_id), period, delivered, failed, attempt, ACTOR)
        if self.on_commit is not None:
            self.on_commit()
        return nearest

    def _destination(self, recipient: str, org_path: str | None) -> Row | str:
        """Where a recipient's copy goes, or the reason it cannot go anywhere."""
        if recipient.startswith(("http://", "https://")):
            hook = self.store.fetch_one(
                "SELECT w.id, w.url, w.fmt, k.secret FROM webhooks w "
                "LEFT JOIN webhook_secrets k ON k.webhook_id = w.id "
                "WHERE w.url = :url AND w.active = 1",
                {"url": recipient},
            )
            return hook if hook is not None else "webhook_not_registered"
        if "@" in recipient:
            address = recipient.removeprefix("mailto:")
            return {"url": f"mailto:{address}", "fmt": "mail"}
        user = self.store.fetch_one(
            "SELECT o.path FROM users u JOIN org_units o ON o.code = u.scope "
            "WHERE u.login = :login",
            {"login": recipient},
        )
        if user is None:
            return "unknown_login"
        if org_path is None or not org_path.startswith(user["path"]):
            return "outside_scope"
        return {"url": recipient, "fmt": "inbox"}
