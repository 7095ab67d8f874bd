"""Check in through the service and word the results as the web layer does, without HTTP."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.bootstrap import Muster
from app.domain.errors import Refusal
from app.services.commands import CheckInCommand
from app.web.checkins import http_answer, parse_item
from tests.conftest import Plant


def badge(plant: Plant, employee: str, cei: str | None = None, **extra: Any) -> dict[str, Any]:
    """One badge check-in of `employee` to the plant's running session, as a device sends it."""
    return {
        "client_event_id": cei or str(uuid.uuid4()),
        "session_id": plant.session_id,
        "method": "badge",
        "badge_uid": plant.badges[employee],
        **extra,
    }


@dataclass
class Answer:
    """One item's status code and JSON body, as a device would receive it."""

    status_code: int
    body: dict[str, Any]


async def acheck_in(
    muster: Muster,
    token: str | None,
    items: list[Any],
    *,
    lang: str = "zh-CN",
    offline: bool = False,
    sent_at: datetime | None = None,
) -> list[Answer]:
    """Raw JSON items in, one answer each out (a refused device token raises)."""
    parsed = [parse_item(raw) for raw in items]
    commands = [p for p in parsed if isinstance(p, CheckInCommand)]
    results = iter(
        await muster.checkins.check_in(token, commands, offline=offline, sent_at=sent_at)
    )
    return [
        Answer(*http_answer(p if isinstance(p, Refusal) else next(results), lang)) for p in parsed
    ]


def check_in(muster: Muster, token: str | None, items: list[Any], **kw: Any) -> list[Answer]:
    """`acheck_in` from synchronous test code."""
    return asyncio.run(acheck_in(muster, token, items, **kw))
