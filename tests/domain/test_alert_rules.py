"""The alert rules as pure functions: which conditions hold for a session at an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.alerts import (
    AlertRule,
    DeptCount,
    SessionFacts,
    Thresholds,
    alert_id,
    session_conditions,
    session_deadlines,
    subject_key,
)

START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
LATE = timedelta(minutes=10)


def facts(**kw: object) -> SessionFacts:
    base: dict[str, object] = dict(
        session_id="S",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        closed=False,
        checked_in=3,
        expected=10,
        departments=[DeptCount("W1", 8, 2, ("甲", "乙")), DeptCount("W2", 2, 2)],
        devices={"tablet": START + timedelta(minutes=9)},
    )
    base.update(kw)
    return SessionFacts(**base)  # type: ignore[arg-type]


def rules(f: SessionFacts, minutes: float) -> set[str]:
    now = START + timedelta(minutes=minutes)
    return {c.rule.value for c in session_conditions(f, now, LATE, Thresholds(), {})}


@pytest.mark.parametrize(
    ("minutes", "kw", "expected"),
    [
        (-5, {}, set()),  # not started
        (5, {}, set()),  # before the late mark (the tablet speaks nine minutes in)
        (10, {}, {"dept_rate_low"}),  # the late mark: W1 at 25%
        (10, {"checked_in": 0}, {"dept_rate_low", "no_checkins"}),
        (4, {"checked_in": 0}, set()),  # no check-in, but not five minutes yet
        (6, {"devices": {"tablet": None}}, {"device_silent"}),  # never heard from
        (6, {"devices": {"tablet": START + timedelta(minutes=3)}}, set()),
        (8, {"devices": {"tablet": START + timedelta(minutes=3)}}, {"device_silent"}),
        (5, {"headcount_shortfalls": 1, "open_anomalies": 1}, {"headcount_shortfall"}),
        (5, {"open_anomalies": 5}, {"anomaly_burst"}),
        (5, {"open_anomalies": 4}, set()),
        (30, {"closed": True}, set()),  # closed: nothing holds
        (61, {}, set()),  # over
    ],
)
def test_session_rules_hold_exactly_when_their_condition_does(
    minutes: float, kw: dict[str, object], expected: set[str]
) -> None:
    assert rules(facts(**kw), minutes) == expected


def test_a_department_rate_alert_names_who_is_missing() -> None:
    (low,) = session_conditions(facts(), START + LATE, LATE, Thresholds(), {})
    assert low.rule is AlertRule.DEPT_RATE_LOW
    assert low.subject == {"org_code": "W1", "session_id": "S"}
    assert low.facts["missing"] == ["甲", "乙"] and low.facts["rate"] == 0.25


def test_a_department_threshold_overrides_the_plants() -> None:
    lenient = Thresholds().with_overrides({"dept_rate": 0.2})
    found = session_conditions(facts(), START + LATE, LATE, Thresholds(), {"W1": lenient})
    assert found == []


def test_deadlines_cover_every_mark_a_rule_turns_on() -> None:
    marks = session_deadlines(facts(), LATE, Thresholds())
    assert START + LATE in marks and START + timedelta(minutes=5) in marks
    assert START + timedelta(minutes=14) in marks  # the tablet's silence mark
    assert marks[-1] == START + timedelta(hours=1)


def test_one_alert_id_per_rule_subject_and_occurrence() -> None:
    key = subject_key("dept_rate_low", {"session_id": "S", "org_code": "W1"})
    assert key == subject_key("dept_rate_low", {"org_code": "W1", "session_id": "S"})
    assert alert_id(key, 1) == alert_id(key, 1) != alert_id(key, 2)
