"""The demo's simulated plant floor: people arrive, badge in, some late, some absent, a few
strangers, and now and then an offline tablet syncs its queued check-ins in one batch.

It drives the same check-in service the HTTP API calls, with the demo devices' tokens.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from app.bootstrap import Muster
from app.demo.photos import Photographer, story
from app.demo.plant import DemoPlant
from app.services.checkin_results import Accepted, Refused
from app.services.commands import CheckInCommand
from app.services.photos import PhotoUpload

log = structlog.get_logger(__name__)


def _live(demo: DemoPlant, now: datetime) -> list[dict[str, Any]]:
    """The sessions running now or starting within the hour."""
    soon = now + timedelta(hours=1)
    return [s for s in demo.sessions if s["ends_at"] > now and s["starts_at"] <= soon]


def _arrivals(
    demo: DemoPlant, rng: random.Random, now: datetime
) -> list[tuple[datetime, str, str]]:
    """(when, session id, employee no) for everyone who will turn up to a live session."""
    out = []
    for s in _live(demo, now):
        for employee_no in s["roster"]:
            if rng.random() < 0.09:  # absent
                continue
            minutes = rng.triangular(-12, 16, -3)
            out.append((s["starts_at"] + timedelta(minutes=minutes), s["id"], employee_no))
    return out


async def _photograph(
    muster: Muster,
    demo: DemoPlant,
    speed: float,
    simulated_now: Callable[[], datetime],
    after_minutes: int = 10,
) -> None:
    """Each running session's tablet takes one room photo ``after_minutes`` into the session,
    with the people checked in by then (``app.demo.photos`` for the two stories)."""
    camera = await asyncio.to_thread(Photographer.load)
    if camera is None:
        return
    plan = sorted(
        (s["starts_at"] + timedelta(minutes=after_minutes), i, s)
        for i, s in enumerate(_live(demo, simulated_now()))
    )
    for due, index, session in plan:
        delay = (due - simulated_now()).total_seconds() / speed
        await asyncio.sleep(max(delay, 0.5 / speed))
        row = await muster.store.afetch_one(
            "SELECT checked_in + walk_ins AS n FROM sessions WHERE id = :id", {"id": session["id"]}
        )
        people, taken = story(index, int(row["n"]) if row else 0, datetime.now(UTC))
        local = taken.astimezone(muster.settings.plant_tz)  # the tablet's clock
        shot = await asyncio.to_thread(camera.shoot, people, local, index)
        upload = PhotoUpload(shot.jpeg, session["id"], "room", str(uuid.uuid4()), datetime.now(UTC))
        try:
            stored = await muster.photos.upload(demo.device_tokens[session["room"]], upload)
        except Exception:
            log.exception("simulated room photo failed")
            continue
        log.info(
            "room photo taken", session=session["room"], people=shot.people, photo=stored.photo_id
        )


async def simulate(muster: Muster, demo: DemoPlant, seed: int = 11, speed: float = 1.0) -> None:
    """Run until everyone who is coming has arrived (or until cancelled).

    `speed` > 1 runs the arrivals' clock faster than the wall clock (tests); the server still
    decides with its own time, as it always does.
    """
    rng = random.Random(seed)
    now = datetime.now(UTC)
    loop = asyncio.get_running_loop()
    started = loop.time()

    def simulated_now() -> datetime:
        return now + timedelta(seconds=(loop.time() - started) * speed)

    photos = asyncio.create_task(_photograph(muster, demo, speed, simulated_now))
    try:
        queue = _arrivals(demo, rng, now)
        heapq.heapify(queue)
        sessions = {s["id"]: s for s in demo.sessions}
        offline_queue: list[dict[str, Any]] = []
        offline_room = next(iter(demo.device_tokens))
        strangers = 0
        while queue:
            when, sid, employee_no = heapq.heappop(queue)
            delay = (when - simulated_now()).total_seconds() / speed
            # Arrivals already due are replayed at a brisk catch-up pace, not all at once.
            await asyncio.sleep(delay if delay > 0 else 0.25 / speed)
            session = sessions[sid]
            token = demo.device_tokens[session["room"]]
            item: dict[str, Any] = {
                "client_event_id": str(uuid.uuid4()),
                "session_id": sid,
                "method": "badge",
                "badge_uid": demo.badges[employee_no],
                "device_time": datetime.now(UTC),
                "device_seq": rng.randint(1, 10_000),
            }
            if session["room"] == offline_room and rng.random() < 0.5:
                # This tablet's Wi-Fi is flaky: it queues and syncs a burst later.
                offline_queue.append(item)
                if len(offline_queue) >= 8:
                    results = await muster.checkins.check_in(
                        token,
                        [CheckInCommand(**queued) for queued in offline_queue],
                        offline=True,
                        sent_at=datetime.now(UTC),
                    )
                    log.info(
                        "offline tablet synced",
                        items=len(offline_queue),
                        accepted=sum(1 for r in results if isinstance(r, Accepted)),
                    )
                    offline_queue = []
                continue
            if rng.random() < 0.03:
                strangers += 1
                item["badge_uid"] = f"FF{rng.getrandbits(40):010X}"  # a badge nobody owns
            if rng.random() < 0.04:
                item = {
                    **item,
                    "method": "manual",
                    "employee_id": employee_no,
                    "reason": "工牌遗忘，讲师核实身份",
                }
                item.pop("badge_uid")
            try:
                (outcome,) = await muster.checkins.check_in(token, [CheckInCommand(**item)])
            except Exception:
                log.exception("simulated check-in failed")
                continue
            if isinstance(outcome, Refused):
                log.info("check-in refused", reason=outcome.reason, session=session["room"])
        log.info("simulation finished: everyone who was coming has arrived", strangers=strangers)
        await photos
    finally:
        photos.cancel()  # the demo stopped before the last photo was due
