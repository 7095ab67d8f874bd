"""The difference-in-differences estimator and its bootstrap interval on synthetic cohorts."""

from __future__ import annotations

import numpy as np

from app.analysis.did import Comparison, estimate

WINDOW_UNITS = 800 * 26  # a month of a worker's output


def _draw(
    rng: np.random.Generator, effect: float, cohorts: int = 6, per: int = 5, peers: int = 15
) -> Comparison:
    """Defect rates of trained people and their cohorts' peers, Poisson-noisy like a plant's."""
    b, a, cohort, cb, ca, peer_cohort = [], [], [], [], [], []
    for k in range(cohorts):
        shift = rng.normal(1.0, 0.05)  # the whole team has a better or worse month
        rates = rng.uniform(0.015, 0.03, peers)
        cb += list(rng.poisson(WINDOW_UNITS * rates) / WINDOW_UNITS)
        ca += list(rng.poisson(WINDOW_UNITS * rates * shift) / WINDOW_UNITS)
        peer_cohort += [k] * peers
        for rate in rng.uniform(0.015, 0.03, per):
            b.append(rng.poisson(WINDOW_UNITS * rate) / WINDOW_UNITS)
            a.append(rng.poisson(WINDOW_UNITS * rate * shift * (1 + effect)) / WINDOW_UNITS)
            cohort.append(k)
    return Comparison(
        np.array(b),
        np.array(a),
        np.array(cohort),
        np.array(cb),
        np.array(ca),
        np.array(peer_cohort),
    )


def test_the_interval_holds_the_true_effect_about_95_times_in_100() -> None:
    rng = np.random.default_rng(11)
    draws = 120
    held = 0
    for _ in range(draws):
        e = estimate(_draw(rng, -0.2), higher_is_better=False, threshold=0.05)
        held += e.ci95[0] <= -0.2 <= e.ci95[1]
    assert 0.9 <= held / draws <= 0.99


def test_a_team_wide_swing_is_not_taken_for_an_effect() -> None:
    e = estimate(_draw(np.random.default_rng(3), 0.0), higher_is_better=True, threshold=0.05)
    assert e.did is not None and abs(e.did) < 0.05
    assert e.ci95[0] <= 0 <= e.ci95[1]


def test_conversion_counts_people_who_improved_beyond_the_threshold() -> None:
    c = Comparison(
        b=np.array([100.0, 100.0, 100.0, 100.0]),
        a=np.array([120.0, 110.0, 104.0, 90.0]),
        cohort=np.array([0, 0, 0, 0]),
        cb=np.array([100.0, 100.0]),
        ca=np.array([100.0, 100.0]),
        peer_cohort=np.array([0, 0]),
    )
    e = estimate(c, higher_is_better=True, threshold=0.05)
    assert e.conversion_rate == 0.5
    assert e.did is not None and abs(e.did - 0.06) < 1e-9


def test_no_trained_people_gives_no_numbers() -> None:
    empty = np.array([], dtype=float)
    c = Comparison(
        empty, empty, np.array([], dtype=np.intp), empty, empty, np.array([], dtype=np.intp)
    )
    e = estimate(c, higher_is_better=True, threshold=0.05)
    assert e.n == 0 and e.did is None and e.ci95 == (None, None)
