"""Import findings in the plant's language (texts from the one catalogue, app/web/i18n.py)."""

from __future__ import annotations

from typing import Any

from app.imports.base import Finding
from app.web.i18n import tf


def reason(finding: Finding, lang: str) -> str:
    """The finding's reason, in words."""
    return tf(finding.key, lang, finding.params)


def finding_line(finding: Finding, lang: str) -> str:
    """`line N: column: reason` (file-wide findings name no column)."""
    column = f"{finding.column}: " if finding.column else ""
    return f"line {finding.line}: {column}{reason(finding, lang)}"


def finding_json(finding: Finding, lang: str) -> dict[str, Any]:
    """The contract's `{"line", "column", "reason"}`."""
    return {"line": finding.line, "column": finding.column, "reason": reason(finding, lang)}
