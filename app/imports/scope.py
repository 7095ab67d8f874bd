"""Whose rows a file may hold: a login scoped to one org unit (a plant, a workshop) imports
rows of its own subtree only — org units under it, its people, its plant's sessions, their
shifts, metrics and attendance. Positions and courses are the group's catalogue and belong
to no plant. The command line imports as the machine's owner, without a scope."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.imports.base import Finding, Row
from app.stores.base import ReadStore

#: the column of each kind that says whose a row is, and how it is found
Check = Callable[[Row], tuple[str, str] | None]


class _Paths:
    """Org paths of units, people and sessions, read once per file."""

    def __init__(self, store: ReadStore) -> None:
        self.units = {r["code"]: r["path"] for r in store.fetch("SELECT code, path FROM org_units")}
        self.store = store
        self._people: dict[str, str] | None = None
        self._sessions: dict[str, str] | None = None

    def person(self, employee_no: str) -> str | None:
        if self._people is None:
            self._people = {
                r["employee_no"]: r["path"]
                for r in self.store.fetch(
                    "SELECT e.employee_no, o.path FROM employees e "
                    "JOIN org_units o ON o.code = e.org_unit"
                )
            }
        return self._people.get(employee_no)

    def session_plant(self, code: str) -> str | None:
        if self._sessions is None:
            self._sessions = {
                r["code"]: r["plant"] for r in self.store.fetch("SELECT code, plant FROM sessions")
            }
        plant = self._sessions.get(code)
        return self.units.get(plant) if plant else None


def outside_scope(kind: str, rows: Sequence[Row], store: ReadStore, scope: str) -> list[Finding]:
    """The rows of `kind` that name something outside the org subtree at path `scope`
    (`import.outside_scope`, naming the line and the column)."""
    if kind in ("positions", "courses"):
        return []
    paths = _Paths(store)

    def within(path: str | None) -> bool:
        return path is None or path.startswith(scope)

    def plant_within(path: str | None) -> bool:
        # a plant's sessions belong to everyone scoped inside the plant, as on the wallboard
        return path is None or path.startswith(scope) or scope.startswith(path)

    new_units = {r["code"]: (r["parent_code"], r["kind"]) for r in rows} if kind == "org" else {}

    def unit_path(code: str, seen: frozenset[str] = frozenset()) -> str | None:
        """The path a unit has or will have (None: its place is wrong — an unknown parent,
        a cycle, a plant at the top — which the import itself reports); a new group at the
        top of the tree lies outside every scope."""
        if code in paths.units:
            return paths.units[code]
        if code not in new_units or code in seen:
            return None
        parent, unit_kind = new_units[code]
        if not parent:
            return f"/{code}/" if unit_kind == "group" else None
        above = unit_path(parent, seen | {code})
        return None if above is None else f"{above}{code}/"

    checks: dict[str, Check] = {
        "org": lambda r: None if within(unit_path(r["code"])) else ("code", r["code"]),
        "employees": lambda r: (
            ("org_code", r["org_code"])
            if not within(paths.units.get(r["org_code"]))
            else ("employee_no", r["employee_no"])
            if not within(paths.person(r["employee_no"]))
            else None
        ),
        "shifts": lambda r: (
            None if within(paths.person(r["employee_no"])) else ("employee_no", r["employee_no"])
        ),
        "metrics": lambda r: (
            None if within(paths.person(r["employee_no"])) else ("employee_no", r["employee_no"])
        ),
        "sessions": lambda r: (
            None
            if plant_within(paths.units.get(r["plant_code"]))
            else ("plant_code", r["plant_code"])
        ),
        "attendance": lambda r: (
            None
            if plant_within(paths.session_plant(r["session_code"]))
            else ("session_code", r["session_code"])
        ),
    }
    check = checks.get(kind)
    if check is None:
        return []
    found = []
    for row in rows:
        outside = check(row)
        if outside is not None:
            column, value = outside
            found.append(Finding(row.line, column, "import.outside_scope", {"value": value}))
    return found
