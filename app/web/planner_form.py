"""The planner's session form: read from a posted form, filled from a stored session, and the
lists it offers (courses, rooms, trainers, org units, positions, people to offer a place)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from app.bootstrap import Muster
from app.imports.rosters import POSITION_PREFIX, position_entry, position_of
from app.services.absentees import offered_for
from app.services.session_planner import Draft
from app.web.render import plant_time

#: employee numbers in the people box may be separated by these
SEPARATORS = re.compile(r"[\s,;，；、]+")


@dataclass
class Form:
    """The form's fields as text (what the page shows back), and the draft they make."""

    plant: str
    #: the plant's clock: the day and times are read in it
    tz: tzinfo
    session_id: str | None = None
    code: str = ""
    course: str = ""
    room: str = ""
    trainer: str = ""
    day: str = ""
    start: str = "09:00"
    end: str = "10:00"
    capacity: str = ""
    units: list[str] = field(default_factory=list)
    positions: list[str] = field(default_factory=list)
    #: the org unit the positions are narrowed to ("": the whole plant)
    positions_in: str = ""
    people: str = ""
    repeat: str = "none"
    times: str = "1"
    status: str = "scheduled"

    @property
    def roster_spec(self) -> list[str]:
        """The roster's entries: org units, positions, then people named one by one."""
        named = [p for p in SEPARATORS.split(self.people) if p]
        within = self.positions_in or None
        positions = [position_entry(p, within) for p in self.positions]
        entries = [*self.units, *positions, *named]
        return list(dict.fromkeys(entries))

    def instants(self) -> tuple[datetime, datetime] | None:
        """Start and end in the plant's clock (None when the day or a time is not one)."""
        try:
            day = date.fromisoformat(self.day)
            starts = datetime.combine(day, time.fromisoformat(self.start), self.tz)
            ends = datetime.combine(day, time.fromisoformat(self.end), self.tz)
        except ValueError:
            return None
        if ends <= starts:  # an evening session running past midnight
            ends += timedelta(days=1) if self.end < self.start else timedelta(0)
        return starts, ends

    def draft(self) -> Draft | None:
        when = self.instants()
        if when is None:
            return None
        return Draft(
            plant=self.plant,
            course=self.course,
            room=self.room,
            trainer=self.trainer,
            starts_at=when[0],
            ends_at=when[1],
            roster_spec=self.roster_spec,
            capacity=_whole(self.capacity),
            code=self.code,
            repeat=self.repeat,
            times=_whole(self.times) or 0,
            session_id=self.session_id,
        )


def _whole(value: str) -> int | None:
    try:
        return int(value.strip()) if value.strip() else None
    except ValueError:
        return -1


def posted(values: dict[str, list[str]], plant: str, session_id: str | None, tz: tzinfo) -> Form:
    """The form as posted (`values`: every field's values); a picked free slot (`slot`,
    `start|end` as ISO instants) replaces the day and times."""

    def one(name: str, default: str = "") -> str:
        found = values.get(name) or [default]
        return str(found[0]).strip()

    form = Form(
        plant=plant,
        tz=tz,
        session_id=session_id,
        code=one("code"),
        course=one("course"),
        room=one("room"),
        trainer=one("trainer"),
        day=one("day"),
        start=one("start", "09:00"),
        end=one("end", "10:00"),
        capacity=one("capacity"),
        units=[u for u in values.get("units", []) if u],
        positions=[p for p in values.get("positions", []) if p],
        positions_in=one("positions_in"),
        people=" ".join([one("people"), *values.get("offer", [])]).strip(),
        repeat=one("repeat", "none"),
        times=one("times", "1"),
    )
    slot = one("slot")
    if "|" in slot:
        try:
            starts, ends = (plant_time(datetime.fromisoformat(s), tz) for s in slot.split("|", 1))
        except ValueError:
            return form
        form.day, form.start, form.end = (
            starts.date().isoformat(),
            f"{starts:%H:%M}",
            f"{ends:%H:%M}",
        )
    return form


def of_session(muster: Muster, session_id: str) -> Form | None:
    """The form of a stored session (None when unknown)."""
    row = muster.store.fetch_one(
        "SELECT s.id, s.code, s.course, s.plant, s.room, s.trainer, s.starts_at, s.ends_at, "
        "s.status, p.capacity, p.roster_spec FROM sessions s "
        "LEFT JOIN session_plans p ON p.id = s.id WHERE s.id = :id",
        {"id": session_id},
    )
    if row is None:
        return None
    units = {r["code"] for r in muster.store.fetch("SELECT code FROM org_units")}
    spec = json.loads(row["roster_spec"] or "[]")
    tz = muster.settings.plant_tz
    starts, ends = plant_time(row["starts_at"], tz), plant_time(row["ends_at"], tz)
    positions = [position_of(e) for e in spec if e.startswith(POSITION_PREFIX)]
    return Form(
        plant=row["plant"],
        tz=tz,
        session_id=row["id"],
        code=row["code"],
        course=row["course"],
        room=row["room"],
        trainer=row["trainer"],
        day=starts.date().isoformat(),
        start=f"{starts:%H:%M}",
        end=f"{ends:%H:%M}",
        capacity=str(row["capacity"] or ""),
        units=[e for e in spec if e in units],
        positions=[code for code, _ in positions],
        positions_in=next((within for _, within in positions if within), ""),
        people=" ".join(e for e in spec if e not in units and not e.startswith(POSITION_PREFIX)),
        status=row["status"],
    )


def choices(muster: Muster, plant: str, scope_path: str) -> dict[str, Any]:
    """What the form's lists offer for `plant`: courses, the org units a roster may name
    (the plant's, narrowed to the caller's subtree when it lies below the plant), positions,
    known rooms and trainers."""
    store = muster.store
    plant_row = store.fetch_one("SELECT path FROM org_units WHERE code = :c", {"c": plant})
    path = plant_row["path"] if plant_row else scope_path
    under = scope_path if scope_path.startswith(path) else path
    units = store.fetch(
        "SELECT code, name, kind, path FROM org_units WHERE path LIKE :p ORDER BY path",
        {"p": under + "%"},
    )
    for u in units:
        u["depth"] = u["path"].count("/") - under.count("/")
    # a caller below the plant (a department head) picks positions within their own units
    narrowed = under != path
    rooms = sorted(
        {
            r["room"]
            for r in store.fetch(
                "SELECT DISTINCT room FROM sessions WHERE plant = :p", {"p": plant}
            )
        }
        | {
            r["room"]
            for r in store.fetch("SELECT DISTINCT room FROM devices WHERE plant = :p", {"p": plant})
        }
    )
    trainers = [
        r["trainer"]
        for r in store.fetch(
            "SELECT DISTINCT trainer FROM sessions WHERE plant = :p AND trainer <> '' "
            "ORDER BY trainer",
            {"p": plant},
        )
    ]
    return {
        "courses": store.fetch("SELECT code, name, duration_minutes FROM courses ORDER BY code"),
        "units": units,
        "narrowed": narrowed,
        "positions": store.fetch("SELECT code, name FROM positions ORDER BY code"),
        "rooms": rooms,
        "trainers": trainers,
    }


def offers(muster: Muster, form: Form, today: date) -> list[dict[str, Any]]:
    """People who missed a session of the form's course and are on no roster of it before
    this one: offered a place (not those the form names already)."""
    when = form.instants()
    if not form.course or when is None:
        return []
    named = set(SEPARATORS.split(form.people))
    return [
        r
        for r in offered_for(muster.store, form.course, when[0], today, form.session_id)
        if r["employee_no"] not in named
    ]
