"""Scheduled reports: a saved custom report with a schedule goes out through the alerts'
notification port (`app.alerts.delivery.Channel`) once per period.

A follower with its own checkpoint, like the alert delivery: it reads the saved reports'
events (`ReportSaved`, `ReportChanged`, `ReportScheduled`) and keeps, beside its checkpoint
and in the same transaction, when each scheduled report is next due. Between events it
sleeps until the nearest of those deadlines (`next_delivery`: 07:00 plant time daily, on
Mondays or on the 1st). When one comes it builds the report as it stands, sends it to each
recipient and records `ReportSent` on the report (the period, who got it, who did not and
why); a report is sent once per period, even after a restart.

Recipients are logins (the report lands in their in-app inbox: the `ReportSent` event, on
the builder page), e-mail addresses (SMTP, the table as a CSV attachment) or the URL of a
webhook plant IT registered (`muster webhooks add`: JSON, DingTalk, Feishu, WeCom). A login
whose scope does not hold the report's org unit gets nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from uuid import UUID

import structlog

from app.alerts.delivery import Channel, DeliveryError, Notice
from app.alerts.follower import Follower
from app.analysis.builder import custom_report
from app.domain.reports import SavedReport, next_delivery, period_of
from app.stores.base import ReadStore, Row, Tx, from_iso, iso

log = structlog.get_logger(__name__)
ACTOR = "report-delivery"


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
    tables = (
        "CREATE TABLE IF NOT EXISTS report_schedule (report_id TEXT PRIMARY KEY, "
        "schedule TEXT NOT NULL, due_at TEXT NOT NULL)",
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
        **kwargs: Any,
    ) -> None:
        super().__init__(app, store, **kwargs)
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
            due = from_iso(row["due_at"])
            if due <= now:
                # missed periods (the server was off) are not made up: one delivery, then on
                following = next_delivery(row["schedule"], now, self.tz)
                if following is None or not self._claim(row, following):
                    continue  # another process took it
                try:
                    self._send(UUID(row["report_id"]), row["schedule"], due)
                except Exception:  # one report failing to build never stops the others
                    log.exception("scheduled report not sent", report=row["report_id"])
                due = following
            nearest = due if nearest is None else min(nearest, due)
        return nearest

    def _claim(self, row: Row, following: datetime) -> bool:
        """Move the deadline on before sending (compare-and-set), so two processes never
        both send one period."""
        with self.store.transaction() as tx:
            moved = tx.fetch(
                "UPDATE report_schedule SET due_at = :next "
                "WHERE report_id = :id AND due_at = :due RETURNING report_id",
                {"next": iso(following), "id": row["report_id"], "due": row["due_at"]},
            )
        return bool(moved)

    def _send(self, report_id: UUID, schedule: str, due: datetime) -> None:
        report: SavedReport | None = self.app.get_or_none(report_id)
        if report is None or report.schedule != schedule:
            return
        period = period_of(schedule, due, self.tz)
        if report.last_period == period:
            return  # sent already (before a restart)
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
        name = f"{report.name}-{period}.csv"
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
            attachments=((name, "text/csv", words.csv),),
        )
        delivered: list[str] = []
        inbox: list[str] = []
        failed: dict[str, str] = {}
        for recipient in report.recipients:
            destination = self._destination(recipient, org["path"] if org else None)
            if isinstance(destination, str):
                failed[recipient] = destination
                continue
            if destination["fmt"] == "inbox":
                inbox.append(recipient)
                delivered.append(recipient)
                continue
            channel = self.channels["mail" if destination["fmt"] == "mail" else "webhook"]
            try:
                channel.send(destination, notice)
            except DeliveryError as exc:
                failed[recipient] = str(exc)[:300]
                log.warning("scheduled report not delivered", to=recipient, error=str(exc))
            else:
                delivered.append(recipient)
        recorded = self.app.record_report_sent(report_id, period, delivered, inbox, failed, ACTOR)
        if recorded and self.on_commit is not None:
            self.on_commit()

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
