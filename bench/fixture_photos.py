"""Headcount on the test fixtures' room photos (``tests/fixtures/vision``), against the truth
beside each: every photo alone, and every photo that has other days of its room with them.

    nice uv run python bench/fixture_photos.py [--set agreement=3 ...] [--json out.json]

Photos of one room share a name up to ``_day<N>``, ``_earlier`` or ``_before``/``_after``.
These are the only room photos with a known count in the repository: synthetic like the
benchmark's, but each kept because an earlier analyser got it wrong, so they are a check that a
new policy does not break what was once fixed, not a sample of rooms.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from vision_eval import count_policy, policy_payload

from vision.room.analysis import DlibRoomAnalyzer

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "vision"
SAME_ROOM = re.compile(r"_(day\d+|earlier|before|after)$")


def fixture_rooms() -> dict[str, list[Path]]:
    """The fixture room photos (JPEG, with a truth of people), grouped by room."""
    rooms: dict[str, list[Path]] = {}
    for photo in sorted(FIXTURES.glob("*.jpg")):
        rooms.setdefault(SAME_ROOM.sub("", photo.stem), []).append(photo)
    return rooms


def people(photo: Path) -> int:
    """How many people the truth beside ``photo`` lists."""
    return len(json.loads(photo.with_suffix(".json").read_text())["faces"])


def main() -> None:
    """Analyse every fixture photo alone and with its room's other days; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    policy = count_policy(args.set)
    analyzer = DlibRoomAnalyzer(policy=policy)
    rows: list[dict[str, Any]] = []
    for room, photos in fixture_rooms().items():
        for photo in photos:
            others = [p.read_bytes() for p in photos if p != photo]
            for earlier in ([], others) if others else ([],):
                result = analyzer.analyse(photo.read_bytes(), None, earlier)
                rows.append(
                    {
                        "photo": photo.name,
                        "room": room,
                        "other_days": len(earlier),
                        "people": people(photo),
                        "headcount": result.headcount,
                        "range": [result.headcount_min, result.headcount_max],
                    }
                )
    analyzer.close()
    errors = [r["headcount"] - r["people"] for r in rows]
    report = {
        "analyses": len(rows),
        "exact": sum(e == 0 for e in errors),
        "within_1": sum(abs(e) <= 1 for e in errors),
        "worst": max(abs(e) for e in errors),
        "policy": policy_payload(policy),
        "photos": rows,
    }
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
