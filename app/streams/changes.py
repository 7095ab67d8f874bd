"""Turning projection progress into bus messages: "these sessions' views changed". They leave
through one outbox per process that keeps a message until the bus took it: while NATS is
away they wait (bounded) and go out, in order, when it is back, so live pages catch up
instead of missing what happened. Alert toasts are published with `send`, which waits for
the bus: their follower keeps them by its checkpoint instead, so no process holds them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque

import structlog

from app.streams.bus import EventBus

log = structlog.get_logger(__name__)

#: messages an outbox keeps while the bus is away; past that the oldest go (live pages still
#: refresh when the bus is back; toasts do not use it: `send`)
OUTBOX_LIMIT = 10_000
#: messages published at once (JetStream acks each; waiting for them one by one is slow)
OUTBOX_BATCH = 64
#: the longest wait between attempts while the bus is away (seconds)
RETRY_MAX_S = 2.0


class BusOutbox:
    """Publishes (subject, data, message id) on `bus` from any thread, through `loop`; a
    failed publish is tried again (with the same message id, so the bus stores it once)."""

    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop) -> None:
        self.bus = bus
        self.loop = loop
        self.waiting: deque[tuple[str, bytes, str]] = deque()
        self.lost = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    def offer(self, subject: str, data: bytes, msg_id: str) -> None:
        """Queue a message (any thread); it goes out as soon as the bus takes it."""
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: stopping
            self.loop.call_soon_threadsafe(self._append, (subject, data, msg_id))

    def _append(self, item: tuple[str, bytes, str]) -> None:
        if len(self.waiting) >= OUTBOX_LIMIT:
            self.waiting.popleft()
            self.lost += 1
        self.waiting.append(item)
        self._ready.set()
        if self._task is None:
            self._task = self.loop.create_task(self._drain())

    async def _drain(self) -> None:
        delay = 0.05
        while True:
            if not self.waiting:
                self._ready.clear()
                await self._ready.wait()
            batch = [self.waiting[i] for i in range(min(OUTBOX_BATCH, len(self.waiting)))]
            results = await asyncio.gather(
                *(self.bus.publish(s, d, msg_id=m) for s, d, m in batch), return_exceptions=True
            )
            failed = [item for item, r in zip(batch, results, strict=True) if r is not None]
            for item in batch:  # (the limit may have pushed some out meanwhile)
                if self.waiting and self.waiting[0] is item:
                    self.waiting.popleft()
            self.waiting.extendleft(reversed(failed))  # first in line again, in their order
            if not failed:
                if self._failing:
                    log.info("the bus takes messages again", waiting=len(self.waiting))
                self._failing = False
                delay = 0.05
                continue
            if not self._failing:
                log.warning("the bus refuses messages; keeping them", error=repr(results[0]))
            self._failing = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def stop(self) -> None:
        """Stop publishing (any thread); what waits is dropped."""
        task, self._task = self._task, None
        if task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(task.cancel)


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
        self.outbox: BusOutbox | None = None

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Publish from ``loop`` from now on (``None``: stop publishing)."""
        if self.outbox is not None:
            self.outbox.stop()
        self.outbox = BusOutbox(self.bus, loop) if loop is not None else None

    def __call__(self, session_ids: set[str], position: int) -> None:
        for sid in session_ids:
            data = json.dumps({"session_id": sid, "position": position}).encode()
            subject = f"{self.subject}.{sid}"
            self.publish(subject, data, f"{subject}:{position}")

    def send(self, messages: list[tuple[str, bytes, str]], timeout_s: float = 10.0) -> bool:
        """Publish `messages` now and wait until the bus took every one (call it from a thread
        other than the loop's); False when unbound, refused or not answered in time. Nothing
        waits in the outbox: the caller keeps them (by its checkpoint) and tries again."""
        outbox = self.outbox
        if outbox is None or outbox.loop.is_closed():
            return False

        async def publish_all() -> None:
            await asyncio.gather(*(self.bus.publish(s, d, msg_id=m) for s, d, m in messages))

        future = asyncio.run_coroutine_threadsafe(publish_all(), outbox.loop)
        try:
            future.result(timeout_s)
        except Exception as exc:  # refused, timed out, or the loop stopped meanwhile
            future.cancel()
            log.info("the bus did not take the messages", count=len(messages), error=repr(exc))
            return False
        return True

    def publish(self, subject: str, data: bytes, msg_id: str) -> None:
        """Publish through the outbox (any thread; nothing while unbound). The message id must
        be unique across deployments sharing the bus: start it with the subject."""
        outbox = self.outbox
        if outbox is not None:
            outbox.offer(subject, data, msg_id)
