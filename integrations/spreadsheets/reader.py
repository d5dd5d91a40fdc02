"""Reading a partner's return workbook into raw values with their cell references.

This layer only reads; whether the values are right is for ``expectations``. Anything that
makes the file unreadable is a finding, never an exception.
"""

import io
import zipfile
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from domain import return_layout as layout
from domain.findings import Finding
from domain.returns import RawReturn, RawRow

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and encrypted OOXML
ZIP_MAGIC = b"PK\x03\x04"

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_ENTRIES = 2000
MAX_ROWS = 100_000
MAX_COLUMNS = 200
ERROR_VALUES = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}


@dataclass
class ReadResult:
    raw: RawReturn | None
    findings: list[Finding]


def _refuse(code: str, filename: str, detail: str = "") -> ReadResult:
    return ReadResult(None, [Finding(code, params={"filename": filename, "detail": detail})])


def _check_container(filename: str, content: bytes) -> ReadResult | None:
    if content.startswith(OLE_MAGIC):
        return _refuse("FILE_LEGACY_OR_ENCRYPTED", filename)
    if not content.startswith(ZIP_MAGIC):
        return _refuse("FILE_NOT_XLSX", filename)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            if len(entries) > MAX_ZIP_ENTRIES:
                return _refuse("FILE_TOO_LARGE", filename, f"{len(entries)} parts inside")
            expanded = sum(e.file_size for e in entries)
            if expanded > MAX_UNCOMPRESSED_BYTES or expanded > MAX_COMPRESSION_RATIO * max(len(content), 1):
                return _refuse("FILE_TOO_LARGE", filename, f"{expanded:,} bytes uncompressed")
            if "xl/workbook.xml" not in names:
                return _refuse("FILE_NOT_XLSX", filename)
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return _refuse("FILE_MACRO_ENABLED", filename)
            bad = archive.testzip()
            if bad is not None:
                return _refuse("FILE_CORRUPT", filename)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        return _refuse("FILE_CORRUPT", filename)
    return None


def _text(value: Any) -> Any:
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return value


def _sheet_size_finding(sheet: Worksheet) -> Finding | None:
    if sheet.max_row > MAX_ROWS or sheet.max_column > MAX_COLUMNS:
        return Finding(
            "SHEET_TOO_LARGE",
            sheet=sheet.title,
            params={"detail": f"{sheet.max_row:,} rows and {sheet.max_column:,} columns"},
        )
    return None


def read_return(filename: str, content: bytes) -> ReadResult:
    refused = _check_container(filename, content)
    if refused:
        return refused
    try:
        # Not read_only: that mode trusts the sheet's <dimension> tag, which can lie.
        book = load_workbook(io.BytesIO(content), data_only=True)
    except Exception:  # noqa: BLE001 - any failure to parse is the same finding for a partner
        return _refuse("FILE_CORRUPT", filename)

    findings: list[Finding] = []
    raw = RawReturn()
    for name in (layout.ABOUT, layout.PARTICIPANTS):
        if name not in book.sheetnames:
            findings.append(Finding("SHEET_MISSING", sheet=name, params={"sheet": name}))
    if findings:
        return ReadResult(None, findings)

    for sheet in (book[layout.ABOUT], book[layout.PARTICIPANTS]):
        too_large = _sheet_size_finding(sheet)
        if too_large:
            return ReadResult(None, [too_large])

    for key_cell, value_cell in book[layout.ABOUT].iter_rows(min_col=1, max_col=2):
        key = _text(key_cell.value)
        if isinstance(key, str) and key in layout.ABOUT_FIELDS:
            raw.about[key] = _text(value_cell.value)

    sheet = book[layout.PARTICIPANTS]
    rows = sheet.iter_rows(values_only=False)
    header = next(rows, ())
    for cell in header:
        name = _text(cell.value)
        if name is not None:
            raw.columns[str(name)] = get_column_letter(cell.column)
    positions = {name: column_index_from_string(letter) for name, letter in raw.columns.items()}
    for cells in rows:
        values: dict[str, Any] = {}
        for name, position in positions.items():
            value = _text(cells[position - 1].value) if position <= len(cells) else None
            if isinstance(value, str) and value in ERROR_VALUES:
                findings.append(
                    Finding(
                        "CELL_ERROR",
                        sheet=layout.PARTICIPANTS,
                        cell=f"{raw.columns[name]}{cells[0].row}",
                        row=cells[0].row,
                        column=name,
                        value=value,
                    )
                )
                value = None
            values[name] = value
        if any(v is not None for v in values.values()):
            raw.rows.append(RawRow(row=cells[0].row, values=values))

    if layout.SUMMARY in book.sheetnames:
        summary = book[layout.SUMMARY]
        if _sheet_size_finding(summary) is None:
            for key_cell, value_cell in summary.iter_rows(min_row=2, min_col=1, max_col=2):
                key = _text(key_cell.value)
                if isinstance(key, str):
                    raw.summary[key] = _text(value_cell.value)
                    raw.summary_cells[key] = value_cell.coordinate
    return ReadResult(raw, findings)
