"""Photos of photos, simulated: what a kiosk camera sees when someone holds up a phone showing a
colleague's picture, or a print of it. Used to measure and test the selfie liveness check
(``bench/liveness_eval.py``, tests) where no real spoof photos exist: no camera was at hand.

Each step imitates one cue the real thing carries: a screen's sub-pixel grid sampled again by
the camera (moiré), a raised black level and a blue cast, a phone's bezel or a paper's white
margin, a tilt (perspective), glare on glass or a sheen on paper, the camera's defocus and
noise, and the picture's earlier JPEG compression. They are an imitation: real re-photographed
screens and prints were not measured (docs/decisions/0129-selfie-liveness.md).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from vision.geometry import Box

Image = NDArray[np.uint8]
#: the kiosk camera's frame (portrait, as tablets hold it)
FRAME = (720, 960)


def _jpeg(rgb: Image, quality: int) -> Image:
    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


def _backdrop(rng: np.random.Generator, size: tuple[int, int]) -> Image:
    """A dim, blurred room behind the held-up picture: smooth colour gradients and blobs."""
    w, h = size
    low = rng.uniform(40, 160, (4, 3, 3)).astype(np.float32)
    room = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    room += rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    return np.asarray(np.clip(cv2.GaussianBlur(room, (0, 0), 3), 0, 255), dtype=np.uint8)


def _glare(rgb: NDArray[np.float32], rng: np.random.Generator, strength: float) -> None:
    """A soft bright ellipse: a lamp reflected in glass, or the sheen on paper."""
    h, w = rgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h
    rx, ry = rng.uniform(0.1, 0.4) * w, rng.uniform(0.05, 0.3) * h
    blob = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
    rgb += (strength * 255 * blob)[..., None]


def _hold_up(
    picture: NDArray[np.float32], rng: np.random.Generator, fill: tuple[float, float]
) -> Image:
    """Place ``picture`` (float RGB) tilted in the camera frame over a room, then the camera:
    defocus, sensor noise, JPEG."""
    w, h = FRAME
    ph, pw = picture.shape[:2]
    share = rng.uniform(*fill)
    scale = share * min(h / ph, w / pw)
    tw, th = pw * scale, ph * scale
    x0, y0 = rng.uniform(0, w - tw), rng.uniform(0, h - th)
    jitter = rng.uniform(-0.06, 0.06, (4, 2)) * np.array([tw, th])
    dst = np.float32([[x0, y0], [x0 + tw, y0], [x0 + tw, y0 + th], [x0, y0 + th]]) + jitter
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    warp = cv2.getPerspectiveTransform(src, np.float32(dst))
    # INTER_LINEAR from a finer grid: the camera samples the screen's pixels again (aliasing)
    seen = cv2.warpPerspective(picture, warp, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), warp, (w, h))[..., None]
    out = _backdrop(rng, FRAME).astype(np.float32) * (1 - mask) + seen * mask
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.2))
    out += rng.normal(0, rng.uniform(2, 5), out.shape).astype(np.float32)
    return _jpeg(np.asarray(np.clip(out, 0, 255), dtype=np.uint8), int(rng.integers(75, 92)))


def close_up(rgb: Image, face: Box, width: float = 2.2) -> Image:
    """The photo cut around its face (``width`` face widths wide, 1.2 times as tall), as
    someone zooms in on a colleague's picture before holding it up, so that the face is large
    enough for the kiosk to take."""
    side = int(face.w * width)
    cx, cy = face.x + face.w // 2, face.y + face.h // 2
    x0, y0 = max(0, cx - side // 2), max(0, cy - side * 11 // 20)
    return np.ascontiguousarray(rgb[y0 : y0 + side * 6 // 5, x0 : x0 + side])


def screen_replay(rgb: Image, rng: np.random.Generator) -> Image:
    """``rgb`` shown on a phone held up to the camera: sub-pixel stripes, raised blacks, a
    blue cast, a black bezel, glare on the glass."""
    shown = _jpeg(rgb, int(rng.integers(60, 90)))  # the picture was sent or saved as JPEG
    long_side = int(rng.integers(360, 640))
    k = long_side / max(shown.shape[:2])
    screen = cv2.resize(shown, None, fx=k, fy=k, interpolation=cv2.INTER_AREA).astype(np.float32)
    # each screen pixel is three coloured stripes: 3× finer, one channel lit per column
    fine = np.repeat(np.repeat(screen, 3, axis=0), 3, axis=1)
    stripes = np.zeros((1, fine.shape[1], 3), np.float32)
    for c in range(3):
        stripes[0, c::3, c] = 1.0
    gap = rng.uniform(0.55, 0.8)  # how much light the stripes of the other colours let through
    fine *= stripes * (1 - gap) + gap
    black, tint = rng.uniform(15, 40), np.float32([0.92, 0.97, 1.06])
    fine = black + fine * (255 - black) / 255 * tint
    _glare(fine, rng, rng.uniform(0.15, 0.5))
    bezel = int(0.05 * max(fine.shape[:2]))
    phone = cv2.copyMakeBorder(fine, bezel, bezel * 2, bezel, bezel, cv2.BORDER_CONSTANT, 12.0)
    return _hold_up(phone, rng, (0.7, 0.98))


def printed_photo(rgb: Image, rng: np.random.Generator) -> Image:
    """``rgb`` printed on paper and held up: ink range narrower than a scene's, less colour, a
    halftone texture, a white margin, a broad sheen."""
    paper = _jpeg(rgb, int(rng.integers(60, 90))).astype(np.float32)
    grey = paper.mean(axis=2, keepdims=True)
    paper = grey + (paper - grey) * rng.uniform(0.6, 0.85)
    ink, white = rng.uniform(25, 55), rng.uniform(215, 240)
    paper = ink + paper * (white - ink) / 255 * np.float32([1.03, 1.0, 0.93])
    h, w = paper.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period, angle = rng.uniform(2.5, 4.0), rng.uniform(0, np.pi)
    dots = np.cos((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period) * np.cos(
        (-xx * np.sin(angle) + yy * np.cos(angle)) * 2 * np.pi / period
    )
    paper += (rng.uniform(6, 14) * dots)[..., None]
    _glare(paper, rng, rng.uniform(0.05, 0.25))
    margin = int(rng.uniform(0.03, 0.08) * max(h, w))
    sheet = cv2.copyMakeBorder(paper, *([margin] * 4), cv2.BORDER_CONSTANT, value=(white,) * 3)
    return _hold_up(sheet, rng, (0.75, 1.0))


def honest_capture(rgb: Image, rng: np.random.Generator) -> Image:
    """The same photo as a kiosk might take it of the person themself: a little light
    change, a slight turn, sensor noise, JPEG (the honest twin of the spoofs above)."""
    h, w = rgb.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-5, 5), 1.0)
    out = cv2.warpAffine(rgb, turn, (w, h), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    out = out * rng.uniform(0.8, 1.1) + rng.normal(0, 2, out.shape).astype(np.float32)
    return _jpeg(np.asarray(np.clip(out, 0, 255), dtype=np.uint8), int(rng.integers(80, 95)))
