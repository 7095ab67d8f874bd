"""Imports: a plant loads its own organisation, people and plans from CSV or XLSX files.

Each kind is one module that declares its columns and a `plan(rows, ctx) -> Plan` function
turning checked rows into aggregates with pending events; this package reads the file,
runs the plan and, only when no row is in error, saves every aggregate in one transaction
(all or nothing). Re-importing a file is an upsert: a row equal to what is stored adds no
event.

To add a kind (say `metrics`):

1. write `app/imports/metrics.py` with
   `METRICS = ImportKind("metrics", columns(required, optional), plan)`, where `plan` reports
   bad cells with `Plan.error(line, column, key, **params)` (or `Plan.refuse(line, err)` for
   a `RowError` from the cell parsers in `app.imports.base`) and keeps aggregates with
   `Plan.keep(aggregate, new=...)`;
2. add it to `KINDS` below (one line);
3. add the texts of its `import.*` keys to app/web/messages.toml (zh-CN and en).

The CLI (`muster import KIND FILE`), the API (`POST /api/v1/imports/{kind}`) and the
downloadable templates pick the kind up from `KINDS`.
"""

from __future__ import annotations

from app.imports.attendance import ATTENDANCE
from app.imports.base import ImportKind
from app.imports.catalogue import COURSES, POSITIONS
from app.imports.metrics import METRICS
from app.imports.org import ORG
from app.imports.people import EMPLOYEES, SHIFTS
from app.imports.sessions import SESSIONS

#: every kind, in the order a plant loads them from scratch
KINDS: dict[str, ImportKind] = {
    kind.name: kind
    for kind in (
        ORG,
        POSITIONS,
        COURSES,
        EMPLOYEES,
        SHIFTS,
        SESSIONS,
        ATTENDANCE,
        METRICS,
    )
}
