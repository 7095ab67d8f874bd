"""Rosters: employee numbers, org codes (everyone in the subtree), `position:CODE`
(everyone in the position) and `position:CODE@ORG` (everyone in the position within the org
unit's subtree: a department head's own people), expanded to the people employed on the
session's day.

The import of `sessions`, the planner page and the roster keeper (which keeps the rosters
of sessions not yet started current as people join, move or leave) expand through here."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from app.imports.base import RowError
from app.stores.base import ReadStore

POSITION_PREFIX = "position:"
#: between a position's code and the org unit it is narrowed to
WITHIN = "@"


def position_entry(code: str, within: str | None = None) -> str:
    """The roster entry for everyone in position `code` (within org unit `within`)."""
    return POSITION_PREFIX + code + (WITHIN + within if within else "")


def position_of(entry: str) -> tuple[str, str | None]:
    """A position entry's code and the org unit it is narrowed to (None: anywhere)."""
    code, _, within = entry.removeprefix(POSITION_PREFIX).partition(WITHIN)
    return code, within or None


class RosterExpander:
    """Reads the directory once, then expands roster entries without further queries."""

    def __init__(self, store: ReadStore, today: date) -> None:
        self.today = today
        rows = store.fetch(
            "SELECT e.employee_no, e.position, o.path, d.left_on FROM employees e "
            "JOIN org_units o ON o.code = e.org_unit "
            "LEFT JOIN employee_details d ON d.employee_no = e.employee_no "
            "ORDER BY e.employee_no"
        )
        #: the day each leaver left (people still employed are not in it)
        self.left_on = {r["employee_no"]: r["left_on"] for r in rows if r["left_on"]}
        self.employees = {r["employee_no"] for r in rows}
        self.by_position: dict[str, list[str]] = defaultdict(list)
        self.members: list[tuple[str, str]] = []  # (path, employee_no)
        for r in rows:
            if r["position"]:
                self.by_position[r["position"]].append(r["employee_no"])
            self.members.append((r["path"], r["employee_no"]))
        self.paths = {r["code"]: r["path"] for r in store.fetch("SELECT code, path FROM org_units")}
        self.positions = {r["code"] for r in store.fetch("SELECT code FROM positions")}
        self._subtrees: dict[str, list[str]] = {}

    def employed(self, employee_no: str, on: date) -> bool:
        """Whether the person works here on day `on` (has not left by then)."""
        left = self.left_on.get(employee_no)
        return employee_no in self.employees and (left is None or left > on.isoformat())

    def expand(
        self, entries: list[str], column: str, on: date | None = None, *, strict: bool = True
    ) -> list[str]:
        """The people `entries` name who are employed on day `on` (default: today), each
        once, in order. An unknown entry (or a person named alone who is not employed then)
        is a RowError when `strict`, and left out otherwise."""
        day = on or self.today
        people: list[str] = []
        for entry in entries:
            try:
                people.extend(self._one(entry, column, day))
            except RowError:
                if strict:
                    raise
        return [no for no in dict.fromkeys(people) if self.employed(no, day)]

    def _one(self, entry: str, column: str, day: date) -> list[str]:
        if entry.startswith(POSITION_PREFIX):
            code, within = position_of(entry)
            if code not in self.positions:
                raise RowError(column, "import.unknown_position", value=code)
            holders = self.by_position.get(code, [])
            if within is None:
                return holders
            if within not in self.paths:
                raise RowError(column, "import.unknown_roster_entry", value=entry)
            inside = set(self._subtree(within))
            return [no for no in holders if no in inside]
        if entry in self.employees and self.employed(entry, day):
            return [entry]
        if entry in self.paths:
            return self._subtree(entry)
        raise RowError(column, "import.unknown_roster_entry", value=entry)

    def _subtree(self, unit: str) -> list[str]:
        """Everyone in org unit `unit` or below it."""
        if unit not in self._subtrees:
            prefix = self.paths[unit]
            self._subtrees[unit] = [no for path, no in self.members if path.startswith(prefix)]
        return self._subtrees[unit]

    def groups(self, entries: list[str]) -> bool:
        """Whether `entries` name an org unit or a position (whose people change)."""
        return any(e.startswith(POSITION_PREFIX) or e in self.paths for e in entries)
