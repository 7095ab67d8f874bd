"""Request rate limits: a token bucket per device, per login and per address, so one
misbehaving tablet, script or host cannot starve the others. Counted in memory per process
(each web node limits its own share), like the failed-login throttle."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimit:
    """`per_s` requests a second on average, up to `burst` at once (0: no limit)."""

    per_s: float
    burst: int

    @property
    def off(self) -> bool:
        return self.per_s <= 0 or self.burst <= 0


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Buckets:
    """One token bucket per key under one limit."""

    limit: RateLimit
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> int | None:
        """Spend one request of `key`: None when allowed, else whole seconds to wait."""
        if self.limit.off:
            return None
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= 100_000:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(self.limit.burst), now)
            bucket.tokens = min(
                float(self.limit.burst), bucket.tokens + (now - bucket.at) * self.limit.per_s
            )
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / self.limit.per_s))

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled (they hold nothing a fresh one would not)."""
        refill = self.limit.burst / self.limit.per_s
        for key in [k for k, b in self._buckets.items() if now - b.at >= refill]:
            del self._buckets[key]


@dataclass
class RateLimits:
    """The three limits a request passes: its address always, and its device or login
    (identified by a digest of the token it presents) when it brings one."""

    per_address: Buckets
    per_device: Buckets
    per_login: Buckets

    @classmethod
    def of(cls, address: RateLimit, device: RateLimit, login: RateLimit) -> RateLimits:
        return cls(Buckets(address), Buckets(device), Buckets(login))

    def retry_after(self, address: str, device: str | None, login: str | None) -> int | None:
        """None when the request may go on, else seconds until it may be sent again (an
        empty `address` is not limited by address)."""
        waits = [self.per_address.take(address)] if address else []
        if device is not None:
            waits.append(self.per_device.take(device))
        if login is not None:
            waits.append(self.per_login.take(login))
        found = [w for w in waits if w is not None]
        return max(found) if found else None
