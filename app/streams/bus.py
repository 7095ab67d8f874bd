"""The event-bus port: "a view changed" signals fan out from projections to web processes.

Subjects follow NATS conventions (`muster.live.session.<id>`; `*` matches one token,
`>` the rest), so the in-process bus and the NATS JetStream bus are interchangeable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Message:
    """One message on the bus."""

    subject: str
    data: bytes


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a trailing `>` is one or more tokens."""
    p_tokens = pattern.split(".")
    s_tokens = subject.split(".")
    for i, token in enumerate(p_tokens):
        if token == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens) or (token != "*" and token != s_tokens[i]):
            return False
    return len(p_tokens) == len(s_tokens)


class Subscription(ABC):
    """An async iterator of messages; close it to stop receiving."""

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[Message]: ...

    @abstractmethod
    async def close(self) -> None: ...


class EventBus(ABC):
    """Publish/subscribe between projections and websocket hubs."""

    @abstractmethod
    async def publish(self, subject: str, data: bytes, *, msg_id: str | None = None) -> None:
        """Publish `data`; a repeated `msg_id` is delivered once (where the backend dedupes)."""

    @abstractmethod
    async def subscribe(self, pattern: str) -> Subscription:
        """Receive every message whose subject matches `pattern` from now on."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; subscriptions end."""

    def on_resume(self, listener: Callable[[], None]) -> None:
        """Call `listener` (on the event loop) each time the bus is back after an outage and
        the subscriptions receive again: messages published meanwhile may be missing."""
        self.__dict__.setdefault("_resume_listeners", []).append(listener)

    def resumed(self) -> None:
        """The bus is back (backends that can lose their connection call this)."""
        for listener in self.__dict__.get("_resume_listeners", []):
            listener()
