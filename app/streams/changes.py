"""Turning projection progress into bus messages: "these sessions' views changed"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import Future

import structlog

from app.streams.bus import EventBus

log = structlog.get_logger(__name__)


class ViewChanges:
    """The projection runner's callback (called on the projection thread): one bus message
    per changed session, published from the event loop the process serves on (`bind`).

    Subjects are `<subject>.<session id>`. The message id is subject + log position, so a
    batch projected twice (a retried transaction, a second runner) is delivered once.
    Until bound to a loop (admin commands, tests without a server) nothing is published.
    """

    def __init__(self, bus: EventBus, subject: str) -> None:
        self.bus = bus
        self.subject = subject
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Publish from ``loop`` from now on (``None``: stop publishing)."""
        self._loop = loop

    def __call__(self, session_ids: set[str], position: int) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for sid in session_ids:
            data = json.dumps({"session_id": sid, "position": position}).encode()
            subject = f"{self.subject}.{sid}"
            future = asyncio.run_coroutine_threadsafe(
                self.bus.publish(subject, data, msg_id=f"{subject}:{position}"), loop
            )
            future.add_done_callback(_log_failure)


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("could not publish a view change", error=str(future.exception()))


def bus_publisher(
    bus: EventBus, loop: asyncio.AbstractEventLoop
) -> Callable[[str, bytes, str], None]:
    """A callback for worker threads: publish (subject, data, message id) on `bus` through
    `loop`, without waiting; a failure is logged (live pages catch up on their next push)."""

    def publish(subject: str, data: bytes, msg_id: str) -> None:
        if loop.is_closed():
            return
        future = asyncio.run_coroutine_threadsafe(bus.publish(subject, data, msg_id=msg_id), loop)
        future.add_done_callback(_log_failure)

    return publish
