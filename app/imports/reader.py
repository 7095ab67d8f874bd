"""Reading an import file: CSV (UTF-8, with or without BOM) or XLSX, first row the header."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from app.imports.base import Column, Finding, Row

#: larger files are refused before anything is parsed: split them (a shift plan of a
#: 10,000-person plant for a month is ~20 MB)
MAX_BYTES = 32 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Sheet:
    """The rows of a file, or the reasons it could not be read."""

    rows: list[Row] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)


@dataclass
class Table:
    """A file's rows as columns (kinds with many rows): `lines[i]` is the line number of
    the values `columns[name][i]`."""

    lines: list[int] = field(default_factory=list)
    columns: dict[str, list[str]] = field(default_factory=dict)
    errors: list[Finding] = field(default_factory=list)

    def rows(self) -> list[Row]:
        """The same lines as rows (for checks written row by row)."""
        names = list(self.columns)
        return [
            Row(line, {name: self.columns[name][i] for name in names})
            for i, line in enumerate(self.lines)
        ]


def read(data: bytes, columns: Sequence[Column], filename: str = "") -> Sheet:
    """Rows of `data` with the header checked against `columns` (extra columns ignored)."""
    cells = _cells(data, filename)
    if isinstance(cells, Sheet):
        return cells
    return _rows(cells, columns)


def read_table(data: bytes, columns: Sequence[Column], filename: str = "") -> Table:
    """`read`, as columns: no object per row."""
    cells = _cells(data, filename)
    if isinstance(cells, Sheet):
        return Table(errors=cells.errors)
    index = _header(cells, columns)
    if isinstance(index, Sheet):
        return Table(errors=index.errors)
    body = cells[1:]
    # blank lines (a trailing newline, a spacer) are skipped
    kept = [n for n, row in enumerate(body) if any(map(str.strip, row))]
    if len(kept) < len(body):
        body = [body[n] for n in kept]
    table = Table(lines=[n + 2 for n in kept])
    shortest = min(map(len, body), default=0)
    for i, name in index:
        if i < shortest:
            table.columns[name] = [row[i].strip() for row in body]
        else:
            table.columns[name] = [row[i].strip() if len(row) > i else "" for row in body]
    for column in columns:
        table.columns.setdefault(column.name, [""] * len(body))
    return table


def _cells(data: bytes, filename: str) -> list[list[str]] | Sheet:
    """The file as rows of text cells, or a Sheet saying why it cannot be read."""
    if len(data) > MAX_BYTES:
        return _refused(
            "import.too_large", size_mb=round(len(data) / 2**20, 1), max_mb=MAX_BYTES // 2**20
        )
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        table = _xlsx_table(data)
        if table is None:
            return _refused("import.unreadable_xlsx")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            return Sheet(errors=[Finding(line, "", "import.not_utf8")])
        table = list(csv.reader(io.StringIO(text, newline="")))
    return table


def _refused(key: str, **params: object) -> Sheet:
    return Sheet(errors=[Finding(1, "", key, dict(params))])


def _header(table: list[list[str]], columns: Sequence[Column]) -> list[tuple[int, str]] | Sheet:
    """(position, name) of the known columns in the header, or why the header will not do."""
    if not table or not any(cell.strip() for cell in table[0]):
        return _refused("import.empty")
    header = [cell.strip().lstrip("\ufeff").lower() for cell in table[0]]
    missing = [c.name for c in columns if c.required and c.name not in header]
    if missing:
        return Sheet(errors=[Finding(1, name, "import.missing_column") for name in missing])
    known = {c.name for c in columns}
    return [(i, name) for i, name in enumerate(header) if name in known]


def _rows(table: list[list[str]], columns: Sequence[Column]) -> Sheet:
    index = _header(table, columns)
    if isinstance(index, Sheet):
        return index
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        values = {name: cells[i].strip() if i < len(cells) else "" for i, name in index}
        if any(values.values()):  # blank lines (a trailing newline, a spacer) are skipped
            rows.append(Row(number, values))
    return Sheet(rows=rows)


def _xlsx_table(data: bytes) -> list[list[str]] | None:
    """The first worksheet as text cells; None when it is not a readable workbook."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None
    try:
        sheet = book.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """A cell as the text a CSV would hold (12.0 → "12"; an Excel date → ISO)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)
