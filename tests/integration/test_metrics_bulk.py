"""The metrics import's bulk path: first reports written straight to their stored events,
checked a column at a time, saved in large groups — with the same outcome as one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.application import Application
from hypothesis import given
from hypothesis import strategies as st

from app.bootstrap import Muster
from app.domain.metrics import DailyFigures, DailyMetrics, figures_problem, metrics_id
from app.services import metrics as metrics_service
from app.services.metrics_checks import MetricsColumns, MetricsLine, day_problem, problems
from app.stores import metric_events
from app.stores.metric_events import MsgspecJSONTranscoder, first_report_events
from tests.conftest import Plant

AT = datetime(2026, 12, 1, 22, 5, 1, 123456, tzinfo=UTC)


def test_a_first_report_written_in_bulk_reads_back_as_the_application_writes_it() -> None:
    figures = DailyFigures(812.0, None, 7.5)
    record = metrics_id("E01", "2026-11-30", "mes")
    expected = DailyMetrics.first_report(record, "E01", "2026-11-30", "mes", figures, "erp-job", AT)
    (stored,) = first_report_events(
        [record], ["E01"], ["2026-11-30"], ["mes"], [[812.0], [None], [7.5]], "erp-job", AT
    )
    plain = Application()  # eventsourcing's own JSON transcoder
    assert stored.topic == plain.mapper.to_stored_event(expected).topic
    for mapper in (plain.mapper, metrics_service.Metrics().mapper):
        event = mapper.to_domain_event(stored)
        assert type(event) is type(expected)
        assert vars(event) == vars(expected)
    # and what the application writes, msgspec reads back the same
    written = plain.mapper.to_stored_event(expected)
    fast = metrics_service.Metrics().mapper.transcoder
    assert isinstance(fast, MsgspecJSONTranscoder)
    assert fast.decode(written.state) == plain.mapper.transcoder.decode(written.state)


def _one_line_problem(line: MetricsLine, employees: set[str]) -> tuple[str, str] | None:
    """The rules one line at a time: the oracle the column checks must agree with."""
    if not line.employee_no or line.employee_no not in employees:
        return "employee_no", "unknown_employee"
    if not line.source:
        return "source", "no_source"
    problem = day_problem(line.day, TODAY)
    if problem is not None:
        return "date", problem
    return figures_problem(line.figures)


TODAY = datetime(2026, 12, 7, tzinfo=UTC).date()
DAYS = ["2026-12-01", "2026-12-08", "2026-12-09", "1999-12-31", "2026-02-30", "12/01/2026", ""]
figure = st.one_of(st.none(), st.floats(min_value=-5, max_value=40, allow_nan=False))
lines = st.lists(
    st.builds(
        MetricsLine,
        st.sampled_from(["E01", "E02", "", "NOBODY"]),
        st.sampled_from(DAYS),
        st.sampled_from(["mes", ""]),
        st.builds(DailyFigures, figure, figure, figure),
    ),
    max_size=30,
)


@given(lines)
def test_the_column_checks_name_the_problem_the_one_line_rules_name(
    batch: list[MetricsLine],
) -> None:
    employees = {"E01", "E02"}
    found = {
        p.index: (p.field, p.reason) for p in problems(MetricsColumns.of(batch), employees, TODAY)
    }
    expected = {
        i: problem
        for i, line in enumerate(batch)
        if (problem := _one_line_problem(line, employees)) is not None
    }
    assert found == expected


def _csv(days: list[str], employees: list[str], extra: str = "") -> bytes:
    rows = ["employee_no,date,output_units,defects,hours,source"]
    rows += [f"{no},{d},{100 + n},{n % 3},8,mes" for d in days for n, no in enumerate(employees)]
    return ("\n".join(rows) + "\n" + extra).encode()


def test_an_import_of_many_groups_is_recorded_once_projected_and_corrections_kept(
    muster: Muster, plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # small groups, so the file spans several transactions (and PostgreSQL's COPY path)
    monkeypatch.setattr(metrics_service, "SAVE_GROUP", 500)
    monkeypatch.setattr(metric_events, "COPY_FROM", 100)
    employees = [f"E{n:02d}" for n in range(1, 21)]
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=d)).isoformat() for d in range(60, 0, -1)]
    # the last line corrects the first day's figure of E01, two groups after it
    correction = f"E01,{days[0]},150,,,mes\n"
    result = muster.imports.run("metrics", _csv(days, employees, correction), actor="test")
    assert result.applied and result.rows == 1201
    assert (result.created, result.updated) == (1200, 1)
    rows = muster.store.fetch(
        "SELECT employee_no, day, output_units, defects, hours FROM metrics ORDER BY day"
    )
    assert len(rows) == 1200
    first = next(r for r in rows if r["employee_no"] == "E01" and r["day"] == days[0])
    assert (first["output_units"], first["defects"], first["hours"]) == (150, 0, 8)
    history = muster.metrics.history("E01", days[0], "mes")
    assert [(h["event"], h["output_units"]) for h in history] == [
        ("MetricsRecorded", 100),
        ("MetricsCorrected", 150),
    ]
    # the same figures again (a file holding a line and its correction applies both, in order)
    again = muster.imports.run("metrics", _csv(days[1:], employees, correction), actor="test")
    assert again.applied and (again.created, again.updated) == (0, 0)
    # every fact once: 1,200 first reports and one correction (PostgreSQL's notification ids
    # may skip the numbers of a group rolled back and decided again)
    assert len(muster.metrics.app.recorder.select_notifications(start=1, limit=10_000)) == 1201


def test_a_file_with_bad_rows_names_each_and_records_nothing(muster: Muster, plant: Plant) -> None:
    today = datetime.now(UTC).date()
    good = _csv([(today - timedelta(days=2)).isoformat()], ["E01", "E02"])
    bad = good + b"E03,,5,,,mes\nE03,2026-11-02,,,,\nE04,2026-11-02,5,1e400,,mes\n"
    result = muster.imports.run("metrics", bad, actor="test")
    assert not result.applied
    assert [(f.line, f.column, f.key) for f in result.errors] == [
        (4, "date", "import.required"),
        (5, "output_units", "metrics.problem.no_figures"),
        (6, "defects", "metrics.problem.not_a_number"),
    ]
    assert muster.metrics_runner.head() == 0
