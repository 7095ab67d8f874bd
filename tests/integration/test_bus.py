"""The event-bus port: one suite, run against the in-process bus and real NATS JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from app.streams.bus import EventBus, Message, Subscription, subject_matches
from app.streams.memory import MemoryBus
from app.streams.nats import NatsBus
from tests.services import ensure_nats


@pytest.fixture(params=["memory", "nats"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    if request.param == "memory":
        made: EventBus = MemoryBus()
    else:
        ensure_nats()
        made = NatsBus("nats://127.0.0.1:4222")  # the real MUSTER stream, as deployed
    yield made
    await made.close()


@pytest.fixture
def ns() -> str:
    """A subject namespace of this test's own, as each deployment has on a shared NATS."""
    return f"muster.t{uuid.uuid4().hex[:10]}"


async def take(subscription: Subscription, count: int, timeout: float = 5) -> list[Message]:
    got: list[Message] = []

    async def collect() -> None:
        async for message in subscription:
            got.append(message)
            if len(got) == count:
                return

    await asyncio.wait_for(collect(), timeout)
    return got


async def test_subscribers_get_matching_subjects_in_order(bus: EventBus) -> None:
    sessions = await bus.subscribe("muster.live.session.*")
    everything = await bus.subscribe("muster.>")
    await bus.publish("muster.live.session.a", b"1")
    await bus.publish("muster.alerts.raised", b"2")
    await bus.publish("muster.live.session.b", b"3")
    assert [m.data for m in await take(sessions, 2)] == [b"1", b"3"]
    assert [m.subject for m in await take(everything, 3)] == [
        "muster.live.session.a",
        "muster.alerts.raised",
        "muster.live.session.b",
    ]
    await sessions.close()
    await everything.close()


async def test_a_repeated_message_id_is_delivered_once(bus: EventBus, ns: str) -> None:
    sub = await bus.subscribe(f"{ns}.live.session.*")
    await bus.publish(f"{ns}.live.session.x", b"first", msg_id=f"{ns}.x:10")
    await bus.publish(f"{ns}.live.session.x", b"again", msg_id=f"{ns}.x:10")
    await bus.publish(f"{ns}.live.session.x", b"next", msg_id=f"{ns}.x:11")
    assert [m.data for m in await take(sub, 2)] == [b"first", b"next"]
    await sub.close()


async def test_a_closed_subscription_ends_its_iteration(bus: EventBus, ns: str) -> None:
    sub = await bus.subscribe(f"{ns}.>")

    async def drain() -> int:
        return len([m async for m in sub])

    task = asyncio.create_task(drain())
    await bus.publish(f"{ns}.live.session.y", b"1")
    await asyncio.sleep(0.2)
    await sub.close()
    assert await asyncio.wait_for(task, 5) == 1


@pytest.mark.parametrize(
    ("pattern", "subject", "ok"),
    [
        ("muster.>", "muster.live.session.a", True),
        ("muster.>", "muster", False),
        ("muster.live.session.*", "muster.live.session.a", True),
        ("muster.live.session.*", "muster.live.session.a.b", False),
        ("muster.*.session.a", "muster.live.session.a", True),
        ("muster.live", "muster.live.session", False),
    ],
)
def test_subject_matching_follows_nats(pattern: str, subject: str, ok: bool) -> None:
    assert subject_matches(pattern, subject) is ok
