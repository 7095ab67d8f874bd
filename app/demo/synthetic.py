"""Synthetic classroom photos with known answers, for the evaluation harness and tests.

Faces come from images the caller supplies (the harness uses scikit-image's public-domain
samples). A head can be turned (yaw) or bowed (pitch) with a depth warp: the face is laid on a
half-ellipsoid with a nose bump and rotated, so the nose moves against the eyes as on a real
head. Not a substitute for real classroom photos, but every number it yields is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.geometry import Box

Image = NDArray[np.uint8]


def _head_depth(h: int, w: int) -> NDArray[np.float32]:
    """Depth of a face crop laid on a half-ellipsoid with a nose bump (pixels, towards the
    camera)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # Centred on the middle pixel, so that the depth map is its own mirror image and a head
    # turned left is drawn as the mirror image of the mirrored head turned right.
    cx, cy = (w - 1) / 2, (h - 1) / 2
    r = 1 - ((xs - cx) / (w / 2)) ** 2 - ((ys - cy) / (h / 2)) ** 2
    z = 0.45 * w * np.sqrt(np.clip(r, 0, 1))
    nose = (
        0.18 * w * np.exp(-(((xs - cx) ** 2 + (ys - cy - 0.08 * h) ** 2) / (2 * (0.07 * w) ** 2)))
    )
    return np.asarray(z + nose, dtype=np.float32)


def _turn_rows(face: Image, depth: NDArray[np.float32], degrees: float) -> Image:
    """Rotate about the vertical axis by ``degrees`` (> 0: the face turns to the image's right).

    Each row is rendered forwards: a surface point moves to ``x cos θ + z sin θ``; scanning from
    the side that stays visible, a point hidden behind a nearer one (the folding far cheek) is
    dropped. The output pixel then takes the colour of the visible source point under it.
    """
    if degrees < 0:
        return np.ascontiguousarray(_turn_rows(face[:, ::-1], depth[:, ::-1], -degrees)[:, ::-1])
    h, w = face.shape[:2]
    t = math.radians(degrees)
    cx = (w - 1) / 2
    xs = np.arange(w, dtype=np.float32)
    moved = cx + (xs[None, :] - cx) * math.cos(t) + depth * math.sin(t)
    # Turning right, the right side folds away: scan right to left, keep points left of all
    # points already seen.
    nearest = np.minimum.accumulate(moved[:, ::-1], axis=1)[:, ::-1]
    visible = moved <= nearest + 1e-3
    map_x = np.empty((h, w), np.float32)
    for row in range(h):
        keep = visible[row]
        src, dst = xs[keep], moved[row, keep]
        map_x[row] = np.interp(xs, dst, src, left=-1.0, right=-1.0)
    map_y = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    return np.asarray(
        cv2.remap(face, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
        dtype=np.uint8,
    )


def turn_head(face: Image, yaw: float = 0.0, pitch: float = 0.0) -> Image:
    """Rotate a frontal face crop by ``yaw`` (degrees, + turns to the image's right) and
    ``pitch`` (degrees, + bows the head: the nose drops towards the chin, the chin hides) with an
    ellipsoid-plus-nose depth model and hidden-surface removal."""
    h, w = face.shape[:2]
    depth = _head_depth(h, w)
    out = face
    if yaw:
        out = _turn_rows(out, depth, yaw)
    if pitch:
        turned = _turn_rows(np.ascontiguousarray(out.swapaxes(0, 1)), depth.T.copy(), pitch)
        out = np.ascontiguousarray(turned.swapaxes(0, 1))
    return out


@dataclass(frozen=True)
class PlacedFace:
    """Where a face was put and whether it looks at the front."""

    box: Box
    attentive: bool
    yaw: float
    pitch: float


@dataclass(frozen=True)
class SyntheticRoom:
    """A generated room photo and its truth."""

    rgb: Image
    faces: tuple[PlacedFace, ...]

    @property
    def headcount(self) -> int:
        """How many people are in the photo."""
        return len(self.faces)

    @property
    def attentive(self) -> int:
        """How many of them look at the front."""
        return sum(1 for f in self.faces if f.attentive)


def room_background(
    rng: np.random.Generator, textures: Sequence[Image], size: tuple[int, int]
) -> Image:
    """A plausible classroom backdrop: wall gradient, floor, windows, desks, posters, noise."""
    width, height = size
    top = rng.uniform(150, 230, 3)
    bottom = rng.uniform(60, 140, 3)
    t = np.linspace(0, 1, height)[:, None, None]
    room = (top * (1 - t) + bottom * t) * np.ones((1, width, 1))
    for _ in range(int(rng.integers(2, 5))):  # windows / boards
        x, y = int(rng.integers(0, width - 300)), int(rng.integers(0, height // 3))
        w, h = int(rng.integers(150, 400)), int(rng.integers(100, 250))
        room[y : y + h, x : x + w] = rng.uniform(40, 250, 3)
    for tex in textures[: int(rng.integers(1, len(textures) + 1))]:  # posters and clutter
        w = int(rng.integers(120, 320))
        h = max(40, int(w * tex.shape[0] / tex.shape[1]))
        x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
        patch = cv2.resize(tex, (w, h), interpolation=cv2.INTER_AREA)
        room[y : y + h, x : x + w] = patch if patch.ndim == 3 else patch[..., None]
    noise = rng.normal(0, 4, room.shape)
    return np.asarray(np.clip(room + noise, 0, 255), dtype=np.uint8)


def _paste(room: Image, patch: Image, x: int, y: int) -> None:
    h, w = patch.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.46), int(h * 0.48)), 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 30))[..., None]
    region = room[y : y + h, x : x + w].astype(np.float32)
    blended = np.clip(region * (1 - alpha) + patch * alpha, 0, 255)
    room[y : y + h, x : x + w] = blended.astype(np.uint8)


def head_patch(
    face: Image, width: int, rng: np.random.Generator, yaw: float, pitch: float, roll: float
) -> Image:
    """A face crop scaled to ``width``, turned, rolled and relit."""
    face = turn_head(face, yaw, pitch) if (yaw or pitch) else face
    h = int(width * face.shape[0] / face.shape[1])
    patch = cv2.resize(
        face, (width, h), interpolation=cv2.INTER_AREA if width < face.shape[1] else cv2.INTER_CUBIC
    )
    if roll:
        m = cv2.getRotationMatrix2D((width / 2, h / 2), roll, 1.0)
        patch = cv2.warpAffine(patch, m, (width, h), borderMode=cv2.BORDER_REPLICATE)
    gain, gamma = rng.uniform(0.6, 1.25), rng.uniform(0.8, 1.25)
    lit = 255 * (np.clip(patch * gain, 0, 255) / 255) ** gamma
    return np.asarray(lit, dtype=np.uint8)


def seat_person(
    room: Image,
    face: Image,
    x: int,
    y: int,
    width: int,
    rng: np.random.Generator,
    yaw: float = 0.0,
    pitch: float = 0.0,
    roll: float = 0.0,
) -> PlacedFace:
    """Draw shoulders and a head (``face`` turned by ``yaw``/``pitch``, rolled, relit) with its
    top-left corner at (``x``, ``y``), in place. A head turned 25° or more is not attentive."""
    patch = head_patch(face, width, rng, yaw, pitch, roll)
    ph, pw = patch.shape[:2]
    # Shoulders first, so the head sits on a body.
    cv2.ellipse(
        room,
        (x + pw // 2, y + int(ph * 1.55)),
        (int(pw * 0.9), int(ph * 0.6)),
        0,
        180,
        360,
        tuple(int(c) for c in rng.uniform(20, 200, 3)),
        -1,
    )
    _paste(room, patch, x, y)
    attentive = abs(yaw) < 25 and abs(pitch) < 25
    return PlacedFace(Box(x, y, pw, ph), attentive, yaw, pitch)


def make_room(
    rng: np.random.Generator,
    faces: Sequence[Image],
    textures: Sequence[Image],
    count: int,
    turned_share: float = 0.25,
    size: tuple[int, int] = (1920, 1080),
    min_face: int = 48,
    max_face: int = 130,
    background: Image | None = None,
    turned_yaw: tuple[float, float] = (30.0, 50.0),
    bowed_pitch: tuple[float, float] = (25.0, 40.0),
) -> SyntheticRoom:
    """A room with ``count`` people seated in rows (nearer rows larger), some turned away.

    ``faces`` are frontal head crops (face centred, some hair and chin); each person gets a
    random one. About ``turned_share`` of the people turn sideways (``turned_yaw`` degrees) or
    bow their heads (``bowed_pitch``): those are the inattentive ones.
    """
    width, height = size
    room = background.copy() if background is not None else room_background(rng, textures, size)
    rows = max(1, math.ceil(count / 7))
    per_row = [count // rows + (1 if r < count % rows else 0) for r in range(rows)]
    placed: list[PlacedFace] = []
    for r, n in enumerate(per_row):
        depth = (r + 1) / rows
        face_w = int(min_face + (max_face - min_face) * depth * rng.uniform(0.85, 1.0))
        y_row = int(height * (0.25 + 0.55 * depth)) - face_w
        slot = width / n
        for i in range(n):
            turned = rng.random() < turned_share
            yaw = pitch = 0.0
            if turned:
                if rng.random() < 0.5:
                    yaw = float(rng.choice([-1, 1]) * rng.uniform(*turned_yaw))
                else:
                    pitch = float(rng.uniform(*bowed_pitch))
            else:
                yaw = float(rng.uniform(-8, 8))
            roll = float(rng.uniform(-10, 10))
            face = faces[int(rng.integers(len(faces)))]
            ph = int(face_w * face.shape[0] / face.shape[1])
            x = int(slot * i + (slot - face_w) / 2 + rng.uniform(-0.15, 0.15) * (slot - face_w))
            y = int(np.clip(y_row + rng.integers(-15, 16), 0, height - ph * 2))
            x = int(np.clip(x, 0, width - face_w))
            placed.append(seat_person(room, face, x, y, face_w, rng, yaw, pitch, roll))
    return SyntheticRoom(room, tuple(placed))
