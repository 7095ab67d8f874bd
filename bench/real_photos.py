"""Headcount on real photographs (``tests/fixtures/real_photos``), against a hand count.

    nice uv run python bench/real_photos.py [--split training|held_out] [--set knob=value ...]
                                            [--json out.json]

Each photo goes through the production analyser (``DlibRoomAnalyzer``: the real models, the
photo's bytes, its working scale) and its count is compared with the faces a person counts on
it (``faces`` in ``manifest.toml``; ``people`` also counts backs and far-off heads). Figures are
given per split: the training split may be looked at to choose a policy, the held-out split
never (the split is fixed by the photo's name, not chosen). ``--set`` overrides knobs of the
``CountPolicy`` as in ``bench/headcount_fit.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from vision_eval import count_policy, policy_payload

from vision.room.analysis import DlibRoomAnalyzer

PHOTOS = Path(__file__).parents[1] / "tests" / "fixtures" / "real_photos"
SPLITS = ("training", "held_out")


def manifest() -> list[dict[str, Any]]:
    """The photos' entries, each checked against its stored file's SHA-256."""
    entries: list[dict[str, Any]] = tomllib.loads((PHOTOS / "manifest.toml").read_text())["photo"]
    for entry in entries:
        data = (PHOTOS / f"{entry['name']}.jpg").read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise SystemExit(f"{entry['name']}.jpg is not the file the manifest describes")
    return entries


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Exact, within one, mean absolute error, and how often the shown range holds the truth."""
    if not rows:
        return {"photos": 0}
    errors = [r["count"] - r["faces"] for r in rows]
    n = len(rows)
    return {
        "photos": n,
        "faces": sum(r["faces"] for r in rows),
        "exact": round(sum(e == 0 for e in errors) / n, 3),
        "within_1": round(sum(abs(e) <= 1 for e in errors) / n, 3),
        "mean_abs_error": round(sum(abs(e) for e in errors) / n, 2),
        "mean_error": round(sum(errors) / n, 2),
        "range_holds_truth": round(sum(r["low"] <= r["faces"] <= r["high"] for r in rows) / n, 3),
    }


def main() -> None:
    """Analyse every photo of the chosen splits and print per-photo rows and the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=SPLITS, action="append")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    splits = args.split or list(SPLITS)
    policy = count_policy(args.set)
    analyzer = DlibRoomAnalyzer(policy=policy)
    rows: list[dict[str, Any]] = []
    for entry in manifest():
        if entry["split"] not in splits:
            continue
        result = analyzer.analyse((PHOTOS / f"{entry['name']}.jpg").read_bytes())
        rows.append(
            {
                "photo": entry["name"],
                "split": entry["split"],
                "faces": entry["faces"],
                "people": entry["people"],
                "count": result.headcount,
                "low": result.headcount_min,
                "high": result.headcount_max,
                "reasons": sorted(f.reason for f in result.faces),
                "ms": round(result.timings_ms["total"]),
            }
        )
    analyzer.close()
    for r in rows:
        print(
            f"{r['split']:9} {r['photo']:27} faces {r['faces']:3} counted {r['count']:3}"
            f" range {r['low']}-{r['high']}  error {r['count'] - r['faces']:+d}"
        )
    report = {
        "policy": policy_payload(policy),
        **{s: summary([r for r in rows if r["split"] == s]) for s in splits},
        "photos": rows,
    }
    print(json.dumps({s: report[s] for s in splits}, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
