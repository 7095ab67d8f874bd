"""Alerts in words: the title and text of a notice, in the plant's languages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.web.i18n import t

#: names listed in a notice before "and N more"
MAX_NAMES = 12


def _pct(value: Any) -> str:
    return f"{float(value) * 100:.0f}%"


def _names(names: list[str], lang: str) -> str:
    sep = "、" if lang == "zh-CN" else ", "
    shown = sep.join(names[:MAX_NAMES])
    if len(names) > MAX_NAMES:
        shown += " " + t("alert.more", lang).format(n=len(names) - MAX_NAMES)
    return shown or "—"


def describe(alert: dict[str, Any], lang: str) -> tuple[str, str]:
    """(title, text) of an alert as `GET /api/v1/alerts` shows it: the rule's name, and what
    holds with the names that matter (who is missing, which device, which person)."""
    rule = alert["rule"]
    facts = alert.get("facts") or {}
    subject = alert.get("subject") or {}
    title = t(f"alert.rule.{rule}", lang)
    words = {
        "session": facts.get("session", subject.get("session_id", "")),
        "room": facts.get("room", ""),
        "org": facts.get("org_name", subject.get("org_code", "")),
        "device": subject.get("device", ""),
        "employee": facts.get("employee", subject.get("employee_no", "")),
        "employee_no": subject.get("employee_no", ""),
        "course": facts.get("course_name", subject.get("course", "")),
        "expected": facts.get("expected", ""),
        "checked_in": facts.get("checked_in", ""),
        "n": facts.get("open_anomalies", ""),
    }
    key = f"alert.detail.{rule}"
    if rule == "dept_rate_low":
        words["rate"] = _pct(facts.get("rate", 0))
        words["threshold"] = _pct(facts.get("threshold", 0))
        words["missing"] = _names(list(facts.get("missing") or []), lang)
    elif rule == "device_silent":
        last = facts.get("last_seen")
        if last:
            quiet = datetime.fromisoformat(alert["raised_at"]) - datetime.fromisoformat(last)
            words["minutes"] = str(max(int(quiet.total_seconds() // 60), 1))
        else:
            key = "alert.detail.device_never"
    text = t(key, lang).format(**words)
    if alert.get("status") == "resolved":
        title = t("alert.resolved_title", lang).format(title=title)
    return title, text
