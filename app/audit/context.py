"""Who is acting: every event stored while a request (or a command) runs records the actor's
role and their device or address beside the `actor` the command names.

The web layer sets the context once per request; worker threads started with
`asyncio.to_thread` inherit it. Events that already say (device check-ins carry their
`device_id`) keep what they say.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent


@dataclass(frozen=True)
class Acting:
    """The role of whoever acts now, and the device or address they act from."""

    role: str
    via: str


ACTING: ContextVar[Acting | None] = ContextVar("muster_acting", default=None)


class AuditedMapper(Mapper[Any]):
    """Stores the acting role and device or address into each event that lacks them."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        acting = ACTING.get()
        if acting is not None:
            state = vars(domain_event)
            state.setdefault("actor_role", acting.role)
            if not state.get("device_id"):
                state.setdefault("via", acting.via)
        return super().to_stored_event(domain_event)
