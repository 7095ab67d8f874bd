"""The NATS bus when NATS goes away and comes back, and when deployments share one NATS:
nothing published meanwhile is lost, nothing is delivered twice, and one deployment's
messages never pass for duplicates of another's. Each test runs a NATS server of its own."""

from __future__ import annotations

import asyncio
import uuid

from app.alerts.delivery import toast_message
from app.streams.bus import Message, Subscription
from app.streams.changes import BusOutbox
from app.streams.nats import NatsBus
from tests.services import NatsServer


async def received(subscription: Subscription, into: list[Message]) -> None:
    async for message in subscription:
        into.append(message)


async def until(condition: object, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_what_is_published_while_nats_is_down_arrives_once_when_it_is_back(
    own_nats: NatsServer,
) -> None:
    ns = f"muster.t{uuid.uuid4().hex[:8]}"
    web, worker = NatsBus(own_nats.url), NatsBus(own_nats.url)
    resumed: list[bool] = []
    web.on_resume(lambda: resumed.append(True))
    subscription = await web.subscribe(f"{ns}.live.session.*")
    got: list[Message] = []
    reader = asyncio.create_task(received(subscription, got))
    outbox = BusOutbox(worker, asyncio.get_running_loop())
    try:
        outbox.offer(f"{ns}.live.session.a", b"before", f"{ns}:1")
        await until(lambda: len(got) == 1, 10)

        own_nats.stop()
        outbox.offer(f"{ns}.live.session.a", b"during", f"{ns}:2")
        outbox.offer(f"{ns}.live.session.b", b"during too", f"{ns}:3")
        await asyncio.sleep(1.5)  # both clients notice, the outbox keeps trying
        assert [m.data for m in got] == [b"before"]
        own_nats.start()

        await until(lambda: len(got) == 3 and resumed, 15)
        outbox.offer(f"{ns}.live.session.a", b"after", f"{ns}:4")
        await until(lambda: len(got) == 4, 10)
        await asyncio.sleep(0.5)  # nothing arrives twice
        assert [m.data for m in got] == [b"before", b"during", b"during too", b"after"]
        assert not outbox.waiting and outbox.lost == 0
    finally:
        outbox.stop()
        await subscription.close()
        reader.cancel()
        await web.close()
        await worker.close()


async def test_alert_notices_of_two_deployments_at_the_same_log_position_both_arrive(
    own_nats: NatsServer,
) -> None:
    bus = NatsBus(own_nats.url)
    prefixes = [f"muster.d{uuid.uuid4().hex[:8]}.live.alert" for _ in range(2)]
    subscriptions = [await bus.subscribe(f"{prefix}.*") for prefix in prefixes]
    got: list[list[Message]] = [[], []]
    readers = [asyncio.create_task(received(s, g)) for s, g in zip(subscriptions, got, strict=True)]
    try:
        for prefix in prefixes:  # the same log position: each deployment's first alert
            view = {"id": str(uuid.uuid4()), "rule": "no_checkins"}
            subject, data, msg_id = toast_message(prefix, 42, "raised", view)
            await bus.publish(subject, data, msg_id=msg_id)
            await bus.publish(subject, data, msg_id=msg_id)  # a retry: stored once
        await until(lambda: all(g for g in got), 10)
        await asyncio.sleep(0.3)
        assert [len(g) for g in got] == [1, 1]
    finally:
        for subscription in subscriptions:
            await subscription.close()
        for reader in readers:
            reader.cancel()
        await bus.close()
