"""Statements with many named parameters go to SQLite as positional ones (SQLite compiles
thousands of names in quadratic time) and still mean the same."""

from __future__ import annotations

from pathlib import Path

from app.stores.sqlite import POSITIONAL_FROM, SQLiteReadStore, _positional


def test_names_become_question_marks_in_order_but_quoted_text_stays() -> None:
    sql = "SELECT ':no', x::text, :a, 'it''s :b' FROM t WHERE y = :b AND z = :a"
    assert _positional(sql) == (
        "SELECT ':no', x::text, ?, 'it''s :b' FROM t WHERE y = ? AND z = ?",
        ("a", "b", "a"),
    )


def test_a_query_with_thousands_of_parameters_answers_as_with_few(tmp_path: Path) -> None:
    store = SQLiteReadStore(tmp_path / "p.db")
    with store.transaction() as tx:
        tx.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
        for n in range(3000):
            tx.execute("INSERT INTO t (k, v) VALUES (:k, :v)", {"k": f"K{n}", "v": n})
    wanted = [f"K{n}" for n in range(0, 3000, 2)]
    assert len(wanted) >= POSITIONAL_FROM
    names = ", ".join(f":k{i}" for i in range(len(wanted)))
    params = {f"k{i}": k for i, k in enumerate(wanted)} | {"label": "a:b"}
    rows = store.fetch(
        f"SELECT :label AS label, ':k1' AS text, SUM(v) AS total, COUNT(*) AS n FROM t "
        f"WHERE k IN ({names}) AND v >= :low",
        params | {"low": 0},
    )
    assert rows == [
        {"label": "a:b", "text": ":k1", "total": sum(range(0, 3000, 2)), "n": len(wanted)}
    ]
    store.close()
