"""The effect report's windows read from running sums (`metrics_running`) equal the same
windows added up from every day's figures, on both stores: whatever order the days came in,
with several sources a day, figures left out, days without hours, corrections, a rebuild,
and a store whose figures were there before the running sums existed."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from app.analysis.windows import Side, Window, raw_window_sums, window_sums
from app.bootstrap import Muster
from app.domain.metrics import DailyFigures
from app.services.metrics import MetricsLine
from tests.conftest import Plant

START = date(2026, 3, 1)
PEOPLE = [f"E{n:02d}" for n in range(1, 13)]


def _value(rng: np.random.Generator, low: float, high: float) -> float | None:
    if rng.random() < 0.1:
        return None
    return round(float(rng.uniform(low, high)), 2)


def _lines(rng: np.random.Generator, days: int) -> list[MetricsLine]:
    lines = []
    for no in PEOPLE:
        for d in range(days):
            if rng.random() < 0.2:  # days off
                continue
            day = (START + timedelta(days=d)).isoformat()
            for source in ("mes", "erp")[: 1 + int(rng.random() < 0.3)]:
                figures = DailyFigures(
                    _value(rng, 50, 900),
                    _value(rng, 0, 20),
                    None if rng.random() < 0.15 else float(rng.choice([0.0, 7.5, 8.0, 10.25])),
                )
                if figures.output_units is None and figures.defects is None:
                    figures = DailyFigures(100.0, None, figures.hours)
                lines.append(MetricsLine(no, day, source, figures))
    return lines


def _windows(days: int) -> list[Window]:
    first = START.toordinal()
    return [(no, first + t) for no in PEOPLE for t in range(-5, days + 5, 3)]


def _assert_same(muster: Muster, days: int, width: int) -> None:
    muster.metrics_runner.wait_until_caught_up(60)
    windows = _windows(days)
    running = window_sums(muster.store, windows, width)
    raw = raw_window_sums(muster.store, windows, width)
    assert running.keys() == raw.keys()
    for key, side in raw.items():
        got = running[key]
        assert (got.days, got.output_without_hours) == (side.days, side.output_without_hours)
        # sums of sums: equal up to the last bits of a double
        for field in ("output", "output_hours", "defects", "defect_base"):
            assert getattr(got, field) == pytest.approx(getattr(side, field), rel=1e-12), (
                key,
                field,
            )
    assert len(raw) > len(windows)  # most windows have both sides


def test_running_sums_equal_the_days_added_up(muster: Muster, plant: Plant) -> None:
    rng = np.random.default_rng(23)
    days = 90
    lines = _lines(rng, days)
    # weeks arrive out of order (a late file, a resend of an old month) in several records
    order = rng.permutation(len(lines))
    for part in np.array_split(order, 7):
        muster.metrics.record([lines[i] for i in sorted(part, reverse=True)], "erp-job")
    _assert_same(muster, days, 30)
    _assert_same(muster, days, 7)

    # corrections: other figures for days in the middle of windows
    fixes = [
        MetricsLine(
            x.employee_no,
            x.day,
            x.source,
            DailyFigures((x.figures.output_units or 0) + 10.0, 3.0, 9.0),
        )
        for x in lines[5::17]
    ]
    assert muster.metrics.record(fixes, "erp-job").corrected == len(fixes)
    _assert_same(muster, days, 30)

    muster.metrics_runner.rebuild()
    _assert_same(muster, days, 30)


def test_a_store_with_figures_from_before_the_running_sums_fills_them_on_start(
    muster: Muster, plant: Plant
) -> None:
    rng = np.random.default_rng(7)
    muster.metrics.record(_lines(rng, 40), "erp-job")
    muster.metrics_runner.wait_until_caught_up(60)
    expected = window_sums(muster.store, _windows(40), 14)
    with muster.store.transaction() as tx:
        tx.execute("DROP TABLE metrics_running")
    muster.metrics_runner.create_tables()
    assert window_sums(muster.store, _windows(40), 14) == expected
    assert expected and all(isinstance(s, Side) for s in expected.values())
