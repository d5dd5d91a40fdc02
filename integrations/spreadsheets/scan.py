"""One pass over a worksheet's XML, before any library loads it.

It finds the sheet's real extent from the cells themselves (the ``<dimension>`` tag is
never trusted), stops as soon as the extent passes the limits, and notes the cells a value
reader cannot be trusted on: formulas with no calculated result and error cells.

Most sheets take the quick path (``_quick_scan``): searches at C speed prove there is no formula, no error cell,
no cell or row outside the limits or with an impossible or missing reference, nothing declared; then the XML is
parsed for well-formedness without a Python call per element. Anything else (a formula, an error cell, a cell
beyond the limits, a cell without its reference, a prefixed element, a comment) takes the element-by-element
scan (``full_scan``), which alone says where. Both give the same answer on every sheet (``test_scan.py`` compares
them on generated sheets; ``tests/services/test_frozen_findings.py`` on the corpus and mutated returns).
"""

import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from openpyxl.utils import column_index_from_string

MAX_DATA_ROWS = 20_000  # rows of data below a sheet's header row; a template offers 5,000
MAX_ROWS = MAX_DATA_ROWS + 1  # the sheet's last row: the header and 20,000 rows of data
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
    """What a value reader cannot be trusted on (the extent is within the limits, or the scan raised)."""

    formulas_without_value: list[tuple[int, int]] = field(default_factory=list)  # (row, column), 1-based
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # error cells and their code, e.g. #REF!


class _Scanner:
    """expat callbacks; element names arrive as written (``c`` or ``x:c``): readers match local names."""

    def __init__(self, parser: Any, max_rows: int, max_columns: int) -> None:
        self.parser = parser
        self.result = SheetScan()
        self.max_row = 0  # of cells holding a value or formula, so far
        self.max_column = 0
        self.max_rows, self.max_columns = max_rows, max_columns
        self.row = 0  # of the current cell
        self.column = 0
        self.row_element = 0  # the current <row>'s number
        self.position = 0  # cells seen so far in the current <row>
        self.in_cell = False
        self.cell_type = "n"
        self.has_formula = False
        self.has_value = False
        self.capture: list[str] = []
        self.value_text = ""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2] if ":" in name else name
        if local == "c":
            self._start_cell(attrs)
        elif local == "row":
            self._start_row(attrs)
        elif self.in_cell:
            if local == "f":
                self.has_formula = True
            elif local == "v":
                self.capture = []
                self.parser.CharacterDataHandler = self.capture.append  # text is wanted only inside <v>
            elif local == "is":
                self.has_value = True

    def _start_row(self, attrs: dict[str, str]) -> None:
        number = attrs.get("r")
        if number is None:
            self.row_element += 1
        elif number.isdigit() and 0 < int(number) <= MAX_REF_ROW:
            self.row_element = int(number)
        else:
            raise SheetMalformed(f"row number {number!r}")
        self.row, self.column, self.position = self.row_element, 0, 0

    def _start_cell(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        self.position += 1
        if ref is None:
            # Readers place such a cell by its <row> and its order; take the furthest either could mean.
            self.row = max(self.row, self.row_element)
            self.column = max(self.column + 1, self.position)
        else:
            match = _REF.match(ref)
            if not match:
                raise SheetMalformed(f"cell reference {ref!r}")
            column = column_index_from_string(match.group(1))
            row = int(match.group(2))
            if not (0 < row <= MAX_REF_ROW and 0 < column <= MAX_REF_COLUMN):
                raise SheetMalformed(f"cell reference {ref!r}")
            self.row, self.column = row, column
        self.in_cell = True
        self.cell_type = attrs.get("t", "n")
        self.has_formula = False
        self.has_value = False
        self.value_text = ""

    def end(self, name: str) -> None:
        if not self.in_cell:
            return
        local = name.rpartition(":")[2] if ":" in name else name
        if local == "v":
            self.parser.CharacterDataHandler = None
            self.value_text = "".join(self.capture)
            # A formula whose result is the empty string has an empty <v> of type "str"; that is a value.
            self.has_value = self.has_value or bool(self.value_text) or self.cell_type == "str"
        elif local == "c":
            self.in_cell = False
            self._end_cell()

    def _end_cell(self) -> None:
        if not (self.has_value or self.has_formula):
            return  # an empty, merely formatted cell
        result = self.result
        if self.row > self.max_rows or self.column > self.max_columns:
            raise SheetTooLarge(max(self.row, self.max_row), max(self.column, self.max_column))
        if self.row > self.max_row:
            self.max_row = self.row
        if self.column > self.max_column:
            self.max_column = self.column
        if self.has_formula and not self.has_value:
            result.formulas_without_value.append((self.row, self.column))
        elif self.cell_type == "e":
            result.errors[(self.row, self.column)] = self.value_text.strip() or "#ERROR"


def _refuse_declarations(*_: Any) -> None:
    # Spreadsheet XML never declares a DTD or entities; one that does is hostile (entity expansion).
    raise SheetMalformed("XML declares a document type or entities")


def scan_sheet(xml: bytes, *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS) -> SheetScan:
    """Scan a worksheet's XML; raises SheetTooLarge, SheetMalformed or expat.ExpatError."""
    if (max_rows, max_columns) == (MAX_ROWS, MAX_COLUMNS) and _quick_scan(xml):
        return SheetScan()
    return full_scan(xml, max_rows=max_rows, max_columns=max_columns)


# Anything the quick path does not settle for itself, each searched alone (one alternation of them all costs ten
# times as much): a declaration, comment or CDATA (<!); a prefixed element named like one the scan reads; a
# formula; an error type (or a type written with a character reference); a cell or row not written with its
# reference first after one space. A few match more than they must (``xt="e"``): the full scan then decides.
_NOT_QUICK = [
    re.compile(pattern)
    for pattern in (
        rb"<!",
        rb":(?:c|row|f|v|is)[\s/>]",
        rb"<f[\s/>]",
        rb"t\s*=\s*[\"'](?:e|&)",
        rb"<c(?:[\t\r\n/>]| (?!r=\"))",
        rb"<row(?:[\t\r\n/>]| (?!r=\"))",
    )
]
# Rows 1 to 20,001 and columns A to CV (1 to 100), the limits, written as every reader reads them (no leading zero).
_ROW = rb"(?:[1-9][0-9]{0,3}|1[0-9]{4}|2000[01])"
_COLUMN = rb"(?:[A-Z]|[AB][A-Z]|C[A-V])"
_OUTSIDE = [re.compile(rb'<c r="(?!' + _COLUMN + _ROW + rb'")'), re.compile(rb'<row r="(?!' + _ROW + rb'")')]


def _quick_scan(xml: bytes) -> bool:
    """Whether the sheet holds nothing the full scan would note or refuse: only values, every cell and row with
    its reference, each within the limits (a cell that holds nothing is within them too). Raises ExpatError
    where the full scan would."""
    if any(pattern.search(xml) for pattern in (*_NOT_QUICK, *_OUTSIDE)):
        return False
    parser = expat.ParserCreate()  # no element handlers: the document checked well-formed at C speed
    parser.Parse(xml, True)
    return True


def full_scan(xml: bytes, *, max_rows: int = MAX_ROWS, max_columns: int = MAX_COLUMNS) -> SheetScan:
    """The element-by-element scan: any sheet, whatever it holds."""
    parser = expat.ParserCreate()
    scanner = _Scanner(parser, max_rows, max_columns)
    parser.StartElementHandler = scanner.start
    parser.EndElementHandler = scanner.end
    parser.StartDoctypeDeclHandler = _refuse_declarations
    parser.EntityDeclHandler = _refuse_declarations
    parser.buffer_text = True
    parser.Parse(xml, True)
    return scanner.result
