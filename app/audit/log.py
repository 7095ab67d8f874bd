"""Reading the event log for people: each event as plain JSON, upcast (old events lose the
secrets they carried) and never with a secret, limited to the reader's org subtree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from app.stores.base import ReadStore

#: attribute names that hold secrets; never shown, whatever event carries them
SECRET_FIELDS = frozenset({"password_hash", "token_hash", "totp_secret", "recovery_codes"})


def event_record(mapper: Any, notification: Any) -> dict[str, Any]:
    """One notification as the events API and the audit export show it."""
    event = mapper.to_domain_event(notification)
    state = {
        k: v
        for k, v in vars(event).items()
        if k not in SECRET_FIELDS and k not in ("originator_id", "originator_version")
    }
    return {
        "id": notification.id,
        "originator_id": str(notification.originator_id),
        "originator_version": notification.originator_version,
        "topic": notification.topic,
        "state": msgspec.json.decode(msgspec.json.encode(state, enc_hook=str)),
    }


def in_subtree(path: str | None) -> tuple[str, dict[str, Any]]:
    """SQL condition (on `audit_log`) for events inside the subtree at `path` (None: all).
    Events about no org unit (courses, positions) are for logins at the top of the tree."""
    if path is None:
        return "1 = 1", {}
    if path.count("/") <= 2:  # '/G/': the root of the tree
        return "(org_path LIKE :prefix OR org_path IS NULL)", {"prefix": path + "%"}
    return "org_path LIKE :prefix", {"prefix": path + "%"}


def positions_in_scope(store: ReadStore, path: str | None, after: int, limit: int) -> list[int]:
    """The log positions after `after` inside the subtree, oldest first."""
    condition, params = in_subtree(path)
    rows = store.fetch(
        f"SELECT position FROM audit_log WHERE position > :after AND {condition} "
        "ORDER BY position LIMIT :limit",
        {**params, "after": after, "limit": limit},
    )
    return [int(r["position"]) for r in rows]


def read_positions(recorder: Any, positions: Sequence[int]) -> list[Any]:
    """The notifications at `positions` (ascending), one read per run of consecutive ones."""
    found: list[Any] = []
    run: list[int] = []
    for position in [*positions, -1]:
        if run and position != run[-1] + 1:
            found.extend(recorder.select_notifications(start=run[0], limit=len(run)))
            run = []
        if position >= 0:
            run.append(position)
    return found


def scoped_events(
    app: Any, store: ReadStore, path: str | None, after: int, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` events after `after`, inside the subtree at `path`, as records."""
    positions = positions_in_scope(store, path, after, limit)
    wanted = set(positions)
    notifications = read_positions(app.recorder, positions)
    return [event_record(app.mapper, n) for n in notifications if n.id in wanted]
