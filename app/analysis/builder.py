"""The custom report builder's query: attendance counted by up to two dimensions (org level,
course, month, position) with the chosen measures, inside an org subtree."""

from __future__ import annotations

from app.domain.reports import DIMENSIONS
from app.stores.base import ReadStore, Row

#: each dimension as a column of the joined read models (month: the session's UTC month)
COLUMNS = {
    "plant": "e.plant",
    "workshop": "e.dept",
    "team": "e.org_unit",
    "course": "s.course",
    "month": "SUBSTR(s.starts_at, 1, 7)",
    "position": "e.position",
}


def custom_report(store: ReadStore, org_path: str, dimensions: list[str]) -> list[Row]:
    """One row per combination of the dimensions: expected (on a roster), attended (checked
    in, on a roster or not), participation, and the mean heads-up share of the room photos
    of the sessions they attended."""
    assert dimensions and all(d in DIMENSIONS for d in dimensions)
    keys = [f"{COLUMNS[d]} AS {d}" for d in dimensions]
    group = ", ".join(COLUMNS[d] for d in dimensions)
    rows = store.fetch(
        f"SELECT {', '.join(keys)}, "
        "SUM(CASE WHEN a.on_roster = 1 THEN 1 ELSE 0 END) AS expected, "
        "SUM(CASE WHEN a.checked_in_at IS NOT NULL THEN 1 ELSE 0 END) AS attended, "
        "AVG(CASE WHEN a.checked_in_at IS NOT NULL THEN ("
        "SELECT AVG(p.attention_share) FROM photos p WHERE p.session_id = s.id "
        "AND p.kind = 'room') END) AS attention "
        "FROM attendance a JOIN sessions s ON s.id = a.session_id "
        "JOIN employees e ON e.employee_no = a.employee_no "
        "JOIN org_units ou ON ou.code = e.org_unit AND ou.path LIKE :prefix "
        f"GROUP BY {group} ORDER BY {group}",
        {"prefix": org_path + "%"},
    )
    for r in rows:
        expected = int(r["expected"] or 0)
        r["participation"] = int(r["attended"] or 0) / expected if expected else None
        r["attention"] = float(r["attention"]) if r["attention"] is not None else None
    return rows
