"""Running sums stay equal to the days added up whatever arrives in whatever order: any mix
of imports (running sums brought up to date once at their end, decision 0134) and single
records (brought up to date per batch), back-filled days, several sources a day, figures
left out, corrections — on both stores."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.analysis.windows import raw_window_sums, window_sums
from app.bootstrap import Muster
from app.domain.metrics import DailyFigures
from app.projections import metrics_running
from app.services.metrics import MetricsLine
from tests.conftest import Plant

PEOPLE = ("E01", "E02", "E03")
DAYS = 24
#: each example writes its own stretch of days, earlier than the one before (back-filled)
FIRST = date(2026, 6, 1)
_examples = itertools.count()

figure = st.one_of(st.none(), st.integers(0, 40_000).map(lambda n: n / 8))
line = st.tuples(
    st.sampled_from(PEOPLE),
    st.integers(0, DAYS - 1),
    st.sampled_from(("mes", "erp")),
    figure,
    figure,
    st.one_of(st.none(), st.sampled_from((0.0, 7.5, 8.0, 10.25))),
)
#: (imported: True → the import's deferred path, lines)
records = st.lists(st.tuples(st.booleans(), st.lists(line, min_size=1, max_size=30)), min_size=1)


def _line(
    start: date, raw: tuple[str, int, str, float | None, float | None, float | None]
) -> MetricsLine:
    no, day, source, output, defects, hours = raw
    if output is None and defects is None and hours is None:
        output = 1.0
    if output is not None and defects is not None and defects > output:
        defects = output
    return MetricsLine(
        no, (start + timedelta(days=day)).isoformat(), source, DailyFigures(output, defects, hours)
    )


def _same(muster: Muster, start: date) -> None:
    first = start.toordinal()
    windows = [(no, first + t) for no in PEOPLE for t in range(-3, DAYS + 3)]
    for width in (1, 5, 30):
        running = window_sums(muster.store, windows, width)
        raw = raw_window_sums(muster.store, windows, width)
        assert running.keys() == raw.keys()
        for key, side in raw.items():
            got = running[key]
            assert (got.days, got.output_without_hours) == (side.days, side.output_without_hours)
            for name in ("output", "output_hours", "defects", "defect_base"):
                assert getattr(got, name) == pytest.approx(getattr(side, name), rel=1e-12), key


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=records)
def test_running_sums_equal_the_days_added_up_in_any_order(
    muster: Muster, plant: Plant, batches: list[tuple[bool, list[tuple]]]
) -> None:
    start = FIRST - timedelta(days=40 * next(_examples))
    for imported, lines in batches:
        chosen = [_line(start, raw) for raw in lines]
        if imported:
            with muster.metrics.projecting():
                muster.metrics.record(chosen, "erp-job")
            # the import's end brought every person it touched up to date
            assert not metrics_running.is_stale(muster.store)
        else:
            muster.metrics.record(chosen, "erp-job")
    muster.metrics_runner.wait_until_caught_up(60)
    _same(muster, start)


def test_a_report_during_an_import_reads_sums_brought_up_to_date(
    muster: Muster, plant: Plant
) -> None:
    lines = [
        MetricsLine(
            no,
            (FIRST + timedelta(days=d)).isoformat(),
            "mes",
            DailyFigures(100.0 + d, float(d % 3), 8.0),
        )
        for no in PEOPLE
        for d in range(0, DAYS, 2)
    ]
    with muster.metrics.projecting():
        muster.metrics.record(lines, "erp-job")
        # the late days of a month, then an earlier one the file had missed
        muster.metrics.record(
            [
                MetricsLine(
                    "E02",
                    (FIRST + timedelta(days=1)).isoformat(),
                    "mes",
                    DailyFigures(50.0, 1.0, 4.0),
                )
            ],
            "erp-job",
        )
        muster.metrics_runner.wait_until_caught_up(60)
        assert metrics_running.is_stale(muster.store)  # left for the import's end …
        _same(muster, FIRST)  # … but a report does not wait for it
        assert not metrics_running.is_stale(muster.store)
