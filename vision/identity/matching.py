"""Face matching decisions over 128-d embeddings: verify 1:1 and identify 1:N.

Pure functions over numbers. A decision is ``match``, ``unsure`` (ask for the badge) or
``no_match``; the band between ``accept`` and ``reject`` is the unsure zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

Embedding = NDArray[np.float64]
Decision = Literal["match", "unsure", "no_match"]


@dataclass(frozen=True)
class Thresholds:
    """Euclidean distance thresholds on dlib embeddings (calibrated in docs/benchmarks.md).

    ``accept``: at or below, the same person. ``reject``: above, someone else. Between: unsure.
    ``margin``: in 1:N, the runner-up (another person) must be this much further away, else unsure.
    """

    accept: float = 0.50
    reject: float = 0.60
    margin: float = 0.06

    def __post_init__(self) -> None:
        if not 0 < self.accept <= self.reject:
            raise ValueError("need 0 < accept <= reject")
        if self.margin < 0:
            raise ValueError("margin must be >= 0")


DEFAULT_THRESHOLDS: Final = Thresholds()


def decide(distance: float, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Decision:
    """The decision for one distance: monotone (further never decides 'more match')."""
    if distance <= thresholds.accept:
        return "match"
    if distance <= thresholds.reject:
        return "unsure"
    return "no_match"


def distance_to_templates(probe: Embedding, templates: Sequence[Embedding]) -> float:
    """Smallest Euclidean distance from ``probe`` to any of one person's templates."""
    if not templates:
        return float("inf")
    stack = np.asarray(templates, dtype=np.float64).reshape(len(templates), -1)
    return float(np.min(np.linalg.norm(stack - probe, axis=1)))


@dataclass(frozen=True)
class Verification:
    """Outcome of 1:1 verification (badge holder vs selfie)."""

    decision: Decision
    distance: float


def verify(
    probe: Embedding, templates: Sequence[Embedding], thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Verification:
    """Verify ``probe`` against one person's enrolled templates."""
    distance = distance_to_templates(probe, templates)
    return Verification(decide(distance, thresholds), distance)


@dataclass(frozen=True)
class Identification:
    """Outcome of 1:N identification. ``scope`` says where the answer came from."""

    decision: Decision
    employee_id: str | None
    distance: float
    scope: Literal["roster", "plant", "none"]
    runner_up_distance: float | None = None


Gallery = Mapping[str, Sequence[Embedding]]


def _rank(probe: Embedding, gallery: Gallery) -> list[tuple[float, str]]:
    return sorted((distance_to_templates(probe, t), emp) for emp, t in gallery.items() if t)


def _identify_in(
    probe: Embedding, gallery: Gallery, scope: Literal["roster", "plant"], thresholds: Thresholds
) -> Identification:
    ranked = _rank(probe, gallery)
    if not ranked:
        return Identification("no_match", None, float("inf"), "none")
    best_distance, best = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else None
    decision = decide(best_distance, thresholds)
    if (
        decision == "match"
        and runner_up is not None
        and runner_up - best_distance < thresholds.margin
    ):
        decision = "unsure"  # two people look alike: let the badge decide
    employee = best if decision != "no_match" else None
    return Identification(decision, employee, best_distance, scope, runner_up)


def identify(
    probe: Embedding,
    roster: Gallery,
    plant: Gallery | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Identification:
    """Identify ``probe``: the session roster first, then (if no match there) the whole plant.

    The plant search excludes roster members (already searched). An unsure roster answer is
    kept unless the plant has a clear match, so an outsider is never silently taken for a trainee.
    """
    in_roster = _identify_in(probe, roster, "roster", thresholds)
    if in_roster.decision == "match" or plant is None:
        return in_roster
    others = {emp: t for emp, t in plant.items() if emp not in roster}
    in_plant = _identify_in(probe, others, "plant", thresholds)
    for answer in (in_plant, in_roster):
        if answer.decision == "match":
            return answer
    for answer in (in_roster, in_plant):
        if answer.decision == "unsure":
            return answer
    return in_roster if in_roster.scope != "none" else in_plant
