"""Head pose from dlib's 5-point landmarks and detector evidence: does a face look at the front?

The 5 points are the outer and inner corners of both eyes and the base of the nose. In the frame
aligned with the eye line, the nose base sits centred below the eyes on a frontal face; turning
the head moves it sideways (yaw), bowing it changes its drop below the eyes (pitch). This avoids
the 68-point model, whose training data forbids commercial use (docs/vision-history.md).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeadPose:
    """Pose cues of one face, all unitless ratios of the distance between the eyes.

    ``yaw``: sideways offset of the nose base from between the eyes (0 frontal, ±0.3 ≈ 30°).
    ``pitch``: drop of the nose base below the eye line (~0.7 frontal; smaller or larger when
    the head bows or tilts back). ``roll``: eye line angle in degrees. ``eye_ratio``: log ratio
    of the two eye widths (the far eye looks narrower when the head turns).
    """

    yaw: float
    pitch: float
    roll: float
    eye_ratio: float


def head_pose(points: Sequence[tuple[float, float]]) -> HeadPose:
    """``HeadPose`` from dlib's 5 landmarks, in dlib's order (one eye's outer, inner corner; the
    other eye's outer, inner corner; nose base)."""
    p = np.asarray(points, dtype=np.float64).reshape(5, 2)
    eye_a, eye_b = (p[0] + p[1]) / 2, (p[2] + p[3]) / 2
    axis = eye_a - eye_b
    between = float(np.linalg.norm(axis))
    if between < 1e-6:
        return HeadPose(0.0, 0.0, 0.0, 0.0)
    u = axis / between
    v = np.array([-u[1], u[0]])
    offset = p[4] - (eye_a + eye_b) / 2
    width_a = float(np.linalg.norm(p[0] - p[1]))
    width_b = float(np.linalg.norm(p[2] - p[3]))
    eye_ratio = math.log(max(width_a, 1e-6) / max(width_b, 1e-6))
    return HeadPose(
        yaw=float(offset @ u) / between,
        pitch=float(offset @ v) / between,
        roll=math.degrees(math.atan2(u[1], u[0])),
        eye_ratio=eye_ratio,
    )


@dataclass(frozen=True)
class FrontCue:
    """What YuNet's own five landmarks and score say about a face it found: ``yaw`` is the nose
    tip's sideways offset from between the eyes, ``pitch`` its drop below the eye line, both in
    eye distances (frontal: yaw ≈ 0, pitch ≈ 0.55); ``score`` is YuNet's confidence, which
    falls as a head turns or bows away from the camera."""

    yaw: float
    pitch: float
    score: float


def front_cue(points: Sequence[tuple[float, float]], score: float) -> FrontCue:
    """``FrontCue`` from YuNet's landmarks (right eye, left eye, nose tip, mouth corners)."""
    p = np.asarray(points, dtype=np.float64).reshape(5, 2)
    axis = p[1] - p[0]
    between = float(np.linalg.norm(axis))
    if between < 1e-6:
        return FrontCue(0.0, 0.0, score)
    u = axis / between
    v = np.array([-u[1], u[0]])
    offset = p[2] - (p[0] + p[1]) / 2
    return FrontCue(float(offset @ u) / between, float(offset @ v) / between, score)


@dataclass(frozen=True)
class AttentionRule:
    """Limits for 'looking at the front' (calibrated by bench/vision_eval.py)."""

    max_yaw: float = 0.25
    min_pitch: float = 0.45
    max_pitch: float = 1.10
    max_eye_ratio: float = 0.45
    max_roll: float = 30.0
    # When YuNet saw the face too, its landmarks and score must also say "front" (seeds 7–8).
    cue_max_yaw: float = 0.30
    cue_max_pitch: float = 0.80
    cue_min_score: float = 0.85


DEFAULT_ATTENTION = AttentionRule()


def is_attentive(
    pose: HeadPose | None,
    detectors: Collection[str],
    turned: bool,
    rule: AttentionRule = DEFAULT_ATTENTION,
    cue: FrontCue | None = None,
) -> bool:
    """Whether a face looks at the front of the room.

    Needs a frontal detector hit (``haar_frontal``, or ``hog`` not from its turned-head filters,
    ``turned``), or YuNet's close-up having counted it (``close_up``: small faces in crowds that
    only BlazeFace saw), landmarks, and a pose inside ``rule``; when YuNet saw the face, its
    ``cue`` must be inside ``rule`` too. A profile-only face is never attentive.
    """
    hog = "hog" in detectors
    frontal_seen = (
        "haar_frontal" in detectors or (hog and not turned) or (cue is not None and not hog)
    )
    if pose is None or not frontal_seen:
        return False
    if cue is not None and not (
        abs(cue.yaw) <= rule.cue_max_yaw
        and cue.pitch <= rule.cue_max_pitch
        and cue.score >= rule.cue_min_score
    ):
        return False
    return (
        abs(pose.yaw) <= rule.max_yaw
        and rule.min_pitch <= pose.pitch <= rule.max_pitch
        and abs(pose.eye_ratio) <= rule.max_eye_ratio
        and abs(pose.roll) <= rule.max_roll
    )
