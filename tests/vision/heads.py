"""Checks shared by the room tests that count synthetic people against the truth beside a
fixture photo (a JSON list of ``{"box": [x, y, w, h], "yaw": …}``)."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from vision.geometry import Box
from vision.headcount import CountPolicy
from vision.room.analysis import RoomAnalysis, RoomFace

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vision"


def on_head(box: Box, head: list[int]) -> bool:
    """Whether ``box``'s centre lies on the head box ``[x, y, w, h]``."""
    return Box(*head).contains(box.centre)


def room_fixture(name: str) -> tuple[bytes, list[dict[str, Any]]]:
    """A fixture room photo's bytes and the people in it."""
    photo = FIXTURES / name
    faces: list[dict[str, Any]] = json.loads(photo.with_suffix(".json").read_text())["faces"]
    return photo.read_bytes(), faces


def turned_head(truth: list[dict[str, Any]]) -> dict[str, Any]:
    """The person whose head is turned more than 45° to the side."""
    return next(f for f in truth if abs(f["yaw"]) > 45)


def counted_everyone(result: RoomAnalysis, truth: list[dict[str, Any]]) -> RoomFace:
    """Assert one confirmed face on every head and none elsewhere; return the turned one's."""
    assert result.headcount == len(truth)
    confirmed = [f for f in result.faces if f.confirmed]
    for person in truth:
        assert sum(on_head(f.box, person["box"]) for f in confirmed) == 1, person
    turned = turned_head(truth)
    found = next(f for f in confirmed if on_head(f.box, turned["box"]))
    assert not found.attentive  # seen by no frontal detector: not looking at the front
    return found


def missed_the_turned_head(result: RoomAnalysis, truth: list[dict[str, Any]]) -> None:
    """Assert the turned head is the one person not counted."""
    assert result.headcount == len(truth) - 1
    turned = turned_head(truth)
    assert not any(on_head(f.box, turned["box"]) for f in result.faces if f.confirmed)


def policy_without(*names: str) -> CountPolicy:
    """The default counting policy without the detectors ``names``."""
    policy = CountPolicy()
    return CountPolicy(
        floor=MappingProxyType({k: v for k, v in policy.floor.items() if k not in names}),
        sure=MappingProxyType({k: v for k, v in policy.sure.items() if k not in names}),
    )
