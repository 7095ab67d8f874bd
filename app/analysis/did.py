"""Difference-in-differences of trained people against their untrained peers, with
bootstrap intervals.

A trained person i brings their own metric before and after training (`b`, `a`) and
belongs to a cohort: same team, same position, same training day. The cohort's peers
bring their metric over the same calendar days (`cb`, `ca`), and their mean is the
person's comparison. The effect is relative and pooled over people:

    did = (Σa / Σb) / (Σ cohort-mean ca / Σ cohort-mean cb) − 1

so +15% output on the trained while the whole team drifts 5% gives 0.15, not 0.2.

The 95% interval (scipy.stats.bootstrap) resamples the trained people and the peers
independently — both carry noise, and resampling only the trained would make the interval
too narrow where a cohort's peers are few. A person converted when their own ratio moved
beyond `threshold` the good way.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import DegenerateDataWarning, bootstrap

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]

#: below this many trained people (or peers) an effect is reported with a warning
MIN_SAMPLE = 10
#: bootstrap resamples; with the seed below the same data always gives the same interval
RESAMPLES = 2000
#: for the groups of a report (sessions, departments): many small intervals
GROUP_RESAMPLES = 500
SEED = 20261207
#: BCa needs a jackknife over every person (quadratic); past this, percentile intervals
BCA_LIMIT = 3000


@dataclass(frozen=True)
class Comparison:
    """Trained people (`b`, `a`, `cohort`) and peer windows (`cb`, `ca`, `peer_cohort`)."""

    b: Floats
    a: Floats
    cohort: Ints
    cb: Floats
    ca: Floats
    peer_cohort: Ints

    @property
    def n(self) -> int:
        return int(self.b.size)

    def take(self, mask: NDArray[np.bool_]) -> Comparison:
        """The trained people where `mask` holds, with the peers of their cohorts."""
        keep = np.isin(self.peer_cohort, self.cohort[mask])
        return Comparison(
            self.b[mask],
            self.a[mask],
            self.cohort[mask],
            self.cb[keep],
            self.ca[keep],
            self.peer_cohort[keep],
        )

    def peer_means(self) -> tuple[Floats, Floats]:
        """Each trained person's peers' mean before and after."""
        size = int(max(self.cohort.max(initial=-1), self.peer_cohort.max(initial=-1))) + 1
        count = np.bincount(self.peer_cohort, minlength=size).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            cb = np.bincount(self.peer_cohort, self.cb, minlength=size) / count
            ca = np.bincount(self.peer_cohort, self.ca, minlength=size) / count
        return cb[self.cohort], ca[self.cohort]

    def person_effects(self) -> Floats:
        """Each trained person's own relative difference-in-differences."""
        cb, ca = self.peer_means()
        with np.errstate(divide="ignore", invalid="ignore"):
            result: Floats = (self.a / self.b) / (ca / cb) - 1.0
        return result


@dataclass(frozen=True)
class Effect:
    """A pooled relative effect with its interval and conversion rate."""

    n: int
    before: float | None
    after: float | None
    control_before: float | None
    control_after: float | None
    did: float | None
    ci95: tuple[float | None, float | None]
    conversion_rate: float | None

    @property
    def interval_excludes_zero(self) -> bool:
        lo, hi = self.ci95
        return lo is not None and hi is not None and (lo > 0 or hi < 0)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _pooled(b: Floats, a: Floats, cb: Floats, ca: Floats, axis: int = -1) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        result: Floats = (a.sum(axis) / b.sum(axis)) / (ca.sum(axis) / cb.sum(axis)) - 1.0
    return result


def estimate(
    c: Comparison, *, higher_is_better: bool, threshold: float, resamples: int = RESAMPLES
) -> Effect:
    """The pooled effect, its bootstrap 95% interval and the conversion rate. Fewer
    `resamples` (groups of a report) trade a little precision in the interval's ends for
    speed."""
    if c.n == 0:
        return Effect(0, None, None, None, None, None, (None, None), None)
    cb, ca = c.peer_means()
    did = _finite(float(_pooled(c.b, c.a, cb, ca)))
    ci: tuple[float | None, float | None] = (None, None)
    if c.n >= 2 and c.cb.size >= 2 and did is not None:
        ci = _interval(c, resamples)
    own = c.person_effects()
    improved = own > threshold if higher_is_better else own < -threshold
    return Effect(
        n=c.n,
        before=_finite(float(c.b.mean())),
        after=_finite(float(c.a.mean())),
        control_before=_finite(float(cb.mean())),
        control_after=_finite(float(ca.mean())),
        did=did,
        ci95=ci,
        conversion_rate=float(np.mean(improved)),
    )


def _interval(c: Comparison, resamples: int) -> tuple[float | None, float | None]:
    size = int(max(c.cohort.max(), c.peer_cohort.max())) + 1

    def statistic(people: Floats, peers: Floats, axis: int = -1) -> Floats:
        # resamples arrive as index arrays, shape (..., n) and (..., m)
        ti, pj = people.astype(np.intp), peers.astype(np.intp)
        lead = ti.shape[:-1]
        ti, pj = ti.reshape(-1, ti.shape[-1]), pj.reshape(-1, pj.shape[-1])
        rows = np.arange(ti.shape[0])[:, None]
        flat = (rows * size + c.peer_cohort[pj]).ravel()
        bins = ti.shape[0] * size
        count = np.bincount(flat, minlength=bins).reshape(-1, size)
        with np.errstate(divide="ignore", invalid="ignore"):
            cb = np.bincount(flat, c.cb[pj].ravel(), minlength=bins).reshape(-1, size) / count
            ca = np.bincount(flat, c.ca[pj].ravel(), minlength=bins).reshape(-1, size) / count
        cbi, cai = cb[rows, c.cohort[ti]], ca[rows, c.cohort[ti]]
        seen = np.isfinite(cbi) & np.isfinite(cai)  # a cohort may draw no peer this time
        b, a = np.where(seen, c.b[ti], 0.0), np.where(seen, c.a[ti], 0.0)
        cbi, cai = np.where(seen, cbi, 0.0), np.where(seen, cai, 0.0)
        return _pooled(b, a, cbi, cai).reshape(lead)

    people = np.arange(c.n, dtype=float)
    peers = np.arange(c.cb.size, dtype=float)
    with warnings.catch_warnings():
        # all-alike groups (one person, one peer) have no BCa interval: None is the answer
        warnings.simplefilter("ignore", DegenerateDataWarning)
        result = bootstrap(
            (people, peers),
            statistic,
            vectorized=True,
            n_resamples=resamples,
            batch=100,
            confidence_level=0.95,
            method="BCa" if c.n + c.cb.size <= BCA_LIMIT else "percentile",
            rng=np.random.default_rng(SEED),
        )
    low, high = result.confidence_interval
    return _finite(float(low)), _finite(float(high))
