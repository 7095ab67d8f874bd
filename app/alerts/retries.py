"""Trying again a notice a destination did not take: one policy for alert notices
(`app.alerts.delivery`), session notices (`app.services.notice_delivery`) and scheduled
reports (`app.services.report_delivery`), which all send through `app.alerts.delivery.send`.

A copy a destination did not take is tried again after a wait that doubles from `base_s` at
each failed attempt (at most `max_s`), until `attempts` in all were made (the first included)
or the next one would come too late; then it is dead (the dead-letter list). Where each keeps
its jobs and what it records of an attempt stays with its feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Retries:
    """How often and how soon a notice that was not taken is tried again."""

    #: attempts in all, the first included
    attempts: int
    #: the wait after the first failed attempt; it doubles after each further one
    base_s: float
    #: the longest wait between two attempts
    max_s: float = math.inf

    def wait(self, attempt: int) -> timedelta:
        """How long after failed attempt number `attempt` (1: the first) the next one is due."""
        return timedelta(seconds=min(self.base_s * 2 ** (attempt - 1), self.max_s))

    def gives_up(self, attempt: int, retry_at: datetime, until: datetime | None = None) -> bool:
        """True when attempt number `attempt` is the last: the attempts ran out, or the next
        (at `retry_at`) would not come before `until`."""
        return attempt >= self.attempts or (until is not None and retry_at >= until)

    def retry_at(
        self, attempt: int, failed_at: datetime, until: datetime | None = None
    ) -> datetime | None:
        """When to try again after attempt number `attempt` failed at `failed_at`; None when it
        was the last (the notice is dead)."""
        at = failed_at + self.wait(attempt)
        return None if self.gives_up(attempt, at, until) else at
