"""`GET /api/v1/conflicts?session_id=`: what clashes with a session, in words, and the
nearest free slots."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import tzinfo
from typing import Any

import msgspec
from litestar import Request, get

from app.bootstrap import Muster
from app.domain.conflicts import Conflict, Sitting
from app.imports.sessions import conflict_facts
from app.projections import queries
from app.services.planning import SLOT_HORIZON, PlanningWindow, sitting_of
from app.web.auth import require_principal
from app.web.common import lang_of, muster_of
from app.web.import_texts import words
from app.web.problems import Problem
from app.web.render import plant_time


class ConflictItem(msgspec.Struct, omit_defaults=True):
    kind: str
    detail: str
    with_session_id: str | None = None
    employee_no: str | None = None


class FreeSlot(msgspec.Struct):
    starts_at: str
    ends_at: str


class ConflictsReply(msgspec.Struct):
    conflicts: list[ConflictItem]
    free_slots: list[FreeSlot]


def conflict_words(conflict: Conflict, lang: str, names: dict[str, str], tz: tzinfo) -> str:
    """One conflict in words (a person by name and number)."""
    facts = conflict_facts(conflict)
    if conflict.employee_no and conflict.employee_no in names:
        name, no = names[conflict.employee_no], conflict.employee_no
        facts["person"] = f"{name} ({no})" if lang == "en" else f"{name}（{no}）"
    return words(f"conflict.{conflict.kind}", lang, facts, tz)


def _report(muster: Muster, sitting: Sitting) -> tuple[list[Conflict], list[FreeSlot]]:
    window = PlanningWindow.load(
        muster.store,
        sitting.starts_at - SLOT_HORIZON,
        sitting.ends_at + SLOT_HORIZON,
        sitting.roster,
    )
    found = window.check(sitting, muster.settings.team_away_share)
    slots = [
        FreeSlot(start.isoformat(), end.isoformat())
        for start, end in window.free_slots(_in_plant_clock(sitting, muster.settings.plant_tz))
    ]
    return found, slots


def _in_plant_clock(sitting: Sitting, tz: tzinfo) -> Sitting:
    """The sitting with its times in the plant's clock, so slots keep to its working day."""
    return replace(
        sitting,
        starts_at=plant_time(sitting.starts_at, tz),
        ends_at=plant_time(sitting.ends_at, tz),
    )


@get("/api/v1/conflicts")
async def get_conflicts(request: Request[Any, Any, Any]) -> ConflictsReply:
    """Conflicts of one session (by id, or by its code) and the nearest free slots."""
    muster = muster_of(request)
    principal = require_principal(request, muster.secret)
    scope = await queries.scope_of(muster.store, principal.scope)
    key = request.query_params.get("session_id", "")
    if not key:
        raise Problem(422, "invalid-query", "problem.invalid_query", errors=["session_id"])
    sitting = await asyncio.to_thread(sitting_of, muster.store, key)
    if sitting is None:  # the plant's own code works too
        found = await queries.session_by_code(muster.store, scope, key) if scope else []
        sitting = (
            await asyncio.to_thread(sitting_of, muster.store, found[0]["id"]) if found else None
        )
    if sitting is None:
        raise Problem(404, "unknown-session", "problem.unknown_session", session_id=key)
    if scope is None or not await queries.plant_visible(muster.store, scope, sitting.plant):
        raise Problem(403, "forbidden", "problem.forbidden")
    found_conflicts, slots = await asyncio.to_thread(_report, muster, sitting)
    people = sorted({c.employee_no for c in found_conflicts if c.employee_no})
    names = await queries.employee_names(muster.store, people)
    lang = lang_of(request)
    return ConflictsReply(
        conflicts=[
            ConflictItem(
                kind=c.kind.value,
                detail=conflict_words(c, lang, names, muster.settings.plant_tz),
                with_session_id=c.with_session_id,
                employee_no=c.employee_no,
            )
            for c in found_conflicts
        ],
        free_slots=slots,
    )


planning_handlers = [get_conflicts]
