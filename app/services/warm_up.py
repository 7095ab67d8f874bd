"""What `muster serve` does before it answers its first request, so that the first burst of
check-ins after a start costs what later ones cost (decision 0127, amendment).

A burst on a fresh process used to open the read store's connections one by one while
requests waited for them, start the event loop's worker threads, and send the check-in's
lookup queries as text on every connection (psycopg prepares a statement on a connection
only after its fifth use there). Here the pools are filled to their size and the lookup of
a check-in is run, read-only, enough times for every read connection to prepare its
statements. The lookup names a token no device holds, so it is refused after the store
answered: nothing is written and no device, session or person is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import structlog

from app.domain.errors import DeviceNotRecognised
from app.services.checkin import CheckInService
from app.services.checkin_lookup import look_up
from app.services.commands import CheckInCommand
from app.stores.base import ReadStore

log = structlog.get_logger(__name__)

#: psycopg prepares a statement on its fifth execution on a connection
PREPARE_AFTER = 5


def _lookups(store: ReadStore, checkins: CheckInService, times: int) -> None:
    """The check-in lookup `times` times, one after another: the pool hands out its
    connections in turn, so each gets `times / size` of them."""
    token = f"mdt_warm-up-{uuid.uuid4().hex}"  # held by no device
    for command in (
        CheckInCommand("warm-up", str(uuid.uuid4()), "badge", badge_uid="warm-up"),
        CheckInCommand("warm-up", str(uuid.uuid4()), "manual", employee_id="warm-up"),
    ):
        for _ in range(times):
            with contextlib.suppress(DeviceNotRecognised):
                look_up(store, checkins.identities, token, [command])


async def warm_up(store: ReadStore, checkins: CheckInService, threads: int = 8) -> float:
    """Fill the store's pools, run the check-in lookups until every read connection has
    prepared them, and start the event loop's worker threads; returns the seconds taken."""
    started = time.monotonic()
    await asyncio.to_thread(store.fill_pools)
    # twice what a strict rotation needs: other threads may take a connection in between
    await asyncio.to_thread(_lookups, store, checkins, 2 * store.read_connections * PREPARE_AFTER)
    # the loop's default executor starts a thread per call while none is idle
    await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.01) for _ in range(threads)))
    took = time.monotonic() - started
    log.info("warmed up", seconds=round(took, 2), read_connections=store.read_connections)
    return took
