"""Scheduled reports in words: the title, the text and the CSV a recipient gets, in the
plant's language (the report delivery calls `render_report`)."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.services.report_delivery import ReportText
from app.stores.base import Row
from app.web.compliance_api import neutralised
from app.web.i18n import t, tf

#: table lines in the text of a message (the CSV holds them all)
TEXT_LINES = 20
RATES = ("participation", "attention")


def _value(row: Row, measure: str) -> str:
    value = row.get(measure)
    if value is None:
        return "—"
    if measure in RATES:
        return f"{float(value) * 100:.0f}%"
    return str(int(value))


def render_report(facts: dict[str, Any], rows: list[Row], lang: str) -> ReportText:
    """The words and CSV of a saved report's delivery for one period."""
    dims, measures = facts["dimensions"], facts["measures"]
    title = tf("builder.sent_title", lang, {"name": facts["report"], "period": facts["period"]})
    lines = [tf("builder.sent_intro", lang, {"org": facts["org"], "rows": len(rows)})]
    for row in rows[:TEXT_LINES]:
        label = " · ".join(str(row.get(d) or "-") for d in dims)
        shown = ", ".join(f"{t(f'builder.measure.{m}', lang)} {_value(row, m)}" for m in measures)
        lines.append(f"{label}: {shown}")
    if len(rows) > TEXT_LINES:
        lines.append(tf("builder.sent_more", lang, {"n": len(rows) - TEXT_LINES}))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [t(f"builder.dim.{d}", lang) for d in dims]
        + [t(f"builder.measure.{m}", lang) for m in measures]
    )
    for row in rows:
        writer.writerow(
            [neutralised(row.get(d)) for d in dims]
            + [neutralised(_value(row, m)) for m in measures]
        )
    return ReportText(title, "\n".join(lines), out.getvalue().encode("utf-8-sig"))
