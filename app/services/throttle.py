"""Failed-login throttling: after a few failures a login (or an address) is slowed, and after
more it is refused for a while. Counted in memory per process (each web node counts its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThrottlePolicy:
    """The knobs: failures before slowing, failures before refusing, and the window."""

    slow_after: int
    refuse_after: int
    window_s: float = 900.0
    max_delay_s: float = 2.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before answering, doubling from a quarter second."""
        if failures < self.slow_after:
            return 0.0
        return min(self.max_delay_s, 0.25 * 2 ** (failures - self.slow_after))


@dataclass
class _Count:
    failures: int
    first_at: float


@dataclass
class Throttle:
    """Failure counts per key inside a window that starts at the first failure."""

    policy: ThrottlePolicy
    clock: Callable[[], float] = time.monotonic
    _counts: dict[str, _Count] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _failures(self, key: str, now: float) -> _Count | None:
        count = self._counts.get(key)
        if count is not None and now - count.first_at > self.policy.window_s:
            del self._counts[key]
            return None
        return count

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again, or None when it is not refused."""
        now = self.clock()
        with self._lock:
            count = self._failures(key, now)
        if count is None or count.failures < self.policy.refuse_after:
            return None
        return max(1, int(self.policy.window_s - (now - count.first_at)) + 1)

    def delay(self, key: str) -> float:
        with self._lock:
            count = self._failures(key, self.clock())
        return self.policy.delay(count.failures if count else 0)

    def failed(self, key: str) -> None:
        now = self.clock()
        with self._lock:
            count = self._failures(key, now)
            if count is None:
                self._counts[key] = _Count(1, now)
            else:
                count.failures += 1
            if len(self._counts) > 100_000:  # forget stale keys rather than grow forever
                for stale in [k for k in self._counts if self._failures(k, now) is None]:
                    self._counts.pop(stale, None)

    def forget(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


@dataclass
class FailedLogins:
    """Per login (slowed after 3 failures, refused after 10) and per address (a wider net:
    slowed after 10, refused after 50), each for 15 minutes from its first failure."""

    per_login: Throttle = field(default_factory=lambda: Throttle(ThrottlePolicy(3, 10)))
    per_address: Throttle = field(default_factory=lambda: Throttle(ThrottlePolicy(10, 50)))

    def retry_after(self, login: str, address: str) -> int | None:
        """Seconds to wait when this login or address is refused for now."""
        waits = [
            w
            for w in (
                self.per_login.retry_after(login.lower()),
                self.per_address.retry_after(address),
            )
            if w is not None
        ]
        return max(waits) if waits else None

    def delay(self, login: str, address: str) -> float:
        return max(self.per_login.delay(login.lower()), self.per_address.delay(address))

    def failed(self, login: str, address: str) -> None:
        self.per_login.failed(login.lower())
        self.per_address.failed(address)

    def succeeded(self, login: str) -> None:
        self.per_login.forget(login.lower())
