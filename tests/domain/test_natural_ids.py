"""Batched ids are exactly the one-at-a-time uuid5 ids."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.ids import natural_id, natural_ids
from app.domain.metrics import metrics_id, metrics_ids


@given(st.text(max_size=12), st.lists(st.text(max_size=40), max_size=20))
def test_natural_ids_are_the_natural_id_of_each_key(kind: str, keys: list[str]) -> None:
    made = natural_ids(kind, keys)
    assert made == [natural_id(kind, key) for key in keys]
    assert [str(u) for u in made] == [str(natural_id(kind, key)) for key in keys]
    assert all(
        u.version == 5 and hash(u) == hash(natural_id(kind, k))
        for u, k in zip(made, keys, strict=True)
    )


def test_metrics_ids_name_each_line_as_metrics_id_does() -> None:
    nos, days, sources = ["E1", "E2"], ["2026-12-01", "2026-12-02"], ["mes", "erp"]
    assert metrics_ids(nos, days, sources) == list(map(metrics_id, nos, days, sources))
