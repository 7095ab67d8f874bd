"""The effect report as files: XLSX (openpyxl, with a chart), CSV (cells that a spreadsheet
would run as formulas are neutralised) and PDF (reportlab, with the chart drawn)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.web.compliance_api import neutralised
from app.web.i18n import t

if TYPE_CHECKING:
    from app.web.reports import ReportView

Cell = str | float | int | None


def _pct(value: float | None) -> Cell:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class ReportData:
    """Titles, tables and chart values, in the reader's language."""

    title: str
    subtitle: str
    courses: Table
    departments: Table
    chart: list[tuple[str, float]]
    higher_is_better: bool

    @classmethod
    def of(cls, view: ReportView, lang: str) -> ReportData:
        def tr(key: str) -> str:
            return t(key, lang)

        metric = tr(f"report.metric.{view.metric.value}")
        courses = Table(
            tr("report.ranking"),
            [
                tr(k)
                for k in (
                    "report.course",
                    "report.sessions",
                    "report.trained",
                    "report.did",
                    "report.ci_low",
                    "report.ci_high",
                    "report.conversion",
                    "report.participation",
                    "report.attention",
                    "report.verdict",
                )
            ],
            [
                [
                    f"{r.code} {r.name}",
                    r.sessions,
                    r.effect.n,
                    _pct(r.effect.did),
                    _pct(r.effect.ci95[0]),
                    _pct(r.effect.ci95[1]),
                    _pct(r.effect.conversion_rate),
                    _pct(r.participation),
                    _pct(r.attention),
                    tr("report.ineffective")
                    if r.likely_ineffective
                    else tr("report.small_sample")
                    if r.warned
                    else "",
                ]
                for r in view.ranking
            ],
        )
        departments = Table(
            tr("report.by_department"),
            [
                tr(k)
                for k in (
                    "report.department",
                    "report.expected",
                    "report.attended",
                    "report.participation",
                    "report.attention",
                    "report.did",
                )
            ],
            [
                [
                    d.name,
                    d.expected,
                    d.attended,
                    _pct(d.participation),
                    _pct(d.attention),
                    _pct(d.effect.did if d.effect else None),
                ]
                for d in view.departments
            ],
        )
        chart = [(r.name, r.effect.did) for r in view.ranking if r.effect.did is not None]
        # " / ", not a middle dot: the PDF's built-in Chinese font has no middle dot
        subtitle = f"{view.org_name} / {metric} / {view.window_days} {tr('report.days')}"
        return cls(
            tr("report.title"), subtitle, courses, departments, chart, view.metric.higher_is_better
        )


def safe_cell(value: Cell) -> str:
    """A CSV cell a spreadsheet shows as text (`=SUM(…)` gets a leading quote); numbers stay
    numbers (a negative effect is not a formula)."""
    if isinstance(value, int | float):
        return str(value)
    return neutralised(value)


def to_csv(data: ReportData) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for table in (data.courses, data.departments):
        writer.writerow([safe_cell(table.title)])
        writer.writerow([safe_cell(h) for h in table.header])
        writer.writerows([[safe_cell(c) for c in row] for row in table.rows])
        writer.writerow([])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: Excel opens the Chinese intact


def to_xlsx(data: ReportData) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    first = True
    for table in (data.courses, data.departments):
        sheet: Any = book.active if first else book.create_sheet()
        first = False
        sheet.title = table.title[:31]
        sheet.append([data.title, data.subtitle])
        sheet.append(table.header)
        for row in table.rows:
            sheet.append(row)
        for column in sheet.columns:
            sheet.column_dimensions[column[0].column_letter].width = 16
    courses = book.worksheets[0]
    if data.courses.rows:
        chart = BarChart()
        chart.type = "bar"
        chart.title = data.courses.header[3]
        n = len(data.courses.rows)
        chart.add_data(
            Reference(courses, min_col=4, min_row=2, max_row=n + 2), titles_from_data=True
        )
        chart.set_categories(Reference(courses, min_col=1, min_row=3, max_row=n + 2))
        chart.height, chart.width = 2 + n, 18
        courses.add_chart(chart, f"A{n + 5}")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_pdf(data: ReportData) -> bytes:
    from reportlab.graphics.shapes import Drawing, Line, Rect, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    font = "STSong-Light"  # a CID font every PDF reader has for Chinese: nothing to embed
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24)
    small = ParagraphStyle("small", fontName=font, fontSize=10, leading=14, textColor=colors.grey)
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=18, spaceBefore=10)

    def chart() -> Drawing:
        rows = data.chart[:14]
        width, row = 720, 20
        drawing = Drawing(width, row * len(rows) + 20)
        span = max([0.05, *(abs(v) for _, v in rows)]) * 1.15
        left, plot = 200, 440
        zero = left + plot / 2
        drawing.add(Line(zero, 0, zero, row * len(rows) + 10, strokeColor=colors.grey))
        for i, (label, value) in enumerate(reversed(rows)):
            y = 10 + i * row
            drawing.add(
                String(left - 6, y + 4, label[:20], fontName=font, fontSize=9, textAnchor="end")
            )
            end = zero + value / span * plot / 2
            good = (value > 0) == data.higher_is_better
            fill = colors.HexColor("#16a34a") if good else colors.HexColor("#dc2626")
            drawing.add(
                Rect(min(zero, end), y, abs(end - zero), 12, fillColor=fill, strokeColor=None)
            )
            drawing.add(
                String(left + plot + 8, y + 3, f"{value * 100:+.1f}%", fontName=font, fontSize=9)
            )
        return drawing

    def table(t_: Table) -> PdfTable:
        def fmt(cell: Cell, column: int) -> str:
            if isinstance(cell, float) and column >= 3:
                return f"{cell * 100:.1f}%"
            return "" if cell is None else str(cell)

        body = [t_.header] + [[fmt(c, i) for i, c in enumerate(row)] for row in t_.rows]
        pdf = PdfTable(body, repeatRows=1)
        pdf.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 8),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e2e8f0")),
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ]
            )
        )
        return pdf

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=landscape(A4), title=data.title)
    story: list[Any] = [Paragraph(data.title, title), Paragraph(data.subtitle, small), Spacer(1, 8)]
    story += [Paragraph(data.courses.title, heading), chart(), Spacer(1, 6), table(data.courses)]
    story += [Paragraph(data.departments.title, heading), table(data.departments)]
    doc.build(story)
    return out.getvalue()


EXPORTS: dict[str, tuple[str, Callable[[ReportData], bytes]]] = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
    "csv": ("text/csv", to_csv),
    "pdf": ("application/pdf", to_pdf),
}
