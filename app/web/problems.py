"""Problems: refusals the API reports as RFC 9457 problem details.

Raised anywhere below the web layer with a message key; the web layer localises the
detail and serialises it. `slug` becomes the stable `type` URI.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://muster.dev/problems/"


class Problem(Exception):
    """A client-visible refusal with a stable type and a localised message key."""

    def __init__(self, status: int, slug: str, key: str, **extra: Any) -> None:
        super().__init__(f"{status} {slug}")
        self.status = status
        self.slug = slug
        self.key = key
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug
