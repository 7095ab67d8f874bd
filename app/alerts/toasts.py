"""Alert toasts: a follower with its own checkpoint publishes each raised, acknowledged and
resolved alert as a message on the event bus (`…live.alert.<id>`), which every web process's
hub pushes to the pages of the alert's recipients.

The checkpoint moves only after the bus took every message of the stretch (JetStream acked
it), so a worker that dies — killed, or while NATS is away — loses nothing: the next one
reads the same stretch and publishes it again with the same message ids (subject + log
position), and JetStream stores what it already had once. In the same transaction as the
checkpoint each notice (position, alert, kind) is kept in `alert_notices`: a page that
reconnects with `?since=` is replayed from there by whichever web process it reaches,
restarted or not. The alert itself is read from its row when replayed (no second copy of
its facts to erase).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from app.alerts.delivery import NOTICES, Describe, toast_message, toast_note
from app.alerts.follower import Follower
from app.alerts.queries import alert_row, alert_view
from app.domain.alerts import Alert
from app.stores.base import ReadStore

log = structlog.get_logger(__name__)

#: (subject, data, message id) messages → whether the bus took every one (from a thread)
Send = Callable[[list[tuple[str, bytes, str]]], bool]

#: the longest wait between attempts while the bus refuses the toasts (seconds)
RETRY_MAX_S = 2.0
#: notices kept in `alert_notices`: a reconnecting page is replayed at most the newest this
#: many (`notes_after`), so an older row would never be read again
KEPT_NOTICES = 1000


class AlertToasts(Follower):
    name = "alert_toasts"
    depends_on = ("alerts",)
    tables = (
        "CREATE TABLE IF NOT EXISTS alert_notices (position BIGINT PRIMARY KEY, "
        "alert_id TEXT NOT NULL, notice TEXT NOT NULL)",
    )
    topics = tuple(getattr(Alert, name) for name in NOTICES)

    def __init__(
        self,
        app: Any,
        store: ReadStore,
        *,
        describe: Describe,
        lang: str,
        kept: int = KEPT_NOTICES,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, store, **kwargs)
        self.describe = describe
        self.lang = lang
        #: rows `alert_notices` keeps: the newest this many
        self.kept = kept
        self.subject = "muster.live.alert"
        #: set where an event loop publishes (`Muster.start_alerts`); until then nothing moves
        self.send: Send | None = None
        self._failures = 0

    def run_once(self) -> datetime | None:
        start, end, events = self.read()
        if end == start:
            return None
        notes: list[tuple[int, str, str, tuple[str, bytes, str]]] = []
        for position, event in events:
            notice = NOTICES[type(event).__name__]
            alert_id = str(event.originator_id)
            row = alert_row(self.store, alert_id)
            if row is None:
                continue
            view = alert_view(row)
            _title, view["detail"] = self.describe(view, self.lang)
            message = toast_message(self.subject, position, notice, view)
            notes.append((position, alert_id, notice, message))
        if notes and not self._sent([message for *_, message in notes]):
            return None
        with self.store.transaction() as tx:
            if self.move(tx, start, end):
                for position, alert_id, notice, _message in notes:
                    tx.execute(
                        "INSERT INTO alert_notices (position, alert_id, notice) "
                        "VALUES (:p, :a, :n) ON CONFLICT (position) DO NOTHING",
                        {"p": position, "a": alert_id, "n": notice},
                    )
                if notes:  # the table keeps what a replay can still read, no more
                    tx.execute(
                        "DELETE FROM alert_notices WHERE position < (SELECT position FROM "
                        "alert_notices ORDER BY position DESC LIMIT 1 OFFSET :keep)",
                        {"keep": self.kept - 1},
                    )
        return None

    def _sent(self, messages: list[tuple[str, bytes, str]]) -> bool:
        """Publish; when the bus does not take them, wait a little (longer each time) and
        say so: the checkpoint stays and the next round tries the same messages again."""
        if self.send is not None and self.send(messages):
            if self._failures:
                log.info("alert toasts go out again", after_failures=self._failures)
            self._failures = 0
            return True
        self._failures += 1
        if self._failures == 1:
            log.warning("alert toasts wait for the bus", count=len(messages))
        self._stop.wait(min(0.1 * 2**self._failures, RETRY_MAX_S))
        return False


async def notes_after(
    store: ReadStore, since: int, limit: int, describe: Describe, lang: str
) -> list[dict[str, Any]]:
    """The newest `limit` alert notices published after log position `since`, oldest first,
    each with its alert as it stands now."""
    rows = await store.afetch(
        "SELECT n.position AS notice_position, n.notice, a.* FROM alert_notices n "
        "JOIN alerts a ON a.id = n.alert_id WHERE n.position > :since "
        "ORDER BY n.position DESC LIMIT :limit",
        {"since": since, "limit": limit},
    )
    notes = []
    for row in reversed(rows):
        view = alert_view(row)
        _title, view["detail"] = describe(view, lang)
        notes.append(toast_note(int(row["notice_position"]), row["notice"], view))
    return notes
