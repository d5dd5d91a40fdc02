"""Payment statements: one workbook per partner per run version, and a summary for officers.

Written with openpyxl because it stores a Decimal as its exact decimal text: amounts reach the
workbook without passing through a float.
"""

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from domain.money import pence_to_pounds
from domain.payments import LINE_KINDS
from integrations.private_files import FILE_MODE, private_folder
from integrations.spreadsheets.cells import set_text, set_value

MONEY_FORMAT = "£#,##0.00;-£#,##0.00"
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class StatementLine:
    kind: str
    amount_pence: int
    explanation: str


@dataclass(frozen=True)
class PointsRow:
    measure: str
    band: str
    achieved: int
    points: Decimal


@dataclass(frozen=True)
class AdjustmentRow:
    kind: str
    was_pence: int
    now_pence: int


@dataclass(frozen=True)
class YearRow:
    """What one payable version paid: a correcting version's net change, so the column totals are
    what the year has paid for core and for outcomes."""

    period: str
    version: int
    core_pence: int
    outcome_pence: int
    settled_pence: int = 0  # held back, recovered or brought forward (domain.settlement)

    @property
    def total_pence(self) -> int:
        return self.core_pence + self.outcome_pence + self.settled_pence


@dataclass(frozen=True)
class PartnerStatement:
    partner_id: str
    partner_name: str
    lines: list[StatementLine]
    heading: list[tuple[str, str]] = field(default_factory=list)  # run, status, dates, inputs hash
    working: list[tuple[str, str]] = field(default_factory=list)  # the figures behind core and outcome
    points: list[PointsRow] = field(default_factory=list)
    adjustments: list[AdjustmentRow] = field(default_factory=list)
    year_to_date: list[YearRow] = field(default_factory=list)
    reasons: list[StatementLine] = field(default_factory=list)  # the first sheet: one line per reason, in pounds
    audit: list[tuple[str, str]] = field(default_factory=list)  # fingerprints, hashes, the exact factor

    @property
    def total_pence(self) -> int:
        return sum(line.amount_pence for line in self.lines)

    def amount(self, kind: str) -> int:
        return sum(line.amount_pence for line in self.lines if line.kind == kind)


def _money(sheet: Worksheet, row: int, column: int, pence: int) -> None:
    cell = sheet.cell(row=row, column=column)
    set_value(cell, pence_to_pounds(pence))
    cell.number_format = MONEY_FORMAT


def _header(sheet: Worksheet, row: int, headings: Sequence[str]) -> None:
    for index, heading in enumerate(headings, start=1):
        set_text(sheet.cell(row=row, column=index), heading)
        sheet.cell(row=row, column=index).font = BOLD


def _pairs(sheet: Worksheet, row: int, pairs: Sequence[tuple[str, str]]) -> int:
    for label, value in pairs:
        set_text(sheet.cell(row=row, column=1), label)
        set_text(sheet.cell(row=row, column=2), value)
        row += 1
    return row


def _widths(sheet: Worksheet, widths: dict[str, int]) -> None:
    for letter, width in widths.items():
        sheet.column_dimensions[letter].width = width


def _lines(sheet: Worksheet, row: int, headings: Sequence[str], lines: Sequence[StatementLine]) -> int:
    """A heading row at ``row``, then one row per line (label, amount, words); the last row written."""
    _header(sheet, row, headings)
    for line in lines:
        row += 1
        set_text(sheet.cell(row=row, column=1), line.kind)
        _money(sheet, row, 2, line.amount_pence)
        set_text(sheet.cell(row=row, column=3), line.explanation)
        sheet.cell(row=row, column=3).alignment = WRAP
    return row


def _print_on_one_page_wide(sheet: Worksheet) -> None:
    """Printed (or saved as PDF), every column fits across a landscape page: the reasons are never cut off."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0


def _save(book: Workbook, path: Path, stamp: datetime) -> Path:
    """Written beside its name and moved into place: a file under the final name is always whole. The staging name
    is the writer's own: two cycles writing the same statement at once must not move each other's file away."""
    book.properties.created = stamp.replace(tzinfo=None)
    book.properties.modified = stamp.replace(tzinfo=None)
    private_folder(path.parent)
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    book.save(staging)
    os.chmod(staging, FILE_MODE)  # the alliance's and its officers', not every account's
    os.replace(staging, path)
    return path


def write_partner_statement(path: Path, *, title: str, statement: PartnerStatement, stamp: datetime) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Statement"
    set_text(sheet["A1"], f"{title}: {statement.partner_name}")
    sheet["A1"].font = BOLD
    row = _pairs(sheet, 3, statement.heading) + 1
    row = _lines(sheet, row, ("what for", "amount", "why"), statement.reasons) + 1
    set_text(sheet.cell(row=row, column=1), "payable by this statement")
    sheet.cell(row=row, column=1).font = BOLD
    _money(sheet, row, 2, statement.total_pence)
    set_text(sheet.cell(row=row + 2, column=1), "The exact arithmetic behind every line is on the Audit sheet.")
    _widths(sheet, {"A": 40, "B": 16, "C": 90})
    _print_on_one_page_wide(sheet)

    how = book.create_sheet("Audit")
    row = _pairs(how, 1, statement.audit) + 1
    row = _lines(how, row, ("stored line", "amount", "how it was computed (exact)"), statement.lines)
    row = _pairs(how, row + 2, statement.working) + 1
    _header(how, row, ("measure", "complexity band", "rows achieving it", "points"))
    for item in statement.points:
        row += 1
        set_text(how.cell(row=row, column=1), item.measure)
        set_text(how.cell(row=row, column=2), item.band)
        set_value(how.cell(row=row, column=3), item.achieved)
        set_value(how.cell(row=row, column=4), item.points)
    _widths(how, {"A": 34, "B": 40, "C": 60, "D": 12})

    adjustments = book.create_sheet("Adjustments")
    if not statement.adjustments:
        set_text(adjustments["A1"], "No adjustments: this is the first payable version of the period's run.")
    else:
        _header(adjustments, 1, ("line", "already paid", "now due", "paid by this statement"))
        for row, adjustment in enumerate(statement.adjustments, start=2):
            set_text(adjustments.cell(row=row, column=1), adjustment.kind)
            _money(adjustments, row, 2, adjustment.was_pence)
            _money(adjustments, row, 3, adjustment.now_pence)
            _money(adjustments, row, 4, adjustment.now_pence - adjustment.was_pence)
    _widths(adjustments, {"A": 26, "B": 18, "C": 18, "D": 24})

    _year_to_date(book.create_sheet("Year to date"), statement.year_to_date)
    return _save(book, path, stamp)


def _year_to_date(sheet: Worksheet, rows: Sequence[YearRow]) -> None:
    _header(sheet, 1, ("period", "run version", "core paid", "outcome paid", "total paid", "held back or recovered"))
    row = 1
    for item in rows:
        row += 1
        set_text(sheet.cell(row=row, column=1), item.period)
        set_value(sheet.cell(row=row, column=2), item.version)
        for column, pence in enumerate(
            (item.core_pence, item.outcome_pence, item.total_pence, item.settled_pence), start=3
        ):
            _money(sheet, row, column, pence)
    row += 1
    set_text(sheet.cell(row=row, column=1), "year to date")
    sheet.cell(row=row, column=1).font = BOLD
    totals = (
        sum(r.core_pence for r in rows),
        sum(r.outcome_pence for r in rows),
        sum(r.total_pence for r in rows),
        sum(r.settled_pence for r in rows),
    )
    for column, pence in enumerate(totals, start=3):
        _money(sheet, row, column, pence)
    _widths(sheet, {"A": 14, "B": 12, "C": 16, "D": 16, "E": 16, "F": 22})


KIND_HEADINGS = {
    "core": "core",
    "outcome": "outcome",
    "adjustment": "taken off: paid before",
    "carried": "held back",
    "recovery": "recovered",
    "brought_forward": "brought forward",
}


@dataclass(frozen=True)
class DebtRow:
    partner_name: str
    owed_pence: int
    recoverable_pence: int  # what the next twelve instalments can repay within the cap
    invoice: bool


def write_officer_summary(
    path: Path,
    *,
    title: str,
    statements: list[PartnerStatement],
    facts: list[tuple[str, str]],
    stamp: datetime,
    told: Sequence[str] = (),
    debts: Sequence[DebtRow] = (),
) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Summary"
    set_text(sheet["A1"], title)
    sheet["A1"].font = BOLD
    row = _pairs(sheet, 3, facts) + 1
    headings = [KIND_HEADINGS.get(k, k) for k in LINE_KINDS]
    _header(sheet, row, ("partner", "partner id", *headings, "total", "year to date", "statement sent"))
    for statement in statements:
        row += 1
        set_text(sheet.cell(row=row, column=1), statement.partner_name)
        set_text(sheet.cell(row=row, column=2), statement.partner_id)
        amounts = [statement.amount(k) for k in LINE_KINDS]
        ytd = sum(r.total_pence for r in statement.year_to_date)
        for column, pence in enumerate([*amounts, statement.total_pence, ytd], start=3):
            _money(sheet, row, column, pence)
        sent = "yes" if statement.partner_id in told else "no: changed by less than the notice threshold"
        set_text(sheet.cell(row=row, column=len(LINE_KINDS) + 5), sent)
    row += 1
    set_text(sheet.cell(row=row, column=1), "all partners")
    sheet.cell(row=row, column=1).font = BOLD
    grand = [sum(s.amount(k) for s in statements) for k in LINE_KINDS]
    grand_ytd = sum(r.total_pence for s in statements for r in s.year_to_date)
    for column, pence in enumerate([*grand, sum(grand), grand_ytd], start=3):
        _money(sheet, row, column, pence)
    _widths(sheet, {"A": 30, "B": 24, **{chr(ord("C") + i): 16 for i in range(len(LINE_KINDS) + 2)}})
    row += 2
    set_text(sheet.cell(row=row, column=1), "Owed by partners (overpayments being recovered)")
    sheet.cell(row=row, column=1).font = BOLD
    if not debts:
        set_text(sheet.cell(row=row + 1, column=1), "none")
    else:
        _header(sheet, row + 1, ("partner", "owed", "recoverable in the next 12 months", "action"))
        for offset, debt in enumerate(debts, start=row + 2):
            set_text(sheet.cell(row=offset, column=1), debt.partner_name)
            _money(sheet, offset, 2, debt.owed_pence)
            _money(sheet, offset, 3, debt.recoverable_pence)
            action = "invoice it: the instalments left cannot repay it" if debt.invoice else "recovered from payments"
            set_text(sheet.cell(row=offset, column=4), action)
    return _save(book, path, stamp)
