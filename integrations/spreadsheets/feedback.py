"""The feedback workbook for one submitted version: every finding, where it is, how to fix it."""

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from domain.findings import Finding, count_by_severity
from integrations.spreadsheets.cells import set_text, set_value

FILLS = {
    "error": PatternFill("solid", fgColor="F8CBAD"),
    "warning": PatternFill("solid", fgColor="FFE699"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}
COLUMNS = ("severity", "code", "sheet", "cell", "row", "column", "value seen", "message", "how to fix")
WIDTHS = (10, 24, 14, 8, 7, 20, 24, 70, 70)


def write_feedback(
    path: Path,
    *,
    partner_name: str,
    period: str,
    version: int | None,
    filename: str,
    status: str,
    findings: list[Finding],
) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Issues"
    counts = count_by_severity(findings)
    heading = (
        f"{partner_name}, {period}, version {version or '-'} ({filename}): {status}. "
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)."
    )
    set_text(sheet.cell(row=1, column=1), heading)
    sheet.cell(row=1, column=1).font = Font(bold=True)
    for index, (name, width) in enumerate(zip(COLUMNS, WIDTHS, strict=True), start=1):
        set_text(sheet.cell(row=3, column=index), name)
        sheet.cell(row=3, column=index).font = Font(bold=True)
        sheet.column_dimensions[chr(64 + index)].width = width
    for offset, finding in enumerate(findings, start=4):
        values = (
            finding.severity.value,
            finding.code,
            finding.sheet,
            finding.cell,
            finding.row,
            finding.column,
            finding.value,
            finding.message,
            finding.fix,
        )
        for index, value in enumerate(values, start=1):
            set_value(sheet.cell(row=offset, column=index), value)
        sheet.cell(row=offset, column=1).fill = FILLS[finding.severity.value]
    if not findings:
        set_text(sheet.cell(row=4, column=1), "No problems found. Thank you.")
    sheet.freeze_panes = "A4"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
