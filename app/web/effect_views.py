"""The effect report as JSON (the contract's fields first) and its words in both languages."""

from __future__ import annotations

from typing import Any

from app.analysis.did import Effect
from app.analysis.effect import EffectReport
from app.web.i18n import t


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def effect_fields(effect: Effect) -> dict[str, Any]:
    """One effect's numbers (the contract's names)."""
    return {
        "before": _round(effect.before),
        "after": _round(effect.after),
        "control_before": _round(effect.control_before),
        "control_after": _round(effect.control_after),
        "did": _round(effect.did),
        "ci95": [_round(effect.ci95[0]), _round(effect.ci95[1])],
        "conversion_rate": _round(effect.conversion_rate),
    }


def warning_text(report: EffectReport, lang: str) -> str | None:
    """Every warning of the report, in words, or None."""
    if not report.warnings:
        return None
    return " ".join(
        t(f"effect.warning.{code}", lang).format(**params) for code, params in report.warnings
    )


def effect_body(report: EffectReport, org: str, lang: str, by: str | None = None) -> dict[str, Any]:
    """`GET /api/v1/effect`'s body."""
    q = report.query
    body: dict[str, Any] = {
        "course": q.course,
        "org": org,
        "metric": q.metric.value,
        "trained": report.effect.n,
        "control": report.controls,
        **effect_fields(report.effect),
    }
    warning = warning_text(report, lang)
    if warning:
        body["warning"] = warning
    body.update(
        {
            "warnings": [{"code": code, **params} for code, params in report.warnings],
            "unit": report.unit,
            "window_days": q.window_days,
            "conversion_threshold": q.conversion_threshold,
            "trained_total": report.trained_total,
            "excluded": report.excluded,
            "likely_ineffective": report.likely_ineffective,
            "participation_rate": _round(report.participation),
            "attention_share": _round(report.attention),
        }
    )
    if by is not None:
        body["by"] = by
        body["groups"] = [
            {"key": g.key, "label": g.label, "n": g.effect.n, **effect_fields(g.effect)}
            for g in report.groups[by]
        ]
    return body
