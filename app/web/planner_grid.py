"""The planner's grid: a plant's sessions of a week (a column per day) or of a day (a column
per room), each placed by its hours, side by side where they overlap, marked when it has
conflicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from app.services.planning import PlanningWindow
from app.stores.base import ReadStore, iso
from app.web.render import plant_time

#: the height of one hour on the grid, in pixels
HOUR_PX = 52
#: the hours shown at least (more when a session lies outside them)
FIRST_HOUR, LAST_HOUR = 7, 20


@dataclass
class Column:
    """One column of the grid: a day (week view) or a room (day view)."""

    key: str
    label: str
    day: date
    room: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Grid:
    view: str
    day: date
    first: date
    last: date
    hours: list[int]
    columns: list[Column]
    count: int = 0

    @property
    def height(self) -> int:
        return len(self.hours) * HOUR_PX


def week_of(day: date) -> date:
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


def build(
    store: ReadStore, plant: str, view: str, day: date, team_share: float, tz: tzinfo
) -> Grid:
    """The grid of `plant` for the week of `day` (`view` = week) or for `day` alone, in the
    plant's clock `tz`."""
    first = week_of(day) if view == "week" else day
    last = first + timedelta(days=7 if view == "week" else 1)
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last, time(0), tz)
    rows = store.fetch(
        "SELECT s.id, s.code, s.title, s.course, s.room, s.trainer, s.starts_at, s.ends_at, "
        "s.status, s.expected, p.capacity FROM sessions s LEFT JOIN session_plans p "
        "ON p.id = s.id WHERE s.plant = :plant AND s.starts_at < :end AND s.ends_at > :start "
        "ORDER BY s.starts_at, s.room",
        {"plant": plant, "start": iso(start), "end": iso(end)},
    )
    flagged = _with_conflicts(store, plant, start, end, team_share) if rows else set()
    hours = _hours(rows, tz)
    columns = _columns(store, plant, view, first, rows)
    by_key = {c.key: c for c in columns}
    for r in rows:
        starts, ends = plant_time(r["starts_at"], tz), plant_time(r["ends_at"], tz)
        key = starts.date().isoformat() if view == "week" else r["room"]
        column = by_key.get(key)
        if column is None:
            continue
        top = (starts.hour - hours[0]) * HOUR_PX + starts.minute * HOUR_PX // 60
        minutes = (ends - starts).total_seconds() / 60
        column.blocks.append(
            {
                **r,
                "start": starts,
                "end": ends,
                "top": max(top, 0),
                "height": max(int(minutes * HOUR_PX / 60), 22),
                "conflict": r["id"] in flagged,
            }
        )
    for column in columns:
        _lanes(column.blocks)
    return Grid(view, day, first, last - timedelta(days=1), hours, columns, len(rows))


def _hours(rows: list[dict[str, Any]], tz: tzinfo) -> list[int]:
    first, last = FIRST_HOUR, LAST_HOUR
    for r in rows:
        starts, ends = plant_time(r["starts_at"], tz), plant_time(r["ends_at"], tz)
        if starts.date() == ends.date():
            first = min(first, starts.hour)
            last = max(last, ends.hour + (1 if ends.minute else 0))
    return list(range(first, min(last, 24)))


def _columns(
    store: ReadStore, plant: str, view: str, first: date, rows: list[dict[str, Any]]
) -> list[Column]:
    if view == "week":
        days = [first + timedelta(days=n) for n in range(7)]
        return [Column(d.isoformat(), d.isoformat(), d) for d in days]
    rooms = {r["room"] for r in rows}
    rooms |= {
        r["room"]
        for r in store.fetch(
            "SELECT DISTINCT room FROM devices WHERE plant = :p AND revoked = 0", {"p": plant}
        )
    }
    return [Column(room, room, first, room=room) for room in sorted(rooms)]


def _lanes(blocks: list[dict[str, Any]]) -> None:
    """Side by side where they overlap: each block gets a lane and the lane count of its
    cluster of overlapping blocks (`left` and `width` in per cent)."""
    blocks.sort(key=lambda b: (b["start"], b["end"]))
    cluster: list[dict[str, Any]] = []
    ends: list[datetime] = []  # per lane, when it frees up
    cluster_end: datetime | None = None

    def close() -> None:
        for b in cluster:
            b["width"] = 100 / len(ends)
            b["left"] = b["lane"] * b["width"]

    for b in blocks:
        if cluster_end is not None and b["start"] >= cluster_end:
            close()
            cluster, ends = [], []
        lane = next((n for n, free in enumerate(ends) if free <= b["start"]), len(ends))
        if lane == len(ends):
            ends.append(b["end"])
        else:
            ends[lane] = b["end"]
        b["lane"] = lane
        cluster.append(b)
        cluster_end = b["end"] if cluster_end is None else max(cluster_end, b["end"])
    if cluster:
        close()


def _with_conflicts(
    store: ReadStore, plant: str, start: datetime, end: datetime, team_share: float
) -> set[str]:
    """The sessions of `plant` in [start, end) not cancelled that have a conflict."""
    window = PlanningWindow.load(store, start - timedelta(days=1), end + timedelta(days=1))
    return {
        sid
        for sid, sitting in window.sittings.items()
        if sitting.plant == plant
        and sitting.starts_at < end
        and sitting.ends_at > start
        and window.check(sitting, team_share)
    }


def parse_day(value: str | None, tz: tzinfo) -> date:
    """A `YYYY-MM-DD` query value; today in the plant (clock `tz`) otherwise."""
    try:
        return date.fromisoformat(value) if value else datetime.now(tz).date()
    except ValueError:
        return datetime.now(tz).date()
