"""Production metrics: recorded as events in their own log, idempotent, corrections kept."""

from __future__ import annotations

from app.bootstrap import Muster
from app.domain.metrics import DailyFigures
from app.services.metrics import MetricsLine
from tests.conftest import Plant


def line(
    no: str,
    day: str,
    output: float | None = None,
    defects: float | None = None,
    hours: float | None = None,
    source: str = "erp",
) -> MetricsLine:
    return MetricsLine(no, day, source, DailyFigures(output, defects, hours))


def current(muster: Muster, no: str) -> list[dict]:
    muster.metrics_runner.wait_until_caught_up(10)
    return muster.store.fetch(
        "SELECT day, source, output_units, defects, hours FROM metrics "
        "WHERE employee_no = :no ORDER BY day, source",
        {"no": no},
    )


def test_resent_lines_change_nothing_and_corrections_keep_history(
    muster: Muster, plant: Plant
) -> None:
    service = muster.metrics
    first = service.record(
        [line("E01", "2026-11-02", 100, 2, 8), line("E01", "2026-11-03", 110, 1, 8)], "erp-job"
    )
    assert (first.recorded, first.corrected, first.unchanged) == (2, 0, 0)
    again = service.record(
        [line("E01", "2026-11-02", 100, 2, 8), line("E01", "2026-11-03", 110, 1, 8)], "erp-job"
    )
    assert (again.recorded, again.corrected, again.unchanged) == (0, 0, 2)
    fixed = service.record([line("E01", "2026-11-03", 112, 1, 8)], "erp-job")
    assert (fixed.recorded, fixed.corrected) == (0, 1)
    rows = current(muster, "E01")
    assert [r["output_units"] for r in rows] == [100, 112]
    history = service.history("E01", "2026-11-03", "erp")
    assert [h["event"] for h in history] == ["MetricsRecorded", "MetricsCorrected"]
    assert [h["output_units"] for h in history] == [110, 112]


def test_metrics_stay_out_of_the_training_event_log(muster: Muster, plant: Plant) -> None:
    head = muster.runner.head()
    muster.metrics.record([line("E02", f"2026-10-{d:02d}", 50) for d in range(1, 29)], "erp")
    assert muster.runner.head() == head
    assert len(current(muster, "E02")) == 28


def test_bad_lines_are_reported_and_the_good_ones_recorded(muster: Muster, plant: Plant) -> None:
    outcome = muster.metrics.record(
        [
            line("E03", "2026-11-02", 90),
            line("NOBODY", "2026-11-02", 90),
            line("E03", "2026-13-40", 90),
            line("E03", "2026-11-04"),
            line("E03", "2026-11-05", 10, 20),
            line("E03", "2026-11-06", -1),
        ],
        "erp",
    )
    assert outcome.recorded == 1
    assert [(p.index, p.field) for p in outcome.problems] == [
        (1, "employee_no"),
        (2, "date"),
        (3, "output_units"),
        (4, "defects"),
        (5, "output_units"),
    ]


def test_a_line_the_read_model_has_not_seen_yet_is_still_not_doubled(
    muster: Muster, plant: Plant
) -> None:
    muster.metrics.record([line("E04", "2026-11-02", 70)], "erp")
    # no projection run in between: the read model does not know the line yet
    again = muster.metrics.record(
        [line("E04", "2026-11-02", 70), line("E04", "2026-11-03", 75)], "erp"
    )
    assert (again.recorded, again.unchanged) == (1, 1)
    assert len(current(muster, "E04")) == 2


def test_a_line_corrected_within_the_same_batch_keeps_both_facts(
    muster: Muster, plant: Plant
) -> None:
    outcome = muster.metrics.record(
        [line("E05", "2026-11-02", 70), line("E05", "2026-11-02", 72, 1)], "erp"
    )
    assert (outcome.recorded, outcome.corrected) == (1, 1)
    assert current(muster, "E05")[0]["output_units"] == 72
    assert [h["output_units"] for h in muster.metrics.history("E05", "2026-11-02", "erp")] == [
        70,
        72,
    ]
