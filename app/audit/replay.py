"""As-of replay: what the views showed at an instant. The event log up to that instant is
projected, by the very projections the app runs, into a throwaway read store, and the same
queries the pages use read it (`muster replay --as-of` and the auditor's as-of page)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.projections import all_projections, queries
from app.projections.anomaly_queries import AnomalyFilter, find_anomalies
from app.projections.base import Projection
from app.projections.runner import ProjectionRunner
from app.projections.visibility import Viewer
from app.stores.base import iso
from app.stores.sqlite import SQLiteReadStore

#: what the session page, the anomaly list and the wallboard read (and what they depend on)
VIEW_PROJECTIONS = (
    "directory",
    "access",
    "live_attendance",
    "evidence",
    "photo_index",
    "photo_purges",
    "anomalies",
)


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


@dataclass
class Replay:
    """A read store holding the views as they stood at `position` (the last event at or
    before `instant`). Close it when done: its file is removed."""

    instant: datetime
    position: int
    store: SQLiteReadStore
    _directory: Path = field(repr=False)

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(self._directory, ignore_errors=True)


def position_at(muster: Any, instant: datetime) -> int:
    """The last log position recorded at or before `instant`, by the audit index (the CLI
    brings it up to date first; a web process follows the log live)."""
    row = muster.store.fetch_one(
        "SELECT MAX(position) AS p FROM audit_log WHERE at <= :at", {"at": iso(instant)}
    )
    return int(row["p"] or 0) if row else 0


def replay(
    muster: Any, instant: datetime, names: Sequence[str] | None = None, last: int | None = None
) -> Replay:
    """Project the log up to `instant` (or up to position `last`) into a fresh store (the
    projections `names`, by default every one). Blocking and CPU-bound: call it from a
    worker thread."""
    last = position_at(muster, instant) if last is None else last
    directory = Path(tempfile.mkdtemp(prefix="muster-replay-"))
    store = SQLiteReadStore(directory / "replay.db")
    chosen: list[Projection] = [p for p in all_projections() if names is None or p.name in names]
    try:
        app = _AppAsOf(_LogUntil(muster.app.recorder, last), muster.app.mapper)
        ProjectionRunner(app, store, chosen).rebuild()  # type: ignore[arg-type]
    except BaseException:
        store.close()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Replay(instant, last, store, directory)


async def views_as_of(muster: Any, instant: datetime, session_id: str | None) -> dict[str, Any]:
    """The session page (with `session_id`) or every plant's wallboard, as at `instant`."""
    replayed = await asyncio.to_thread(replay, muster, instant)
    try:
        store, settings = replayed.store, muster.settings
        view: dict[str, Any] = {"as_of": instant.isoformat(), "position": replayed.position}
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
        replayed.close()


@dataclass(frozen=True)
class SessionAsOf:
    """A session as one viewer saw it at an instant: its page (roster, counts, photos), its
    anomalies with the status they had then, and its plant's wallboard."""

    instant: datetime
    position: int
    session: dict[str, Any]
    anomalies: list[dict[str, Any]]
    wallboard: dict[str, Any]


#: what identifies one as-of answer: who looked, which session, the instant, the log position
AsOfKey = tuple[Viewer, str, datetime, int]


@dataclass
class AsOfViews:
    """Recent as-of answers. The key holds the log position the instant stood at, so a later
    event cannot change an answer (it lies after that position), and the viewer, so each
    scope gets its own. Bounded; each answer is kept `ttl_s` at most, so an erasure reaches
    the page within that time."""

    size: int = 32
    ttl_s: float = 300.0
    _views: OrderedDict[AsOfKey, tuple[float, SessionAsOf | None]] = field(
        default_factory=OrderedDict
    )

    def get(self, key: AsOfKey) -> tuple[SessionAsOf | None] | None:
        """The kept answer (in a 1-tuple: an answer may be None), or None."""
        found = self._views.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl_s:
            return None
        self._views.move_to_end(key)
        return (found[1],)

    def keep(self, key: AsOfKey, view: SessionAsOf | None) -> None:
        self._views[key] = (time.monotonic(), view)
        self._views.move_to_end(key)
        while len(self._views) > self.size:
            self._views.popitem(last=False)

    def clear(self) -> None:
        self._views.clear()

    def __len__(self) -> int:
        return len(self._views)


async def session_as_of(
    muster: Any, instant: datetime, session_id: str, viewer: Viewer
) -> SessionAsOf | None:
    """The session as `viewer` would have seen it at `instant`; None when it did not exist
    then or lies outside the viewer's plants. Replayed once per viewer, session, instant and
    log position (`muster.as_of_views`)."""
    position = await asyncio.to_thread(position_at, muster, instant)
    key = (viewer, session_id, instant, position)
    kept: tuple[SessionAsOf | None] | None = muster.as_of_views.get(key)
    if kept is not None:
        return kept[0]
    view = await _session_as_of(muster, instant, session_id, viewer, position)
    muster.as_of_views.keep(key, view)
    return view


async def _session_as_of(
    muster: Any, instant: datetime, session_id: str, viewer: Viewer, position: int
) -> SessionAsOf | None:
    replayed = await asyncio.to_thread(replay, muster, instant, VIEW_PROJECTIONS, position)
    try:
        store, settings = replayed.store, muster.settings
        detail = await queries.session_detail(
            store, session_id, instant, muster.policy, settings.dept_alert_rate
        )
        if detail is None or detail.plant not in viewer.plants:
            return None
        anomalies = await find_anomalies(store, viewer, AnomalyFilter(session_id=session_id))
        board = await queries.plant_board(
            store, detail.plant, instant, muster.policy, settings.dept_alert_rate
        )
        return SessionAsOf(
            instant=instant,
            position=replayed.position,
            session=detail.seen_from(viewer.plants, viewer.people),
            anomalies=anomalies or [],
            wallboard=viewer.board(board),
        )
    finally:
        replayed.close()
