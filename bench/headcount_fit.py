"""Choose the headcount's ``CountPolicy`` on cached detections, and score policies on them.

    uv run python bench/headcount_fit.py cache --seed 7,8,9,10 --rooms 40 --out var/bench/train.pkl
    uv run python bench/headcount_fit.py score var/bench/train.pkl [--set agreement=3 ...]
    uv run python bench/headcount_fit.py recall var/bench/train.pkl
    uv run python bench/headcount_fit.py search var/bench/train.pkl
    uv run python bench/headcount_fit.py errors var/bench/train.pkl [--set ...]

``cache`` runs every detector (``ALL_DETECTORS``) once on each synthetic room of
``bench/vision_eval.py`` (a room on 4 days a background) and keeps the hits, the people's head
boxes, and which hit boxes each of the room's other days shows unchanged. ``score`` counts
each room with a policy (``count_faces``: pure, so thousands of policies take seconds);
``recall`` says what each detector adds on turned, bowed and small heads; ``search`` tries a
grid; ``errors`` sorts the people missed and the faces counted on nobody by why (pose, size,
which detectors saw them and how strongly). Choose on seeds below 100 only; report on seeds
no run has seen.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from vision_eval import SAME_ROOM, count_policy, make_rooms_for, other_days_in_room

from vision.decode import decode_image, encode_jpeg
from vision.detectors import Picture, detect_all
from vision.detectors.available import ALL_DETECTORS, room_detectors
from vision.detectors.models import load_models
from vision.geometry import Box
from vision.headcount import CountPolicy, count_faces
from vision.headcount.pictures import LIKENESS, RoomMemory, days_unchanged, earlier_views


def cache(seeds: list[int], per_seed: int, out: Path) -> None:
    """Detect once on every room and keep what ``score`` needs."""
    models = load_models()
    detectors = room_detectors(models, ALL_DETECTORS)
    rooms = make_rooms_for(seeds, per_seed)
    jpegs = [encode_jpeg(room.rgb, 90) for room in rooms]
    kept = []
    with ThreadPoolExecutor(2) as pool:
        for i, room in enumerate(rooms):
            image = decode_image(jpegs[i])
            hits = detect_all(detectors, Picture(image.rgb, image.gray), pool)
            others = other_days_in_room(jpegs, i, per_seed)
            memory = RoomMemory(image.gray, earlier_views(others, image.gray.shape[:2]))
            boxes = sorted({h.box for h in hits}, key=lambda b: b.as_list())
            same = [
                [b for b in boxes if _likeness(memory, view, b) >= LIKENESS]
                for view, _ in memory.views
            ]
            kept.append(
                {
                    "room": f"{seeds[i // per_seed]}:{i % per_seed}",
                    "hits": hits,
                    "heads": [(p.box, p.yaw, p.pitch) for p in room.faces],
                    "same": same,
                }
            )
            print(f"{i + 1}/{len(rooms)}", file=sys.stderr, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pickle.dumps(kept))


def _likeness(memory: RoomMemory, view: Any, box: Box) -> float:
    from vision.headcount.pictures import likeness

    return likeness(memory.gray, view, box)


def score(rooms: list[dict[str, Any]], policy: CountPolicy) -> dict[str, Any]:
    """Exact, within one, worst error, how often the range holds the truth, and its width."""
    errors, held, widths = [], 0, []
    for room in rooms:
        same = [set(s) for s in room["same"]]

        def unchanged(boxes: Any, same: list[set[Box]] = same) -> list[int]:
            return days_unchanged([[b in s for b in boxes] for s in same], len(boxes))

        counted = count_faces(room["hits"], policy, unchanged)
        truth = len(room["heads"])
        errors.append(counted.count - truth)
        held += counted.low <= truth <= counted.high
        widths.append(counted.high - counted.low)
    n = len(rooms)
    return {
        "rooms": n,
        "exact": sum(e == 0 for e in errors) / n,
        "within_1": sum(abs(e) <= 1 for e in errors) / n,
        "worst": max(abs(e) for e in errors),
        "mean_error": sum(errors) / n,
        "range_holds_truth": held / n,
        "range_width": sum(widths) / n,
        "ranged": sum(w > 0 for w in widths) / n,
        "people": sum(len(room["heads"]) for room in rooms),
        "errors": errors,
    }


def recall(rooms: list[dict[str, Any]], policy: CountPolicy) -> dict[str, Any]:
    """Share of heads each detector hits at its floor, by pose and size."""
    seen: dict[str, dict[str, list[bool]]] = {}
    for room in rooms:
        for box, yaw, pitch in room["heads"]:
            kind = "turned" if abs(yaw) >= 30 else "bowed" if abs(pitch) >= 25 else "front"
            size = "small" if box.w < 48 else "large"
            for name in ALL_DETECTORS:
                hit = any(
                    h.detector == name
                    and h.score >= policy.floor[name]
                    and box.contains(h.box.centre)
                    for h in room["hits"]
                )
                for key in (kind, size, "all"):
                    seen.setdefault(name, {}).setdefault(key, []).append(hit)
    return {n: {k: round(sum(v) / len(v), 3) for k, v in d.items()} for n, d in seen.items()}


def _kind(yaw: float, pitch: float) -> str:
    return "turned" if abs(yaw) >= 30 else "bowed" if abs(pitch) >= 25 else "front"


def errors(rooms: list[dict[str, Any]], policy: CountPolicy) -> dict[str, Any]:
    """Each person not counted and each counted face on nobody (or a second one on a head),
    tallied by pose, size, the reason ``count_faces`` gave, and the detectors that saw it
    (best strength each, floor 0 to sure 1, from every raw hit centred on the head)."""
    missed: Counter[str] = Counter()
    extra: Counter[str] = Counter()
    people: Counter[str] = Counter()
    cases: list[dict[str, Any]] = []
    for room in rooms:
        same = [set(s) for s in room["same"]]

        def unchanged(boxes: Any, same: list[set[Box]] = same) -> list[int]:
            return days_unchanged([[b in s for b in boxes] for s in same], len(boxes))

        faces = count_faces(room["hits"], policy, unchanged).faces
        taken: set[int] = set()
        for head, yaw, pitch in room["heads"]:
            kind = f"{_kind(yaw, pitch)}/{'small' if head.w < 64 else 'large'}"
            people[kind] += 1
            mine = [i for i, f in enumerate(faces) if head.contains(f.box.centre)]
            counted = [i for i in mine if faces[i].counted and i not in taken]
            if counted:
                taken.add(counted[0])
                continue
            why = ",".join(sorted({faces[i].reason.value for i in mine})) or "no_face"
            seen = {}
            for h in room["hits"]:
                if h.detector in policy.floor and head.contains(h.box.centre):
                    s = round(
                        (h.score - policy.floor[h.detector])
                        / max(policy.sure[h.detector] - policy.floor[h.detector], 1e-9),
                        2,
                    )
                    seen[h.detector] = max(seen.get(h.detector, -9.0), s)
            missed[f"{kind} {why} {'+'.join(sorted(k for k, v in seen.items() if v >= 0))}"] += 1
            cases.append(
                {
                    "room": room["room"],
                    "missed": kind,
                    "why": why,
                    "yaw": round(yaw),
                    "pitch": round(pitch),
                    "w": head.w,
                    "seen": seen,
                }
            )
        for i, f in enumerate(faces):
            if not f.counted or i in taken:
                continue
            heads = [h for h, _, _ in room["heads"] if h.contains(f.box.centre)]
            where = "second_on_head" if heads else "on_nobody"
            extra[f"{where} {f.reason.value} {'+'.join(f.detectors)}"] += 1
            cases.append(
                {
                    "room": room["room"],
                    "extra": where,
                    "reason": f.reason.value,
                    "box": f.box.as_list(),
                    "unchanged": unchanged([f.box])[0],
                    "seen": {d.detector: round(d.score, 2) for d in f.detections},
                }
            )
    return {
        "people": dict(people),
        "missed": dict(missed.most_common()),
        "extra": dict(extra.most_common()),
        "cases": cases,
    }


def search(rooms: list[dict[str, Any]], base: CountPolicy, grid: dict[str, list[str]]) -> None:
    """Every combination of ``grid`` on ``base``, best (exact, then within one) first."""
    results = []
    for values in itertools.product(*grid.values()):
        settings = [f"{k}={v}" for k, v in zip(grid, values, strict=True)]
        s = score(rooms, count_policy(settings, base))
        results.append((s["exact"], s["within_1"], settings, s))
    for exact, within, settings, s in sorted(results, key=lambda r: (-r[0], -r[1]))[:15]:
        print(
            f"{exact:.3f} {within:.3f} width {s['range_width']:.2f}"
            f" holds {s['range_holds_truth']:.2f} {settings}"
        )


def main() -> None:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["cache", "score", "recall", "search", "errors"])
    parser.add_argument("cache_file", type=Path, nargs="?")
    parser.add_argument("--seed", default="7,8,9,10")
    parser.add_argument("--rooms", type=int, default=40)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--grid", default="{}", help='JSON {"knob": ["v1", "v2"]}')
    args = parser.parse_args()
    if args.what == "cache":
        cache([int(s) for s in args.seed.split(",")], args.rooms, args.out)
        return
    rooms = pickle.loads(args.cache_file.read_bytes())
    policy = count_policy(args.set)
    if args.what == "score":
        result = score(rooms, policy)
        result["errors_list"] = result["errors"]
        result["errors"] = {r["room"]: e for r, e in zip(rooms, result["errors"], strict=True) if e}
        print(json.dumps(result, indent=2))
    elif args.what == "errors":
        print(json.dumps(errors(rooms, policy), indent=1))
    elif args.what == "recall":
        print(json.dumps(recall(rooms, policy), indent=2))
    else:
        search(rooms, policy, json.loads(args.grid))


if __name__ == "__main__":
    assert SAME_ROOM == 4
    main()
