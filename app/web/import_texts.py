"""Import findings and planning conflicts in the plant's language (texts from the one
catalogue, app/web/messages.toml; times in the plant's clock)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from app.imports.base import Finding
from app.web.i18n import tf
from app.web.render import plant_time


def words(key: str, lang: str, params: Mapping[str, Any], tz: tzinfo) -> str:
    """The text of `key` filled with `params` (instants as month-day hour:minute in the plant's
    clock `tz`)."""
    shown = {
        k: plant_time(v, tz).strftime("%m-%d %H:%M") if isinstance(v, datetime) else v
        for k, v in params.items()
    }
    return tf(key, lang, shown)


def reason(finding: Finding, lang: str, tz: tzinfo) -> str:
    """The finding's reason, in words."""
    return words(finding.key, lang, finding.params, tz)


def finding_line(finding: Finding, lang: str, tz: tzinfo) -> str:
    """`line N: column: reason` (file-wide findings name no column)."""
    column = f"{finding.column}: " if finding.column else ""
    return f"line {finding.line}: {column}{reason(finding, lang, tz)}"


def finding_json(finding: Finding, lang: str, tz: tzinfo) -> dict[str, Any]:
    """The contract's `{"line", "column", "reason"}`."""
    return {"line": finding.line, "column": finding.column, "reason": reason(finding, lang, tz)}
