"""Real photographs (tests/fixtures/real_photos, hand-counted) through the real loading code:
the photo's bytes, the analyser's working scale, the real models, the counting policy."""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import Any

import pytest

from vision.room.analysis import DlibRoomAnalyzer

PHOTOS = Path(__file__).parents[1] / "fixtures" / "real_photos"
MANIFEST: list[dict[str, Any]] = tomllib.loads((PHOTOS / "manifest.toml").read_text())["photo"]
TRAINING = [p for p in MANIFEST if p["split"] == "training"]


def test_every_real_photo_is_the_file_its_manifest_describes_and_its_split_is_not_chosen() -> None:
    stored = {p.stem for p in PHOTOS.glob("*.jpg")}
    assert stored == {p["name"] for p in MANIFEST}
    for photo in MANIFEST:
        data = (PHOTOS / f"{photo['name']}.jpg").read_bytes()
        assert hashlib.sha256(data).hexdigest() == photo["sha256"], photo["name"]
        assert 0 <= photo["faces"] <= photo["people"]
        even = hashlib.sha256(photo["name"].encode()).digest()[0] % 2 == 0
        assert photo["split"] == ("training" if even else "held_out"), photo["name"]


@pytest.mark.slow
@pytest.mark.parametrize("photo", TRAINING, ids=[p["name"] for p in TRAINING])
def test_a_real_photo_of_the_training_split_is_counted_within_the_range_shown(
    room_analyzer: DlibRoomAnalyzer, photo: dict[str, Any]
) -> None:
    """The split the analyser's scaling and the policy were chosen on: the hand count lies
    in the range the evidence page shows, and the count is at most one off."""
    result = room_analyzer.analyse((PHOTOS / f"{photo['name']}.jpg").read_bytes())
    low = result.headcount if result.headcount_min is None else result.headcount_min
    assert low <= photo["faces"] <= result.headcount_max, (low, result.headcount_max)
    assert abs(result.headcount - photo["faces"]) <= 1


@pytest.mark.slow
def test_every_real_photo_gives_a_range_around_its_count_and_boxes_inside_the_photo(
    room_analyzer: DlibRoomAnalyzer,
) -> None:
    """Small photos are enlarged and big ones shrunk before detection; whatever the count,
    the faces come back in the photo's own pixels and the range holds the count."""
    for photo in MANIFEST:
        result = room_analyzer.analyse((PHOTOS / f"{photo['name']}.jpg").read_bytes())
        low = result.headcount if result.headcount_min is None else result.headcount_min
        assert low <= result.headcount <= result.headcount_max, photo["name"]
        width, height = result.facts.width, result.facts.height
        for face in (f for f in result.faces if f.confirmed):
            x, y = face.box.centre
            assert 0 <= x <= width and 0 <= y <= height, (photo["name"], face.box)
