"""Rosters: employee numbers, org codes (everyone in the subtree) and `position:CODE`
(everyone in the position), expanded to the people employed today."""

from __future__ import annotations

from collections import defaultdict

from app.imports.base import Context, RowError

POSITION_PREFIX = "position:"


class RosterExpander:
    """Reads the directory once, then expands roster entries without further queries."""

    def __init__(self, ctx: Context) -> None:
        today = ctx.now.date().isoformat()
        rows = ctx.store.fetch(
            "SELECT e.employee_no, e.position, o.path FROM employees e "
            "JOIN org_units o ON o.code = e.org_unit "
            "LEFT JOIN employee_details d ON d.employee_no = e.employee_no "
            "WHERE d.left_on IS NULL OR d.left_on > :today ORDER BY e.employee_no",
            {"today": today},
        )
        self.employees = {r["employee_no"] for r in rows}
        self.by_position: dict[str, list[str]] = defaultdict(list)
        self.members: list[tuple[str, str]] = []  # (path, employee_no)
        for r in rows:
            if r["position"]:
                self.by_position[r["position"]].append(r["employee_no"])
            self.members.append((r["path"], r["employee_no"]))
        self.paths = {
            r["code"]: r["path"] for r in ctx.store.fetch("SELECT code, path FROM org_units")
        }
        self.positions = {r["code"] for r in ctx.store.fetch("SELECT code FROM positions")}
        self._subtrees: dict[str, list[str]] = {}

    def expand(self, entries: list[str], column: str) -> list[str]:
        """The people `entries` name, each once, in order; an unknown entry is a RowError."""
        people: list[str] = []
        for entry in entries:
            people.extend(self._one(entry, column))
        return list(dict.fromkeys(people))

    def _one(self, entry: str, column: str) -> list[str]:
        if entry.startswith(POSITION_PREFIX):
            code = entry.removeprefix(POSITION_PREFIX)
            if code not in self.positions:
                raise RowError(column, "import.unknown_position", value=code)
            return self.by_position.get(code, [])
        if entry in self.employees:
            return [entry]
        if entry in self.paths:
            if entry not in self._subtrees:
                prefix = self.paths[entry]
                self._subtrees[entry] = [no for path, no in self.members if path.startswith(prefix)]
            return self._subtrees[entry]
        raise RowError(column, "import.unknown_roster_entry", value=entry)
