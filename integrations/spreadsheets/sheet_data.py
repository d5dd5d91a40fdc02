"""The plain cells of a copied sheet written as XML directly, merged into the sheet xlsxwriter wrote.

A feedback workbook copies the partner's sheets a finding is about (5,000 rows, 35,000 cells): through xlsxwriter
that costs about 7 microseconds a cell, most of a feedback's time. xlsxwriter still writes every cell that is not
plain (a cell a finding points at, with its fill and comment; a time, a boolean, a number that is not finite; a
text Excel would read as an escape) and the first date and date-time, whose style the rest then share; this
module writes the rest (texts, finite numbers, dates) as Excel reads them, and ``merge`` puts each row's cells
together in column order. The workbook a partner opens is the same cell for cell
(``tests/integrations/spreadsheets/test_feedback.py`` compares both ways of writing it).
"""

import io
import math
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from openpyxl.utils import get_column_letter

# Texts that xlsxwriter writes with escapes of its own (control characters and literal _xHHHH_, a carriage return,
# Excel's non-characters) or as rich text (<r>…</r>), and texts that are too long: left to xlsxwriter.
_NOT_PLAIN_TEXT = re.compile(r"_x|[\x00-\x08\x0b-\x1f\ufffe\uffff]|^<r>")
_PRESERVE = re.compile(r"^\s|\s$")
_EXCEL_EPOCH = date(1899, 12, 31).toordinal()
_MARCH_1900 = date(1900, 3, 1)
_SHEET_DATA = re.compile(rb"<sheetData>(.*)</sheetData>|<sheetData/>", re.S)
_ROW = re.compile(rb'<row r="([0-9]+)"[^>]*?(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(rb'<c r="([A-Z]+)[0-9]+"[^>]*?(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(rb' s="([0-9]+)"')
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
MAX_PLAIN_TEXT = 32_767 // 2  # a text shorter than this is within Excel's limit however it is encoded


def is_plain(value: Any) -> bool:
    """Whether ``merge`` writes this value itself (else xlsxwriter must)."""
    kind = value.__class__
    if kind is str:
        return len(value) < MAX_PLAIN_TEXT and not _NOT_PLAIN_TEXT.search(value)
    if kind is float or kind is int:
        return math.isfinite(value)
    # Before March 1900 Excel's calendar has its leap-day gap and xlsxwriter its own rules for times of day.
    if kind is date:
        return value >= _MARCH_1900
    return kind is datetime and value.tzinfo is None and value.date() >= _MARCH_1900


def _serial(value: date | datetime) -> str:
    """Excel's serial number for a date (1900 system, with its leap-day gap), as xlsxwriter writes it."""
    days = value.toordinal() - _EXCEL_EPOCH + 1  # from March 1900 on (``is_plain``): past Excel's 29 February 1900
    if value.__class__ is datetime:
        assert isinstance(value, datetime)
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return f"{days + seconds / 86_400:.16G}"
    return str(days)


def _cells(
    grid: list[list[Any]], skip: set[tuple[int, int]], styles: dict[type, bytes]
) -> Iterator[tuple[int, dict[int, str]]]:
    """Each row's plain cells (1-based row -> {0-based column: XML}), except those in ``skip`` (0-based)."""
    letters = [get_column_letter(n + 1) for n in range(max(map(len, grid), default=0))]
    texts: dict[str, str] = {}
    for r, values in enumerate(grid):
        row: dict[int, str] = {}
        for c, value in enumerate(values):
            if value is None or value == "" or (r, c) in skip:
                continue
            kind = value.__class__
            if kind is str:
                body = texts.get(value)
                if body is None:
                    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    preserve = ' xml:space="preserve"' if _PRESERVE.search(value) else ""
                    body = texts[value] = f' t="inlineStr"><is><t{preserve}>{text}</t></is></c>'
                row[c] = f'<c r="{letters[c]}{r + 1}"{body}'
            elif kind is date or kind is datetime:
                row[c] = f'<c r="{letters[c]}{r + 1}" s="{styles[kind].decode()}"><v>{_serial(value)}</v></c>'
            else:
                row[c] = f'<c r="{letters[c]}{r + 1}"><v>{value:.16G}</v></c>'
        if row:
            yield r + 1, row


def style_of(xml: bytes, cell: str) -> bytes:
    """The style index xlsxwriter gave ``cell`` (A1 notation) in a worksheet's XML."""
    found = re.search(rb'<c r="' + cell.encode() + rb'"[^>]*?>', xml)
    style = _STYLE.search(found.group(0)) if found else None
    if style is None:
        raise ValueError(f"xlsxwriter wrote no style for {cell}")
    return style.group(1)


def merge(xml: bytes, grid: list[list[Any]], written: set[tuple[int, int]], styles: dict[type, bytes]) -> bytes:
    """The worksheet ``xml`` xlsxwriter wrote (holding the cells in ``written``, 0-based) with the rest of ``grid``'s
    plain cells added, each row's cells in column order, and its dimension covering them all."""
    found = _SHEET_DATA.search(xml)
    assert found is not None, "xlsxwriter writes <sheetData> in every worksheet"
    theirs: dict[int, dict[int, bytes]] = {}
    for element in _ROW.finditer(found.group(1) or b""):
        cells = theirs.setdefault(int(element.group(1)), {})
        for cell in _CELL.finditer(element.group(2) or b""):
            cells[_column(cell.group(1))] = cell.group(0)
    ours = dict(_cells(grid, written, styles))
    out = io.StringIO()
    first_row = first_column = None
    last_column = last_row = 0
    for number in sorted(ours.keys() | theirs.keys()):
        row = {**ours.get(number, {}), **{c: x.decode() for c, x in theirs.get(number, {}).items()}}
        if not row:
            continue
        columns = sorted(row)
        first_row = number if first_row is None else first_row
        first_column = columns[0] if first_column is None else min(first_column, columns[0])
        last_column, last_row = max(last_column, columns[-1]), number
        out.write(f'<row r="{number}">' + "".join(row[c] for c in columns) + "</row>")
    data = b"<sheetData>" + out.getvalue().encode() + b"</sheetData>"
    merged = xml[: found.start()] + data + xml[found.end() :]
    if first_row is None or first_column is None:
        return merged
    top_left = f"{get_column_letter(first_column + 1)}{first_row}"
    bottom_right = f"{get_column_letter(last_column + 1)}{last_row}"
    ref = top_left if top_left == bottom_right else f"{top_left}:{bottom_right}"
    return _DIMENSION.sub(f'<dimension ref="{ref}"/>'.encode(), merged, count=1)


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number - 1


def replace_parts(path: str, parts: dict[str, bytes]) -> None:
    """Rewrite the zip at ``path`` with ``parts`` (name -> bytes) in place of those entries, order kept."""
    with zipfile.ZipFile(path) as original:
        entries = [(item, parts.get(item.filename) or original.read(item)) for item in original.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for item, data in entries:
            # The merged sheets are most of the file: the quickest level of deflate (a few percent larger).
            level = 1 if item.filename in parts else 6
            rewritten.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
