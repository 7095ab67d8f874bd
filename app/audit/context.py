"""Who is acting: every event stored while a request (or a command) runs records the actor's
role and their device or address beside the `actor` the command names.

The web layer sets the context once per request; worker threads started with
`asyncio.to_thread` inherit it. Events that already say (device check-ins carry their
`device_id`) keep what they say.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from app.audit.shredding import PERSONAL, Keys, people_of, shield, unshield


@dataclass(frozen=True)
class Acting:
    """The role of whoever acts now, and the device or address they act from."""

    role: str
    via: str


ACTING: ContextVar[Acting | None] = ContextVar("muster_acting", default=None)


class AuditedMapper(Mapper[Any]):
    """Stores the acting role and device or address into each event that lacks them, and
    seals a person's name and identifiers with their own key (`app.audit.shredding`) once
    `people` is set (`app.application.Training` sets it)."""

    people: Keys | None = None

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        acting = ACTING.get()
        if acting is not None:
            state = vars(domain_event)
            state.setdefault("actor_role", acting.role)
            if not state.get("device_id"):
                state.setdefault("via", acting.via)
        if self.people is None or type(domain_event).__qualname__ not in PERSONAL:
            return super().to_stored_event(domain_event)
        # as the base class does, on a copy: the live event keeps the plain values
        topic = get_topic(type(domain_event))
        event_state = dict(vars(domain_event))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            event_state["class_version"] = class_version
        shield(type(domain_event).__qualname__, event_state, originator_id, self.people)
        stored_state = self.transcoder.encode(event_state)
        if self.compressor:
            stored_state = self.compressor.compress(stored_state)
        if self.cipher:
            stored_state = self.cipher.encrypt(stored_state)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        if self.people is not None:
            unshield(type(event).__qualname__, vars(event), self.people)
        return event

    def to_domain_events(self, stored_events: Sequence[StoredEvent]) -> list[Any]:
        """Many events decoded as `to_domain_event` does, the keys of everyone they name read
        in one query first (not one lookup per person: a projection round of check-ins names
        a new person in nearly every event)."""
        decode = super().to_domain_event
        events = [decode(stored) for stored in stored_events]
        if self.people is not None:
            self.people.load(people_of(events))
            for event in events:
                unshield(type(event).__qualname__, vars(event), self.people)
        return events

    def to_sealed_event(self, stored_event: StoredEvent) -> Any:
        """The event with a person's sealed fields left sealed: for readers that never
        look at names or badges (the alert engine counts check-ins, the roster keeper
        follows hires by number), so a burst costs them no key lookups or decryption."""
        return super().to_domain_event(stored_event)
