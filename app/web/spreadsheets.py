"""Files to download: lines of cells as CSV (UTF-8 with a BOM, so Excel keeps the Chinese) or
XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from litestar import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def spreadsheet(lines: Sequence[Sequence[object]], name: str, fmt: str | None) -> Response[bytes]:
    """`lines` as a download named `name`.csv, or `name`.xlsx when `fmt` is "xlsx"."""
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        for line in lines:
            sheet.append(list(line))
        out = io.BytesIO()
        book.save(out)
        body, media, ext = out.getvalue(), XLSX, "xlsx"
    else:
        text = io.StringIO()
        csv.writer(text).writerows(lines)
        body, media, ext = ("\ufeff" + text.getvalue()).encode(), "text/csv", "csv"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{ext}"'},
    )
