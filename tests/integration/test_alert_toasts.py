"""Alert toasts on real SQLite and PostgreSQL: the notices kept for pages that reconnect stay
bounded to what such a page can still be replayed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.toasts import AlertToasts, notes_after
from app.bootstrap import Muster, build
from app.settings import Settings
from app.web.alert_text import describe
from tests.conftest import load_plant
from tests.integration.test_alert_engine import settle, two_minutes_in
from tests.support.clock import ManualClock as Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def muster(settings: Settings, clock: Clock) -> Iterator[Muster]:
    wired = build(settings, clock=clock)
    yield wired
    wired.close()


def test_the_notices_kept_for_reconnecting_pages_are_the_newest_and_stay_bounded(
    muster: Muster, clock: Clock
) -> None:
    plant = load_plant(muster, started_minutes_ago=2)
    clock.now = two_minutes_in(muster, plant) + timedelta(minutes=8, seconds=1)  # late mark
    settle(muster)  # P1's departments below 80 %: an alert for each
    raised = muster.store.fetch("SELECT id FROM alerts ORDER BY raised_at, id")
    assert len(raised) >= 2
    muster.app.acknowledge_alert(uuid.UUID(raised[0]["id"]), "sz1", "on it", clock.now)
    muster.runner.run_once()
    published: list[str] = []
    toasts = AlertToasts(
        muster.app, muster.store, describe=describe, lang="en", clock=clock, kept=2
    )
    toasts.send = lambda messages: published.extend(m[2] for m in messages) or True
    toasts.run_until_idle()

    assert len(published) == len(raised) + 1  # every notice went out once
    kept = [r["position"] for r in muster.store.fetch("SELECT position FROM alert_notices")]
    newest = sorted(int(m.rsplit(":", 1)[1]) for m in published)[-2:]
    assert sorted(kept) == newest
    replayed = asyncio.run(notes_after(muster.store, 0, 1000, describe, "en"))
    assert [n["version"] for n in replayed] == newest
    assert replayed[-1]["notice"] == "acknowledged"
