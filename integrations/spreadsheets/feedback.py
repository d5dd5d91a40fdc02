"""The feedback workbook for one submitted version: every finding, where it is, how to fix it.

Sheets: ``Issues`` (one row per finding, its cell a link), ``Changes`` (against the
partner's previous version), then each of the partner's own About, Participants and Summary
sheets that a finding is about, as it was read, with each cell a finding points at filled and
commented. The copies keep their names and cell positions, so ``Participants!C7`` means the
same cell in the partner's file. A sheet no finding is about is not copied: the partner has it
already, and copying 5,000 clean rows was most of the cost of a clean return's feedback. Written with
xlsxwriter (a fraction of openpyxl's time for 5,000 rows), except the copied sheets' plain cells,
which ``sheet_data`` writes as XML directly (a third of the time again); every text is written as a
string, never as a formula, whatever it starts with.
"""

import math
import os
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import xlsxwriter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from domain import return_layout as layout
from domain.changes import Changes
from domain.findings import Finding, Severity, count_by_severity
from integrations.private_files import FILE_MODE, private_folder
from integrations.spreadsheets import sheet_data

ISSUES = "Issues"
CHANGES = "Changes"
COPIED_SHEETS = (layout.ABOUT, layout.PARTICIPANTS, layout.SUMMARY)
FILLS = {Severity.error: "#F8CBAD", Severity.warning: "#FFE699", Severity.info: "#DDEBF7"}
ISSUE_COLUMNS = ("severity", "code", "sheet", "cell", "value seen", "message", "how to fix")
ISSUE_WIDTHS = (10, 24, 14, 16, 24, 70, 70)
MAX_LINKS = 65_000  # Excel's limit is 65,530 hyperlinks per sheet; the rest are written as plain text
MAX_TEXT = 32_767  # characters in one cell or comment


@dataclass(frozen=True)
class FeedbackHeading:
    partner_name: str
    period: str
    version: int | None
    filename: str
    status: str


def _text(value: Any) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    return text[:MAX_TEXT]


class _Writer:
    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(
            str(path),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
        )
        self.book.set_properties({"created": datetime(2000, 1, 1)})  # identical inputs, identical files
        self.bold = self.book.add_format({"bold": True})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.date = self.book.add_format({"num_format": "dd/mm/yyyy"})
        self.datetime = self.book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        self.link = self.book.add_format({"font_color": "blue", "underline": 1})
        self.fills = {s: self.book.add_format({"bg_color": colour}) for s, colour in FILLS.items()}
        self.dated_fills = {
            s: self.book.add_format({"bg_color": colour, "num_format": "dd/mm/yyyy"}) for s, colour in FILLS.items()
        }

    def value(self, sheet: Worksheet, row: int, column: int, value: Any, fmt: Format | None = None) -> None:
        """Write a cell (0-based) as its own type; anything textual as a string."""
        if value is None:
            if fmt is not None:
                sheet.write_blank(row, column, None, fmt)
        elif isinstance(value, bool):
            sheet.write_boolean(row, column, value, fmt)
        elif isinstance(value, int | float) and math.isfinite(value):
            sheet.write_number(row, column, value, fmt)
        elif isinstance(value, datetime):
            sheet.write_datetime(row, column, value, fmt or self.datetime)
        elif isinstance(value, date):
            sheet.write_datetime(row, column, datetime.combine(value, time()), fmt or self.date)
        else:
            sheet.write_string(row, column, _text(value), fmt)


def write_feedback(
    path: Path,
    *,
    heading: FeedbackHeading,
    findings: Sequence[Finding],
    grids: dict[str, list[list[Any]]] | None = None,
    changes: Changes | None = None,
    changes_note: str | None = None,
) -> Path:
    """Write the workbook at ``path`` (0640, in 0750 folders); ``grids`` are the partner's sheets as read (none if
    unreadable)."""
    private_folder(path.parent)
    writer = _Writer(path)
    pointed_into = {f.sheet for f in findings if f.sheet}
    grids = {name: grid for name, grid in (grids or {}).items() if name in COPIED_SHEETS and name in pointed_into}
    _issues(writer, heading, findings, copied=set(grids))
    _changes(writer, changes, changes_note)
    copies = [
        _copy(writer, name, grids[name], [f for f in findings if f.sheet == name and f.cell])
        for name in COPIED_SHEETS
        if name in grids
    ]
    writer.book.close()
    if copies:
        _fill_in(path, copies)
    os.chmod(path, FILE_MODE)
    return path


def _issues(writer: _Writer, heading: FeedbackHeading, findings: Sequence[Finding], copied: set[str]) -> None:
    sheet = writer.book.add_worksheet(ISSUES)
    counts = count_by_severity(list(findings))
    version = f"version {heading.version}" if heading.version else "not filed"
    sheet.write_string(
        0,
        0,
        _text(
            f"{heading.partner_name}, {heading.period}, {version} ({heading.filename}): {heading.status}. "
            f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)."
        ),
        writer.bold,
    )
    if counts["error"]:
        sheet.write_string(1, 0, "Errors stop the return being accepted: correct them and send the file again.")
    for column, (name, width) in enumerate(zip(ISSUE_COLUMNS, ISSUE_WIDTHS, strict=True)):
        sheet.write_string(2, column, name, writer.bold)
        sheet.set_column(column, column, width, writer.wrap if name in ("message", "how to fix") else None)
    if not findings:
        sheet.write_string(3, 0, "No problems found. Thank you.")
    links = 0
    for row, finding in enumerate(findings, start=3):
        sheet.write_string(row, 0, finding.severity.value, writer.fills[finding.severity])
        sheet.write_string(row, 1, finding.code)
        writer.value(sheet, row, 2, finding.sheet)
        where = f"{finding.sheet}!{finding.cell}" if finding.sheet and finding.cell else None
        if where and finding.sheet in copied and links < MAX_LINKS:
            sheet.write_url(row, 3, f"internal:'{finding.sheet}'!{finding.cell}", writer.link, string=where)
            links += 1
        else:
            writer.value(sheet, row, 3, where)
        writer.value(sheet, row, 4, finding.value)
        sheet.write_string(row, 5, _text(finding.message))
        sheet.write_string(row, 6, _text(finding.fix))
    sheet.freeze_panes(3, 0)
    sheet.autofilter(2, 0, max(3, len(findings) + 2), len(ISSUE_COLUMNS) - 1)
    sheet.activate()


def _changes(writer: _Writer, changes: Changes | None, note: str | None) -> None:
    sheet = writer.book.add_worksheet(CHANGES)
    sheet.set_column(0, 0, 12)
    sheet.set_column(1, 1, 20)
    sheet.set_column(2, 5, 22)
    if changes is None:
        sheet.write_string(0, 0, _text(note or "This is the first version received for this period."))
        return
    sheet.write_string(
        0,
        0,
        f"Compared with version {changes.previous_version}: {len(changes.added)} row(s) added, "
        f"{len(changes.removed)} removed, {len(changes.changed)} cell(s) changed.",
        writer.bold,
    )
    for column, name in enumerate(("change", "participant id", "column", "before", "now", "row now")):
        sheet.write_string(2, column, name, writer.bold)
    row = 3
    for pid, at in changes.added:
        writer.value(sheet, row, 0, "added")
        writer.value(sheet, row, 1, pid)
        writer.value(sheet, row, 5, at)
        row += 1
    for pid, at in changes.removed:
        writer.value(sheet, row, 0, "removed")
        writer.value(sheet, row, 1, pid)
        writer.value(sheet, row, 3, f"was row {at}")
        row += 1
    for change in changes.changed:
        writer.value(sheet, row, 0, "changed")
        writer.value(sheet, row, 1, change.participant_id)
        writer.value(sheet, row, 2, change.column)
        writer.value(sheet, row, 3, change.before)
        writer.value(sheet, row, 4, change.after)
        writer.value(sheet, row, 5, change.row)
        row += 1
    if changes.none:
        sheet.write_string(3, 0, "No rows or cells changed.")
    sheet.freeze_panes(3, 0)


@dataclass
class _Copy:
    """A copied sheet as xlsxwriter wrote it: the cells it holds, and the cells whose style dates take."""

    part: str
    grid: list[list[Any]]
    written: set[tuple[int, int]]
    style_cells: dict[type, str]


def _copy(writer: _Writer, name: str, grid: list[list[Any]], findings: Sequence[Finding]) -> _Copy:
    """The cells findings point at (filled, commented) and those sheet_data does not write, through xlsxwriter; the
    plain rest is added by ``_fill_in`` once the workbook is closed."""
    sheet = writer.book.add_worksheet(name)
    at_cell: dict[tuple[int, int], list[Finding]] = defaultdict(list)
    for finding in findings:
        assert finding.cell is not None
        at_cell[xl_cell_to_rowcol(finding.cell)].append(finding)
    written: set[tuple[int, int]] = set(at_cell)
    style_cells: dict[type, str] = {}
    for r, values in enumerate(grid):
        for c, value in enumerate(values):
            if (r, c) in at_cell or value is None or value == "":
                continue
            kind = value.__class__
            if not sheet_data.is_plain(value) or (kind in (date, datetime) and kind not in style_cells):
                writer.value(sheet, r, c, value)  # the first date (date-time) sets the style the others take
                written.add((r, c))
                if kind in (date, datetime) and kind not in style_cells:
                    style_cells[kind] = xl_rowcol_to_cell(r, c)
    for (r, c), here in sorted(at_cell.items()):
        worst = min((f.severity for f in here), key=list(Severity).index)
        value = grid[r][c] if r < len(grid) and c < len(grid[r]) else None
        fill = writer.dated_fills[worst] if isinstance(value, date) else writer.fills[worst]
        writer.value(sheet, r, c, value if value != "" else None, fill)
        note = "\n".join(f"{f.severity.value} {f.code}: {f.message} {f.fix}" for f in here)
        sheet.write_comment(r, c, _text(note), {"x_scale": 3, "y_scale": 2})
    if name == layout.PARTICIPANTS:
        sheet.freeze_panes(1, 0)
    sheet.set_column(0, max((len(v) for v in grid), default=1), 16)
    return _Copy(f"xl/worksheets/sheet{sheet.index + 1}.xml", grid, written, style_cells)


def _fill_in(path: Path, copies: list[_Copy]) -> None:
    """Each copied sheet's plain cells merged into the sheet xlsxwriter wrote."""
    with zipfile.ZipFile(path) as book:
        parts = {copy.part: book.read(copy.part) for copy in copies}
    merged = {}
    for copy in copies:
        xml = parts[copy.part]
        styles = {kind: sheet_data.style_of(xml, cell) for kind, cell in copy.style_cells.items()}
        merged[copy.part] = sheet_data.merge(xml, copy.grid, copy.written, styles)
    sheet_data.replace_parts(str(path), merged)
