"""As-of replay: what the views showed at an instant. The event log up to that instant is
projected, by the very projections the app runs, into a throwaway read store, and the same
queries the pages use read it."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from app.projections import all_projections, queries
from app.projections.runner import ProjectionRunner
from app.stores.base import iso
from app.stores.sqlite import SQLiteReadStore


@dataclass
class _LogUntil:
    """The event log as it stood at one position: nothing after it is visible."""

    recorder: Any
    last: int

    def select_notifications(
        self, start: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Any:
        stop = self.last if stop is None else min(stop, self.last)
        if start > stop:
            return []
        return self.recorder.select_notifications(
            start=start, limit=limit, stop=stop, topics=topics
        )

    def max_notification_id(self) -> int:
        return self.last


@dataclass
class _AppAsOf:
    recorder: _LogUntil
    mapper: Any


def position_at(muster: Any, instant: datetime) -> int:
    """The last log position recorded at or before `instant`."""
    muster.runner.run_once()
    row = muster.store.fetch_one(
        "SELECT MAX(position) AS p FROM audit_log WHERE at <= :at", {"at": iso(instant)}
    )
    return int(row["p"] or 0) if row else 0


async def views_as_of(muster: Any, instant: datetime, session_id: str | None) -> dict[str, Any]:
    """The session page (with `session_id`) or every plant's wallboard, as at `instant`."""
    last = position_at(muster, instant)
    with tempfile.TemporaryDirectory(prefix="muster-replay-") as tmp:
        store = SQLiteReadStore(Path(tmp) / "replay.db")
        try:
            app = _AppAsOf(_LogUntil(muster.app.recorder, last), muster.app.mapper)
            runner = ProjectionRunner(app, store, all_projections())  # type: ignore[arg-type]
            runner.rebuild()
            settings = muster.settings
            view: dict[str, Any] = {"as_of": instant.isoformat(), "position": last}
            if session_id is not None:
                detail = await queries.session_detail(
                    store, session_id, instant, muster.policy, settings.dept_alert_rate
                )
                view["session"] = detail.unredacted if detail else None
            else:
                plants = await store.afetch(
                    "SELECT code FROM org_units WHERE kind = 'plant' ORDER BY code"
                )
                view["wallboards"] = [
                    await queries.plant_board(
                        store, p["code"], instant, muster.policy, settings.dept_alert_rate
                    )
                    for p in plants
                ]
            return view
        finally:
            store.close()
