"""The in-process bus of the embedded shape: asyncio queues, one per subscription."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator

from app.streams.bus import EventBus, Message, Subscription, subject_matches

_CLOSED = Message("", b"")


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, pattern: str, maxsize: int) -> None:
        self.bus = bus
        self.pattern = pattern
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, message: Message) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            # A stalled subscriber must not stall publishers; it counts what it missed and
            # the hub resynchronises with a full snapshot.
            self.dropped += 1

    async def __aiter__(self) -> AsyncIterator[Message]:  # type: ignore[override]
        while True:
            message = await self.queue.get()
            if message is _CLOSED:
                return
            yield message

    async def close(self) -> None:
        self.bus._subscriptions.discard(self)
        self.offer(_CLOSED)


class MemoryBus(EventBus):
    """Delivers to subscribers in this process; dedupes recent `msg_id`s like JetStream."""

    def __init__(self, maxsize: int = 10_000, dedupe_window: int = 10_000) -> None:
        self.maxsize = maxsize
        self.dedupe_window = dedupe_window
        self._subscriptions: set[_MemorySubscription] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> None:
        if msg_id is not None:
            if msg_id in self._seen:
                return
            self._seen[msg_id] = None
            if len(self._seen) > self.dedupe_window:
                self._seen.popitem(last=False)
        message = Message(subject, data)
        for subscription in list(self._subscriptions):
            if subject_matches(subscription.pattern, subject):
                subscription.offer(message)

    async def subscribe(self, pattern: str) -> Subscription:
        subscription = _MemorySubscription(self, pattern, self.maxsize)
        self._subscriptions.add(subscription)
        return subscription

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.close()
