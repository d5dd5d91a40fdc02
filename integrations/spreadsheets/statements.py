"""Payment statements: one workbook per partner per run version, and a summary for officers."""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from domain.money import pence_to_pounds
from domain.payments import LINE_KINDS
from integrations.spreadsheets.cells import set_text, set_value

MONEY_FORMAT = "£#,##0.00;-£#,##0.00"


@dataclass(frozen=True)
class StatementLine:
    kind: str
    amount_pence: int
    explanation: str


@dataclass(frozen=True)
class PartnerStatement:
    partner_id: str
    partner_name: str
    lines: list[StatementLine]

    @property
    def total_pence(self) -> int:
        return sum(line.amount_pence for line in self.lines)


def _money(value: int) -> Decimal:
    return pence_to_pounds(value)


def write_partner_statement(path: Path, *, title: str, statement: PartnerStatement) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Statement"
    set_text(sheet["A1"], f"{title}: {statement.partner_name}")
    sheet["A1"].font = Font(bold=True)
    for index, heading in enumerate(("line", "amount", "how it was computed"), start=1):
        set_text(sheet.cell(row=3, column=index), heading)
        sheet.cell(row=3, column=index).font = Font(bold=True)
    row = 4
    for line in statement.lines:
        set_text(sheet.cell(row=row, column=1), line.kind)
        set_value(sheet.cell(row=row, column=2), _money(line.amount_pence))
        sheet.cell(row=row, column=2).number_format = MONEY_FORMAT
        set_text(sheet.cell(row=row, column=3), line.explanation)
        row += 1
    set_text(sheet.cell(row=row, column=1), "total")
    set_value(sheet.cell(row=row, column=2), _money(statement.total_pence))
    sheet.cell(row=row, column=2).number_format = MONEY_FORMAT
    sheet.cell(row=row, column=1).font = Font(bold=True)
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 16
    sheet.column_dimensions["C"].width = 100
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def write_officer_summary(
    path: Path, *, title: str, statements: list[PartnerStatement], facts: list[tuple[str, str]]
) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Summary"
    set_text(sheet["A1"], title)
    sheet["A1"].font = Font(bold=True)
    row = 3
    for label, value in facts:
        set_text(sheet.cell(row=row, column=1), label)
        set_text(sheet.cell(row=row, column=2), value)
        row += 1
    row += 1
    kinds = LINE_KINDS
    for index, heading in enumerate(("partner", *kinds, "total"), start=1):
        set_text(sheet.cell(row=row, column=index), heading)
        sheet.cell(row=row, column=index).font = Font(bold=True)
    for statement in statements:
        row += 1
        set_text(sheet.cell(row=row, column=1), statement.partner_name)
        amounts = [sum(line.amount_pence for line in statement.lines if line.kind == k) for k in kinds]
        for index, amount in enumerate([*amounts, statement.total_pence], start=2):
            set_value(sheet.cell(row=row, column=index), _money(amount))
            sheet.cell(row=row, column=index).number_format = MONEY_FORMAT
    sheet.column_dimensions["A"].width = 30
    for letter in "BCDE":
        sheet.column_dimensions[letter].width = 16
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
