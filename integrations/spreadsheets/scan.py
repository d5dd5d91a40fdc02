"""One streaming pass over a worksheet's XML, before any library loads it.

It finds the sheet's real extent from the cells themselves (the ``<dimension>`` tag is
never trusted), stops as soon as the extent passes the limits, and notes the cells a value
reader cannot be trusted on: formulas with no calculated result and error cells.
"""

import re
import zipfile
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

MAX_ROWS = 20_000  # a template offers 5,000 rows
MAX_COLUMNS = 100
MAX_REF_ROW = 1_048_576
MAX_REF_COLUMN = 16_384

_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


class SheetTooLarge(Exception):
    def __init__(self, rows: int, columns: int) -> None:
        super().__init__(f"{rows} rows, {columns} columns")
        self.rows, self.columns = rows, columns


class SheetMalformed(Exception):
    pass


@dataclass
class SheetScan:
    max_row: int = 0  # of cells holding a value or formula
    max_column: int = 0
    formulas_without_value: list[tuple[int, int]] = field(default_factory=list)  # (row, column), 1-based
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # error cells and their code, e.g. #REF!


def column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + (ord(char) - 64)
    return number


class _Scanner:
    def __init__(self, max_rows: int, max_columns: int) -> None:
        self.result = SheetScan()
        self.max_rows, self.max_columns = max_rows, max_columns
        self.row = 0
        self.column = 0
        self.in_cell = False
        self.cell_type = "n"
        self.has_formula = False
        self.has_value = False
        self.capture: list[str] | None = None
        self.value_text = ""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition("}")[2]
        if local == "c":
            self._start_cell(attrs)
        elif local == "row":
            number = attrs.get("r")
            if number is None:
                self.row += 1
            elif number.isdigit() and 0 < int(number) <= MAX_REF_ROW:
                self.row = int(number)
            else:
                raise SheetMalformed(f"row number {number!r}")
            self.column = 0
        elif self.in_cell:
            if local == "f":
                self.has_formula = True
            elif local == "v":
                self.capture = []
            elif local == "is":
                self.has_value = True

    def _start_cell(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        if ref is None:
            self.column += 1
        else:
            match = _REF.match(ref)
            if not match:
                raise SheetMalformed(f"cell reference {ref!r}")
            column, row = column_number(match.group(1)), int(match.group(2))
            if not (0 < row <= MAX_REF_ROW and 0 < column <= MAX_REF_COLUMN):
                raise SheetMalformed(f"cell reference {ref!r}")
            self.row, self.column = row, column
        self.in_cell = True
        self.cell_type = attrs.get("t", "n")
        self.has_formula = False
        self.has_value = False
        self.value_text = ""

    def end(self, name: str) -> None:
        local = name.rpartition("}")[2]
        if local == "v" and self.capture is not None:
            self.value_text = "".join(self.capture)
            # A formula whose result is the empty string has an empty <v> of type "str"; that is a value.
            self.has_value = self.has_value or bool(self.value_text) or self.cell_type == "str"
            self.capture = None
        elif local == "c" and self.in_cell:
            self.in_cell = False
            self._end_cell()

    def _end_cell(self) -> None:
        if not (self.has_value or self.has_formula):
            return  # an empty, merely formatted cell
        result = self.result
        if self.row > self.max_rows or self.column > self.max_columns:
            raise SheetTooLarge(max(self.row, result.max_row), max(self.column, result.max_column))
        result.max_row = max(result.max_row, self.row)
        result.max_column = max(result.max_column, self.column)
        where = (self.row, self.column)
        if self.has_formula and not self.has_value:
            result.formulas_without_value.append(where)
        elif self.cell_type == "e":
            result.errors[where] = self.value_text.strip() or "#ERROR"

    def text(self, data: str) -> None:
        if self.capture is not None:
            self.capture.append(data)


def _refuse_declarations(*_: Any) -> None:
    # Spreadsheet XML never declares a DTD or entities; one that does is hostile (entity expansion).
    raise SheetMalformed("XML declares a document type or entities")


# The form every writer seen so far uses: an unprefixed <c> whose first attribute is its reference.
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
# Every way a <c> element can open (XML allows any whitespace after the name).
_CELL_OPENINGS = (b"<c ", b"<c>", b"<c/", b"<c\t", b"<c\n", b"<c\r")
# Anything here needs the exact scan: formulas, error cells, declarations and comments...
_NEEDS_CARE = (b"<f>", b"<f ", b"<f/", b"<f\t", b"<f\n", b"<f\r", b't="e"', b"t='e'", b"<!")
# ...and element names with a prefix (<x:c>), which the counts above do not see.
_PREFIXED = re.compile(rb"<[A-Za-z_][\w.-]*:[A-Za-z]")


def _quick_scan(xml: bytes, max_rows: int, max_columns: int) -> SheetScan | None:
    """The common case without parsing: every cell has a reference, no formulas, no error cells.

    The references of *all* cells, even empty formatted ones, bound the extent from above, so
    a sheet within the limits by this count is within them by the exact scan too. Anything
    else (or a bound over the limits) gets the exact scan.
    """
    if any(marker in xml for marker in _NEEDS_CARE) or _PREFIXED.search(xml):
        return None
    refs = _CELL_REF.findall(xml)
    if len(refs) != sum(xml.count(opening) for opening in _CELL_OPENINGS):
        return None
    rows = max(map(int, (row for _, row in refs)), default=0)
    columns = max((column_number(letters.decode()) for letters in {c for c, _ in refs}), default=0)
    if rows > max_rows or columns > max_columns:
        return None
    return SheetScan(max_row=rows, max_column=columns)


def scan_sheet(
    archive: zipfile.ZipFile, part: str, *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS
) -> SheetScan:
    """Scan ``part``; raises SheetTooLarge, SheetMalformed, or zipfile/expat errors for broken XML."""
    xml = archive.read(part)
    quick = _quick_scan(xml, max_rows, max_columns)
    if quick is not None:
        return quick
    return exact_scan(xml, max_rows=max_rows, max_columns=max_columns)


def exact_scan(xml: bytes, *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS) -> SheetScan:
    scanner = _Scanner(max_rows, max_columns)
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartElementHandler = scanner.start
    parser.EndElementHandler = scanner.end
    parser.CharacterDataHandler = scanner.text
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.buffer_text = True
    parser.Parse(xml, True)
    return scanner.result
