"""Selfie liveness: how many simulated photos of photos it catches, how many honest selfies it
flags, and what it adds to a face check-in.

    nice uv run python bench/liveness_eval.py [--photos DIR ...] [--face-crops DIR ...]
        [--spoof-photos DIR ...] [--variants 3] [--max-fpr 0.02]

Honest selfies: scikit-image's astronaut, every photo in ``--photos`` folders (real faces; the
report names how many), every face at least ``min_face`` wide in the group photos of
``--face-crops`` folders, cut out around it (e.g. tests/fixtures/real_photos); each as taken
and as ``--variants`` honest captures (``tests.support.spoofs.honest_capture``). The 100 LFW crops
(25 px, blown up) are reported apart, being nothing like a kiosk photo. Spoofs: each honest
photo shown on a phone and printed (``screen_replay``, ``printed_photo``), ``--variants``
times each, plus any real re-photographed spoofs in ``--spoof-photos``. A selfie the face
check already refuses (no face, too small, blurred) is counted apart: it never reaches
liveness.

Photos are split by source photo (sha-256 of its name, even / odd) into a training half, on which
``spoof_below`` is chosen (the largest threshold whose honest flag rate stays within
``--max-fpr``), and a test half it is reported on, beside upstream's own threshold 0.5.
Latency is wall-clock per selfie: the liveness networks alone, and the whole ``check_selfie``."""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage import data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.demo.samples import lfw_faces
from tests.support.spoofs import close_up, honest_capture, printed_photo, screen_replay
from vision.detectors.hog import hog_detect
from vision.identity.engine import DlibFaceEngine, SelfieRules
from vision.liveness.model import LivenessPolicy

Image = NDArray[np.uint8]
#: no refusal and no flag while measuring: every score is seen
MEASURE = SelfieRules(liveness=LivenessPolicy(spoof_below=0.0, refuse_below=None))
#: the rules the tests use for LFW's soft crops (tests/faces.py LFW_FRIENDLY)
LFW_RULES = SelfieRules(
    min_sharpness=0.0, min_face=60, liveness=LivenessPolicy(spoof_below=0.0, refuse_below=None)
)


@dataclass
class Scored:
    source: str
    kind: str  # honest | lfw | screen | print | real_spoof
    score: float | None  # None: refused by the selfie check before liveness
    refusal: str | None
    liveness_ms: float
    liveness_cpu_ms: float
    total_ms: float


def read_rgb(path: Path) -> Image | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[:, :, ::-1])


def face_crops(engine: DlibFaceEngine, folder: Path) -> list[tuple[str, Image]]:
    """Each face wide enough for a selfie in a folder of group photos, cut out around it as
    the photo a kiosk would take of that person (``close_up``, 2.2 face widths)."""
    found: list[tuple[str, Image]] = []
    for path in sorted(folder.glob("*.jp*g")):
        rgb = read_rgb(path)
        if rgb is None:
            continue
        hits = hog_detect(rgb, 0) or hog_detect(rgb, 1)
        wide = [h.box for h in hits if h.box.w >= engine.rules.min_face]
        found += [(f"{path.name}#{n}", close_up(rgb, box)) for n, box in enumerate(wide)]
    return found


def in_training_half(source: str) -> bool:
    return hashlib.sha256(source.encode()).digest()[0] % 2 == 0


def score(engine: DlibFaceEngine, rgb: Image, source: str, kind: str) -> Scored:
    start = time.perf_counter()
    selfie = engine.check_selfie_pixels(np.ascontiguousarray(rgb))
    total = (time.perf_counter() - start) * 1000
    live_ms = cpu_ms = 0.0
    if selfie.face is not None and selfie.liveness is not None:
        start, cpu = time.perf_counter(), time.process_time()
        engine.models.liveness.score(rgb, selfie.face)
        live_ms = (time.perf_counter() - start) * 1000
        cpu_ms = (time.process_time() - cpu) * 1000
    return Scored(source, kind, selfie.liveness, selfie.reason, live_ms, cpu_ms, total)


def rates(rows: list[Scored], threshold: float) -> tuple[int, int, float]:
    """(scored, flagged, flagged share) of the rows liveness saw."""
    seen = [r for r in rows if r.score is not None]
    flagged = sum(1 for r in seen if r.score is not None and r.score < threshold)
    return len(seen), flagged, flagged / len(seen) if seen else float("nan")


def choose(train: list[Scored], max_fpr: float) -> float:
    honest = sorted(r.score for r in train if r.kind == "honest" and r.score is not None)
    allowed = int(max_fpr * len(honest))
    # flag strictly below the (allowed+1)-th lowest honest score: at most `allowed` flagged
    return honest[allowed] if honest else 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, action="append", default=[])
    parser.add_argument("--spoof-photos", type=Path, action="append", default=[])
    parser.add_argument("--face-crops", type=Path, action="append", default=[])
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--max-fpr", type=float, default=0.02)
    args = parser.parse_args()
    engine = DlibFaceEngine(rules=MEASURE)
    lfw_engine = DlibFaceEngine(rules=LFW_RULES)
    sources: list[tuple[str, Image]] = [
        ("skimage:astronaut", np.asarray(data.astronaut()))  # type: ignore[no-untyped-call]
    ]
    for folder in args.photos:
        for path in sorted(folder.iterdir()):
            rgb = read_rgb(path)
            if rgb is not None:
                sources.append((path.name, rgb))
    for folder in args.face_crops:
        sources += face_crops(engine, folder)
    rows: list[Scored] = []
    for i, (name, rgb) in enumerate(sources):
        rng = np.random.default_rng(i)
        taken = score(engine, rgb, name, "honest")
        rows.append(taken)
        face = engine.check_selfie_pixels(rgb).face
        for _ in range(args.variants):
            rows.append(score(engine, honest_capture(rgb, rng), name, "honest"))
            shown = rgb if face is None else close_up(rgb, face, rng.uniform(1.8, 2.6))
            rows.append(score(engine, screen_replay(shown, rng), name, "screen"))
            rows.append(score(engine, printed_photo(shown, rng), name, "print"))
    for n, crop in enumerate(lfw_faces()):
        big = cv2.resize(crop, (200, 200), interpolation=cv2.INTER_CUBIC)
        blown_up = cv2.copyMakeBorder(big, 50, 50, 50, 50, cv2.BORDER_REPLICATE)
        rows.append(score(lfw_engine, np.asarray(blown_up), f"lfw:{n}", "lfw"))
    for folder in args.spoof_photos:
        for path in sorted(folder.iterdir()):
            rgb = read_rgb(path)
            if rgb is not None:
                rows.append(score(engine, rgb, path.name, "real_spoof"))
    train = [r for r in rows if in_training_half(r.source)]
    test = [r for r in rows if not in_training_half(r.source)]
    chosen = choose(train, args.max_fpr)
    print(
        f"sources: {len(sources)} real photos ({sum(1 for r in rows if r.kind == 'honest')} "
        f"honest selfies), 100 LFW crops; uptime: {Path('/proc/loadavg').read_text().split()[:3]}"
    )
    print(
        f"spoof_below chosen on the training half (honest flagged <= {args.max_fpr:.0%}): "
        f"{chosen:.3f}"
    )
    for label, part in (("train", train), ("test", test), ("all", rows)):
        for threshold in (chosen, 0.5):
            line = [f"{label:5} @{threshold:.3f}"]
            for kind in ("honest", "lfw", "screen", "print", "real_spoof"):
                kind_rows = [r for r in part if r.kind == kind]
                if not kind_rows:
                    continue
                seen, flagged, share = rates(kind_rows, threshold)
                refused = len(kind_rows) - seen
                line.append(f"{kind} {flagged}/{seen} flagged ({share:.1%}), {refused} refused")
            print("  " + "; ".join(line))
    for kind in ("honest", "lfw", "screen", "print", "real_spoof"):
        scores = sorted(r.score for r in rows if r.kind == kind and r.score is not None)
        if len(scores) >= 20:
            q = statistics.quantiles(scores, n=20)
            print(
                f"{kind} scores: min {scores[0]:.3f}, p5 {q[0]:.3f}, median "
                f"{statistics.median(scores):.3f}, p95 {q[18]:.3f}, max {scores[-1]:.3f}"
            )
        elif scores:
            print(f"{kind} scores: " + ", ".join(f"{v:.3f}" for v in scores))
    live = [r.liveness_ms for r in rows if r.score is not None]
    cpu = [r.liveness_cpu_ms for r in rows if r.score is not None]
    total = [r.total_ms for r in rows if r.score is not None]
    for label, values in (
        ("liveness alone, wall", live),
        ("liveness alone, CPU (all threads)", cpu),
        ("check_selfie with it, wall", total),
    ):
        q = statistics.quantiles(values, n=20)
        print(
            f"{label}: p50 {statistics.median(values):.1f} ms, p95 {q[18]:.1f} ms, "
            f"max {max(values):.1f} ms (n={len(values)})"
        )
    for r in rows:
        if r.kind in ("real_spoof",) or (
            r.kind == "honest" and r.score is not None and r.score < 0.5
        ):
            print(f"    {r.kind} {r.source}: {r.score}")


if __name__ == "__main__":
    main()
