"""What one login may see: the plants its scope reaches, and the people in them.

A login scoped to a plant or above sees everyone in its plants' sessions; one scoped below
(a workshop, department or team: a department head, a trainer) sees the sessions of its plant
but only the people of its own subtree; an `employee` login sees only that person.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.projections.anomaly_lists import narrowed
from app.projections.queries import Scope, visible_plants
from app.stores.base import ReadStore

WHOLE_PLANT_KINDS = ("group", "company", "plant")


@dataclass(frozen=True)
class Viewer:
    """A login's view of the org tree."""

    scope: Scope
    kind: str
    plants: frozenset[str]
    employee_no: str | None = None

    @property
    def whole_plants(self) -> bool:
        """Whether every person in its plants' sessions is in view."""
        return self.employee_no is None and self.kind in WHOLE_PLANT_KINDS

    def sees_person(self, org_path: str | None, employee_no: str | None) -> bool:
        """Whether a person (by their org unit's path) is in view."""
        if self.employee_no is not None:
            return employee_no == self.employee_no
        return self.whole_plants or (org_path or "").startswith(self.scope.path)

    def sees_unit(self, org_path: str | None) -> bool:
        """Whether an org unit's figures are in view: it lies in the subtree, or the subtree
        lies in it (a team leader sees their workshop's row)."""
        if self.whole_plants:
            return True
        path = org_path or ""
        return bool(path) and (path.startswith(self.scope.path) or self.scope.path.startswith(path))

    def people(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows (each with `org_path` and `employee_no`) of people in view."""
        return [r for r in rows if self.sees_person(r.get("org_path"), r.get("employee_no"))]

    def board(self, board: dict[str, Any]) -> dict[str, Any]:
        """A plant wallboard narrowed to what this viewer may see."""
        if self.whole_plants:
            return board
        return {
            **board,
            "departments": [d for d in board["departments"] if self.sees_unit(d.get("path"))],
            "latest": self.people(board["latest"]),
            "anomalies": narrowed(board.get("anomalies", []), self.people),
        }

    @property
    def key(self) -> tuple[str, str | None]:
        """Viewers with the same key see the same things."""
        return ("*" if self.whole_plants else self.scope.path, self.employee_no)


async def viewer_of(
    store: ReadStore, scope_code: str, employee_no: str | None = None
) -> Viewer | None:
    """The view of a login scoped to `scope_code`; None when the org unit is unknown."""
    row = await store.afetch_one(
        "SELECT code, path, kind FROM org_units WHERE code = :c", {"c": scope_code}
    )
    if row is None:
        return None
    scope = Scope(row["code"], row["path"])
    return Viewer(scope, row["kind"], await visible_plants(store, scope), employee_no)
