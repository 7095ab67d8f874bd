"""Running sums of each person's daily figures: the rollup the effect report reads.

`metrics_running` holds, per employee and day that has figures, the sums of everything up to
and including that day (rows, days with output, output, hours worked while producing, …). A
window's side is then the difference of two rows, whatever its length: a report over a year of
10,000 people reads four rows per window instead of every day in it (decision 0130).

The metrics projection keeps it in the same transaction as the `metrics` rows: after a batch
of events it recomputes each touched person's sums from the earliest day the batch changed.
Figures arrive in date order nearly always, so that is the batch's own days; a late or
corrected day recomputes that person's days after it.

During a large import the projection only notes, per person, the earliest day whose sums are
out of date (`metrics_running_stale`, same transaction), and the sums are brought up to date
once at its end (`refresh`), a person's whole month in one pass: per batch, a person's latest
index page was rewritten for each day (decision 0134). Whatever reads the sums refreshes
first, so a report never sees them out of date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.stores.base import ReadStore, Statement

# PostgreSQL keeps the figures as `real`; summed as such a year of them keeps 7 digits
AS_OUTPUT, AS_DEFECTS, AS_HOURS = (
    f"CAST(m.{c} AS DOUBLE PRECISION)" for c in ("output_units", "defects", "hours")
)
#: the sums kept, as the per-day aggregate of the `metrics` rows that feeds each
SUMS = (
    ("c_rows", "BIGINT", "COUNT(*)"),
    ("c_days", "BIGINT", "MAX(CASE WHEN m.output_units IS NOT NULL THEN 1 ELSE 0 END)"),
    ("c_output", "DOUBLE PRECISION", f"COALESCE(SUM({AS_OUTPUT}), 0)"),
    (
        "c_output_hours",
        "DOUBLE PRECISION",
        f"COALESCE(SUM(CASE WHEN m.output_units IS NOT NULL THEN {AS_HOURS} END), 0)",
    ),
    (
        "c_without_hours",
        "BIGINT",
        "SUM(CASE WHEN m.output_units IS NOT NULL AND (m.hours IS NULL OR m.hours <= 0) "
        "THEN 1 ELSE 0 END)",
    ),
    (
        "c_defects",
        "DOUBLE PRECISION",
        f"COALESCE(SUM(CASE WHEN m.output_units IS NOT NULL THEN {AS_DEFECTS} END), 0)",
    ),
    (
        "c_defect_base",
        "DOUBLE PRECISION",
        f"COALESCE(SUM(CASE WHEN m.defects IS NOT NULL THEN {AS_OUTPUT} END), 0)",
    ),
)
COLUMNS = tuple(name for name, _, _ in SUMS)
#: (employee, day) pairs per statement: two bound parameters each
CHUNK = 5000

_DAYS = ", ".join(f"{expr} AS {name}" for name, _, expr in SUMS)
_WINDOW = "WINDOW w AS (PARTITION BY d.employee_no ORDER BY d.day_no ROWS UNBOUNDED PRECEDING)"

#: every person's running sums from every day's figures
_ALL = (
    "SELECT d.employee_no, d.day_no, "
    + ", ".join(f"CAST(SUM(d.{n}) OVER w AS {t}) AS {n}" for n, t, _ in SUMS)
    + f" FROM (SELECT m.employee_no, m.day_no, {_DAYS} FROM metrics m "
    f"GROUP BY m.employee_no, m.day_no) d {_WINDOW}"
)
#: created from the figures already there (a store from before the rollup fills it once)
TABLES = (
    f"CREATE TABLE IF NOT EXISTS metrics_running AS {_ALL}",
    "CREATE UNIQUE INDEX IF NOT EXISTS metrics_running_key "
    "ON metrics_running (employee_no, day_no)",
    # people whose sums are out of date from `from_day` on (kept while an import runs)
    "CREATE TABLE IF NOT EXISTS metrics_running_stale "
    "(employee_no TEXT PRIMARY KEY, from_day INTEGER NOT NULL)",
)
#: people per refresh transaction: a month of each is ~30,000 rows, well under a second
#: of SQLite's one writer
REFRESH_PEOPLE = 1000
_EARLIER = (
    "ON CONFLICT (employee_no) DO UPDATE SET from_day = CASE "
    "WHEN excluded.from_day < metrics_running_stale.from_day THEN excluded.from_day "
    "ELSE metrics_running_stale.from_day END"
)
# WHERE before ON CONFLICT: SQLite would read the upsert as part of the SELECT otherwise
_STALE_ROW = (
    "INSERT INTO metrics_running_stale (employee_no, from_day) "
    f"SELECT employee_no, day_no FROM metrics WHERE id = :id {_EARLIER}"
)
_SERIALISE = "UPDATE projection_tracking SET updated_at = updated_at WHERE name = 'metrics'"
_TAKE_STALE = (
    "DELETE FROM metrics_running_stale WHERE employee_no IN (SELECT employee_no "
    "FROM metrics_running_stale ORDER BY employee_no LIMIT :n) RETURNING employee_no, from_day"
)
#: the running sums computed again from the `metrics` table (after rows were written to it
#: by other means than the projection: a benchmark's bulk fill)
REFILL = ("DELETE FROM metrics_running", f"INSERT INTO metrics_running {_ALL}")


def mark_stale(touched: dict[str, int], corrected: Sequence[str]) -> Iterable[Statement]:
    """Statements that note the touched people's sums as out of date from the earliest
    changed day (for `refresh` to bring up to date); arguments as `recompute`'s."""
    pairs = sorted(touched.items())
    for i in range(0, len(pairs), CHUNK):  # one statement per chunk: a batch's people
        params: dict[str, object] = {}
        values = []
        for n, (employee_no, day) in enumerate(pairs[i : i + CHUNK]):
            params[f"e{n}"], params[f"d{n}"] = employee_no, day
            values.append(f"(:e{n}, :d{n})")
        sql = (
            "INSERT INTO metrics_running_stale (employee_no, from_day) "
            f"VALUES {', '.join(values)} {_EARLIER}"
        )
        yield Statement(sql, params)
    for row_id in corrected:
        yield Statement(_STALE_ROW, {"id": row_id})


def refresh(store: ReadStore, people: int = REFRESH_PEOPLE) -> int:
    """Bring every out-of-date person's running sums up to date, `people` per transaction.
    Each transaction first takes the metrics projection's checkpoint row, so refreshes and
    the projection's batches run one after another (on PostgreSQL too): a refresh that
    finds fewer than `people` left has seen every one noted before it. Returns how many
    people were brought up to date."""
    done = 0
    while True:
        with store.transaction() as tx:
            tx.execute(_SERIALISE)
            stale = tx.fetch(_TAKE_STALE, {"n": people})
            tx.run(list(recompute({r["employee_no"]: int(r["from_day"]) for r in stale}, ())))
        done += len(stale)
        if len(stale) < people:
            return done


def is_stale(store: ReadStore) -> bool:
    """Whether any person's running sums wait for `refresh`."""
    return store.fetch_one("SELECT 1 AS stale FROM metrics_running_stale LIMIT 1") is not None


def recompute(touched: dict[str, int], corrected: Sequence[str]) -> Iterable[Statement]:
    """Statements that bring the running sums of the touched people up to date: `touched`
    maps an employee to the earliest day a batch recorded, `corrected` lists metrics row ids
    whose figures changed (their day is read from the row)."""
    pairs = sorted(touched.items())
    for i in range(0, max(len(pairs), 1), CHUNK):
        chunk = pairs[i : i + CHUNK]
        ids = corrected if i == 0 else ()
        if chunk or ids:
            yield _statement(chunk, ids)


def _statement(pairs: Sequence[tuple[str, int]], ids: Sequence[str]) -> Statement:
    params: dict[str, object] = {}
    ctes, sources = [], []
    if pairs:
        values = []
        for n, (employee_no, day) in enumerate(pairs):
            params[f"e{n}"], params[f"d{n}"] = employee_no, day
            values.append(f"(:e{n}, CAST(:d{n} AS INTEGER))")
        ctes.append(f"pairs (employee_no, day_no) AS (VALUES {', '.join(values)})")
        sources.append("SELECT employee_no, day_no FROM pairs")
    if ids:
        for n, row_id in enumerate(ids):
            params[f"i{n}"] = row_id
        names = ", ".join(f":i{n}" for n in range(len(ids)))
        sources.append(f"SELECT employee_no, day_no FROM metrics WHERE id IN ({names})")
    ctes.append(
        "touched (employee_no, from_day) AS (SELECT employee_no, MIN(day_no) FROM ("
        + " UNION ALL ".join(sources)
        + ") AS s GROUP BY employee_no)"
    )
    # the sums up to the day before the first changed one: where the new ones start from
    ctes.append(
        "b AS (SELECT t.employee_no, "
        + ", ".join(f"r.{n}" for n in COLUMNS)
        + " FROM touched t LEFT JOIN metrics_running r ON r.employee_no = t.employee_no "
        "AND r.day_no = (SELECT MAX(x.day_no) FROM metrics_running x "
        "WHERE x.employee_no = t.employee_no AND x.day_no < t.from_day))"
    )
    ctes.append(
        f"d AS (SELECT m.employee_no, m.day_no, {_DAYS} FROM touched t "
        "JOIN metrics m ON m.employee_no = t.employee_no AND m.day_no >= t.from_day "
        "GROUP BY m.employee_no, m.day_no)"
    )
    sums = ", ".join(f"COALESCE(b.{n}, 0) + SUM(d.{n}) OVER w" for n in COLUMNS)
    sets = ", ".join(f"{n} = excluded.{n}" for n in COLUMNS)
    sql = (
        f"WITH {', '.join(ctes)} "
        f"INSERT INTO metrics_running (employee_no, day_no, {', '.join(COLUMNS)}) "
        f"SELECT d.employee_no, d.day_no, {sums} FROM d JOIN b ON b.employee_no = d.employee_no "
        # WHERE: SQLite reads ON CONFLICT after a join's ON as part of the join otherwise
        f"WHERE 1 = 1 {_WINDOW} "
        f"ON CONFLICT (employee_no, day_no) DO UPDATE SET {sets}"
    )
    return Statement(sql, params)
