"""The NATS JetStream bus of the scale-out shape.

Projections run in `muster worker` processes; each publishes "view changed" messages to the
`MUSTER` stream (`muster.>`), with `Nats-Msg-Id` so a re-publish after a retry is stored once.
Every web process reads them with its own ordered, ephemeral consumer from "now on".

NATS may go away and come back (a restart, a network cut). The client reconnects by itself;
then each subscription is opened again at the stream sequence after the last message it
yielded, so what the stream stored meanwhile is delivered, once, and the listeners given to
`on_resume` are told (live pages refresh: a view change published during the outage may
have been lost by a publisher that had no connection).
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
from nats.js.api import ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from app.streams.bus import EventBus, Message, Subscription

log = structlog.get_logger(__name__)

#: seconds between reconnect attempts (nats-py's default is 2 s)
RECONNECT_WAIT_S = 0.5
#: the longest wait between attempts to open the subscriptions again after a reconnect
RESUME_BACKOFF_MAX_S = 5.0


class _NatsSubscription(Subscription):
    """An ordered consumer that can be opened again where it left off (`open`)."""

    def __init__(self, bus: NatsBus, pattern: str) -> None:
        self.bus = bus
        self.pattern = pattern
        self.subscription: Any = None
        #: the stream sequence of the last message yielded
        self.last_seq = 0
        self.closed = False

    async def open(self, js: JetStreamContext) -> None:
        """Start (or start again) after the last message yielded; the first time, after the
        stream's last message ("from now on")."""
        state = (await js.stream_info(self.bus.stream)).state
        if self.subscription is None:
            self.last_seq = state.last_seq
        elif state.last_seq < self.last_seq:  # the stream began anew (NATS lost its storage)
            self.last_seq = 0
        fresh = await js.subscribe(
            self.pattern,
            stream=self.bus.stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=ConsumerConfig(opt_start_seq=self.last_seq + 1),
        )
        old, self.subscription = self.subscription, fresh
        if old is not None:
            with contextlib.suppress(Exception):  # its consumer died with the old connection
                await old.unsubscribe()

    async def __aiter__(self) -> AsyncIterator[Message]:  # type: ignore[override]
        while not self.closed:
            current = self.subscription
            try:
                msg = await current.next_msg(timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.BadSubscriptionError):
                if self.closed or current is self.subscription:
                    return
                continue  # replaced by a fresh consumer meanwhile
            seq = msg.metadata.sequence.stream
            if seq <= self.last_seq:  # delivered again by a consumer opened after a reconnect
                continue
            self.last_seq = seq
            yield Message(msg.subject, msg.data)

    async def close(self) -> None:
        self.closed = True
        self.bus._subscriptions.discard(self)
        with contextlib.suppress(
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionDrainingError,
            nats.errors.BadSubscriptionError,
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
        self._subscriptions: set[_NatsSubscription] = set()
        self._resuming: asyncio.Task[None] | None = None

    async def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            async with self._lock:
                if self._js is None:
                    self._nc = await nats.connect(
                        self.url,
                        name="muster",
                        max_reconnect_attempts=-1,
                        reconnect_time_wait=RECONNECT_WAIT_S,
                        disconnected_cb=self._disconnected,
                        reconnected_cb=self._reconnected,
                        error_cb=self._error,
                    )
                    js = self._nc.jetstream()
                    await self._ensure_stream(js)
                    self._js = js
                    log.info("connected to NATS JetStream", url=self.url, stream=self.stream)
        return self._js

    async def _ensure_stream(self, js: JetStreamContext) -> None:
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

    # -- outages -------------------------------------------------------------------------------

    async def _disconnected(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            log.warning("lost the NATS connection; reconnecting", url=self.url)

    async def _error(self, error: Exception) -> None:
        if isinstance(error, OSError | nats.errors.NoServersError):  # reconnect attempts
            log.debug("NATS not reachable yet", error=f"{type(error).__name__}: {error}")
        else:
            log.info("NATS client", error=f"{type(error).__name__}: {error}")

    async def _reconnected(self) -> None:
        log.info("reconnected to NATS", url=self.url)
        if self._resuming is not None:
            self._resuming.cancel()
        self._resuming = asyncio.create_task(self._resume())

    async def _resume(self) -> None:
        """Open every subscription again where it left off (JetStream may need a moment
        after a restart), then tell the `on_resume` listeners."""
        delay = 0.1
        while self._js is not None and self._nc is not None and not self._nc.is_closed:
            try:
                await self._ensure_stream(self._js)
                for subscription in list(self._subscriptions):
                    if not subscription.closed:
                        await subscription.open(self._js)
                break
            except Exception as exc:  # not ready yet: try again shortly
                log.info("NATS subscriptions not reopened yet", error=f"{exc!r}")
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUME_BACKOFF_MAX_S)
        else:
            return
        log.info("NATS subscriptions reopened", count=len(self._subscriptions))
        self.resumed()

    # -- the port --------------------------------------------------------------------------------

    async def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> None:
        js = await self._jetstream()
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await js.publish(subject, data, stream=self.stream, headers=headers)

    async def subscribe(self, pattern: str) -> Subscription:
        js = await self._jetstream()
        subscription = _NatsSubscription(self, pattern)
        await subscription.open(js)
        self._subscriptions.add(subscription)
        return subscription

    async def close(self) -> None:
        if self._resuming is not None:
            self._resuming.cancel()
        if self._nc is not None:
            nc, self._nc, self._js = self._nc, None, None
            with contextlib.suppress(Exception):  # already closed or never reconnected
                await nc.drain()
            if not nc.is_closed:
                await nc.close()
