"""The NATS JetStream bus of the scale-out shape.

Projections run in `muster worker` processes; each publishes "view changed" messages to the
`MUSTER` stream (`muster.>`), with `Nats-Msg-Id` so a re-publish after a retry is stored once.
Every web process reads them with its own ordered, ephemeral consumer from "now on".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from app.streams.bus import EventBus, Message, Subscription

log = structlog.get_logger(__name__)


class _NatsSubscription(Subscription):
    def __init__(self, subscription: Any) -> None:
        self.subscription = subscription
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[Message]:  # type: ignore[override]
        while not self.closed:
            try:
                msg = await self.subscription.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.BadSubscriptionError):
                return
            yield Message(msg.subject, msg.data)

    async def close(self) -> None:
        self.closed = True
        with contextlib.suppress(
            nats.errors.ConnectionClosedError, nats.errors.BadSubscriptionError
        ):
            await self.subscription.unsubscribe()


class NatsBus(EventBus):
    """JetStream-backed bus; connects lazily on the event loop that first uses it."""

    def __init__(self, url: str, stream: str = "MUSTER", max_age_s: float = 3600) -> None:
        self.url = url
        self.stream = stream
        self.max_age_s = max_age_s
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._lock = asyncio.Lock()

    async def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            async with self._lock:
                if self._js is None:
                    self._nc = await nats.connect(
                        self.url, name="muster", max_reconnect_attempts=-1
                    )
                    js = self._nc.jetstream()
                    config = StreamConfig(
                        name=self.stream,
                        subjects=["muster.>"],
                        storage=StorageType.FILE,
                        max_age=self.max_age_s,
                        duplicate_window=120,
                    )
                    try:
                        await js.add_stream(config)
                    except BadRequestError:  # exists with other settings: adopt ours
                        await js.update_stream(config)
                    self._js = js
                    log.info("connected to NATS JetStream", url=self.url, stream=self.stream)
        return self._js

    async def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> None:
        js = await self._jetstream()
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await js.publish(subject, data, stream=self.stream, headers=headers)

    async def subscribe(self, pattern: str) -> Subscription:
        js = await self._jetstream()
        subscription = await js.subscribe(
            pattern, stream=self.stream, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
        )
        return _NatsSubscription(subscription)

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None
            self._js = None
