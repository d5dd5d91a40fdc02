"""Reading a partner's return workbook into raw values with their cell references.

This layer only reads; whether the values are right is for ``expectations``. Anything that
makes the file unreadable is a finding, never an exception. The order matters:

1. the package (``package.py``): file type, zip limits, where the sheets are;
2. a streaming scan of each sheet read (``scan.py``): real extent against the limits,
   formulas with no result, error cells;
3. only then the values, with python-calamine (`python -m bench read` compares the two).
"""

import io
import math
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any
from xml.parsers import expat

from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from domain import return_layout as layout
from domain.findings import Finding
from domain.return_layout import canonical_header
from domain.returns import RawReturn, RawTable
from integrations.spreadsheets.package import Refused, minimal_workbook, open_package
from integrations.spreadsheets.scan import (
    MAX_COLUMNS,
    MAX_DATA_ROWS,
    SheetMalformed,
    SheetScan,
    SheetTooLarge,
    scan_sheet,
)

# Error values a cell can show; text typed or pasted as one of these is no more a value than the error.
ERROR_VALUES = {
    "#NULL!",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#N/A",
    "#GETTING_DATA",
    "#SPILL!",
    "#CALC!",
}
_INVISIBLE = "\u200b\ufeff"  # zero-width space and BOM, pasted in from web pages
# Control characters (NUL and the like) arrive from other systems' exports; no field holds them and
# PostgreSQL refuses NUL in text, so they are dropped like the invisible characters above.
_CONTROL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 127])


@dataclass
class ReadResult:
    raw: RawReturn | None
    findings: list[Finding]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # a stored NaN or 1e999 is no number a return can hold; checks report it as seen
    if isinstance(value, str):
        if not value.isprintable():  # rare: only then look for control characters
            value = value.translate(_CONTROL)
        return value.strip().strip(_INVISIBLE).strip() or None
    return value


class Sheet:
    """A sheet's values as a grid from A1, with the cells the scan said not to trust blanked."""

    def __init__(self, name: str, grid: list[list[Any]], scan: SheetScan) -> None:
        self.name = name
        self.grid = grid
        # (row, column) -> (finding code, value seen); reported only for cells the return uses.
        self.flags: dict[tuple[int, int], tuple[str, str | None]] = {
            where: ("FORMULA_NO_VALUE", None) for where in scan.formulas_without_value
        }
        self.flags.update({where: ("CELL_ERROR", value) for where, value in scan.errors.items()})
        self._flagged_rows = {r for r, _ in self.flags}
        # Each distinct value that cleaning changes (a text, a float that is no number), cleaned once: a column
        # repeats its texts (Yes, No, a band). Only texts and floats are keys, so True, 1 and 1.0 never meet.
        self._cleaned: dict[Any, Any] = {
            v: _clean(v)
            for v in set(chain.from_iterable(grid))
            if v.__class__ is str or (v.__class__ is float and not math.isfinite(v))
        }

    def row(self, row: int) -> list[Any]:
        """The cleaned values of a 1-based row; None for blank or flagged cells."""
        if row > len(self.grid):
            return []
        cells = self.grid[row - 1]
        values = list(map(self._cleaned.get, cells, cells))
        if row not in self._flagged_rows and ERROR_VALUES.isdisjoint(values):
            return values  # nearly every row: nothing flagged, no error text
        for column, value in enumerate(values, start=1):
            if (row, column) in self.flags:
                values[column - 1] = None
            elif isinstance(value, str) and value in ERROR_VALUES:
                self.flags[(row, column)] = ("CELL_ERROR", value)
                values[column - 1] = None
        return values

    def findings(self, columns: dict[int, str | None]) -> list[Finding]:
        """Findings for flagged cells in ``columns`` (number -> the field it holds)."""
        return [
            Finding(code, sheet=self.name, cell=f"{get_column_letter(c)}{r}", row=r, column=columns[c], value=value)
            for (r, c), (code, value) in sorted(self.flags.items())
            if c in columns
        ]

    def table(self, positions: dict[str, int]) -> RawTable:
        """The rows below the header as columns (``positions``: column id -> 1-based column), cleaned as ``row``
        cleans them, keeping the rows with something in one of those columns. Column by column: a cell's value
        is cleaned once per distinct value, and only a column holding an error text or a flagged cell is gone
        through cell by cell."""
        body = self.grid[1:]
        width = max(positions.values(), default=0)
        if any(len(cells) < width for cells in body):  # calamine's rows are all as wide as the sheet: never, yet
            body = [[*cells, *[None] * (width - len(cells))] for cells in body]
        columns: dict[str, list[Any]] = {}
        for name, column in positions.items():
            raw = list(map(itemgetter(column - 1), body))
            values = list(map(self._cleaned.get, raw, raw))
            # The scan's flags on this column below the header, within the rows read (a formula with no value after
            # the last row of values is reported but holds no row's value).
            flagged = [r for r, c in self.flags if c == column and 2 <= r <= len(body) + 1]
            if flagged or not ERROR_VALUES.isdisjoint(values):
                for row in flagged:
                    values[row - 2] = None
                for index, value in enumerate(values):
                    if value.__class__ is str and value in ERROR_VALUES:
                        self.flags[(index + 2, column)] = ("CELL_ERROR", value)
                        values[index] = None
            columns[name] = values
        numbers = list(range(2, len(body) + 2))
        if columns and all(None in values for values in columns.values()):  # some rows may hold nothing: drop those
            kept = [i for i, cells in enumerate(zip(*columns.values(), strict=True)) if cells.count(None) < len(cells)]
            if len(kept) < len(numbers):
                numbers = [numbers[i] for i in kept]
                columns = {name: [values[i] for i in kept] for name, values in columns.items()}
        elif not columns:
            numbers = []
        return RawTable(numbers, columns)

    @property
    def rows(self) -> int:
        return len(self.grid)


class ReturnWorkbook:
    """A workbook that passed the package checks; its sheets are scanned, then read together."""

    def __init__(self, filename: str, content: bytes) -> None:
        self.filename = filename
        self.package = open_package(filename, content)

    @property
    def sheet_names(self) -> list[str]:
        return list(self.package.sheets)

    def _scan(self, name: str) -> tuple[bytes, SheetScan]:
        try:
            xml = self.package.archive.read(self.package.sheets[name])
            return xml, scan_sheet(xml)
        except SheetTooLarge as large:
            detail = (
                f"data as far as {large.rows - 1:,} rows below its header and column {large.columns:,} (a return holds "
                f"at most {MAX_DATA_ROWS:,} rows of data and {MAX_COLUMNS} columns)"
            )
            raise Refused(Finding("SHEET_TOO_LARGE", sheet=name, params={"detail": detail})) from large
        except (SheetMalformed, expat.ExpatError, zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as bad:
            raise Refused.file("FILE_CORRUPT", self.filename, f"sheet {name!r} is not valid") from bad

    def sheets(self, names: list[str]) -> dict[str, Sheet]:
        """The named sheets' values, or ``Refused`` (too large, malformed, unreadable).

        Each sheet is scanned first; the value reader then sees a workbook rebuilt from the
        scanned XML only, so nothing it reads escaped the checks.
        """
        scanned = {name: self._scan(name) for name in names}
        rebuilt = minimal_workbook(self.package, {name: xml for name, (xml, _) in scanned.items()})
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO(rebuilt))
            grids = {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in names}
        except (KeyboardInterrupt, SystemExit, MemoryError):
            raise
        except BaseException as bad:  # noqa: BLE001 - calamine raises Rust panics as BaseException
            raise Refused.file("FILE_CORRUPT", self.filename, "its cells could not be read") from bad
        return {name: Sheet(name, grids[name], scan) for name, (_, scan) in scanned.items()}


def _pair(values: list[Any]) -> tuple[Any, Any]:
    """Columns A and B of a key/value sheet row, blank where the row is shorter."""
    key, value, *_ = [*values, None, None]
    return key, value


def _repeated(sheet: Sheet, key: str, row: int) -> Finding:
    return Finding("KEY_REPEATED", sheet=sheet.name, cell=f"A{row}", row=row, value=key, params={"field": key})


def _read_about(sheet: Sheet, raw: RawReturn) -> list[Finding]:
    findings = []
    for row in range(1, sheet.rows + 1):
        key, value = _pair(sheet.row(row))
        if isinstance(key, str) and key in layout.ABOUT_FIELDS:
            if key in raw.about:
                findings.append(_repeated(sheet, key, row))
            raw.about[key] = value
            raw.about_cells[key] = f"B{row}"
    return findings


def _read_participants(sheet: Sheet, raw: RawReturn, aliases: Mapping[str, str]) -> list[Finding]:
    """Rows under the header row, by column id (a header read canonically, then through ``aliases``: a measure's
    label is its id); a notes column's cells are read but not judged here."""
    findings: list[Finding] = []
    positions: dict[str, int] = {}
    for column, label in enumerate(sheet.row(1), start=1):
        if label is None:
            continue
        name = canonical_header(str(label))
        name = aliases.get(name, name)
        if name in positions:
            findings.append(
                Finding(
                    "COLUMN_DUPLICATE",
                    sheet=sheet.name,
                    cell=f"{get_column_letter(column)}1",
                    row=1,
                    column=name,
                    value=str(label),
                    params={"column": name},
                )
            )
            continue
        positions[name] = column
        raw.columns[name] = get_column_letter(column)
        raw.labels[name] = str(label)
    raw.table = sheet.table(positions)
    raw.cell_findings += sheet.findings({column: name for name, column in positions.items()})
    return findings


def _read_summary(sheet: Sheet, raw: RawReturn) -> list[Finding]:
    findings = []
    for row in range(2, sheet.rows + 1):
        key, value = _pair(sheet.row(row))
        if isinstance(key, str):
            if key in raw.summary:
                findings.append(_repeated(sheet, key, row))
            raw.summary[key] = value
            raw.summary_cells[key] = f"B{row}"
    return findings


def read_return(filename: str, content: bytes, *, headers: Mapping[str, str] | None = None) -> ReadResult:
    """The return's values; ``headers`` (``Framework.header_aliases``) reads each column's header as its id."""
    try:
        book = ReturnWorkbook(filename, content)
        names = book.sheet_names
        if layout.ABOUT not in names and layout.PARTICIPANTS not in names:
            raise Refused.file("NOT_A_RETURN", filename)
        missing = [name for name in (layout.ABOUT, layout.PARTICIPANTS) if name not in names]
        if missing:
            return ReadResult(None, [Finding("SHEET_MISSING", sheet=n, params={"sheet": n}) for n in missing])
        loaded = book.sheets([n for n in (layout.ABOUT, layout.PARTICIPANTS, layout.SUMMARY) if n in names])
        about, participants, summary = loaded[layout.ABOUT], loaded[layout.PARTICIPANTS], loaded.get(layout.SUMMARY)
    except Refused as refused:
        return ReadResult(None, [refused.finding])

    raw = RawReturn(grids={name: sheet.grid for name, sheet in loaded.items()})
    findings = _read_about(about, raw)
    findings += _read_participants(participants, raw, headers or {})
    raw.cell_findings += about.findings({2: None})
    if summary is not None:
        findings += _read_summary(summary, raw)
        raw.cell_findings += summary.findings({2: None})
    return ReadResult(raw, findings)
