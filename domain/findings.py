"""Findings: every problem found in a return is data with a stable code.

The catalogue below is the only place a finding's severity, message and fix are written;
code elsewhere says *which* finding and *where*, with the parameters the message needs.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    error = "error"  # blocks acceptance
    warning = "warning"  # accepted, but the partner should look
    info = "info"


@dataclass(frozen=True)
class CodeSpec:
    severity: Severity
    message: str  # str.format template over the finding's params
    fix: str


CATALOGUE: dict[str, CodeSpec] = {
    # The file itself
    "FILE_EMPTY": CodeSpec(
        Severity.error,
        "{filename} is empty (0 bytes).",
        "Save the return again and send the saved file.",
    ),
    "FILE_NOT_XLSX": CodeSpec(
        Severity.error,
        "{filename} is not an Excel workbook (.xlsx){detail}.",
        "Save the return as an Excel Workbook (.xlsx) from the template and send it again.",
    ),
    "FILE_TEXT": CodeSpec(
        Severity.error,
        "{filename} is a text file (CSV, HTML or similar) named like a workbook.",
        "Open the template in Excel, LibreOffice or Google Sheets, paste the rows in and save as .xlsx.",
    ),
    "FILE_LEGACY_XLS": CodeSpec(
        Severity.error,
        "{filename} is an old-style Excel 97-2003 (.xls) file.",
        "Save it as Excel Workbook (.xlsx) and send it again.",
    ),
    "FILE_ENCRYPTED": CodeSpec(
        Severity.error,
        "{filename} is password-protected, so it cannot be read.",
        "Remove the password (File > Info > Protect Workbook) and send it again.",
    ),
    "FILE_ODS": CodeSpec(
        Severity.error,
        "{filename} is an OpenDocument spreadsheet (.ods), not an Excel workbook.",
        "In LibreOffice choose File > Save As > Excel 2007-365 (.xlsx) and send that file.",
    ),
    "FILE_XLSB": CodeSpec(
        Severity.error,
        "{filename} is an Excel binary workbook (.xlsb).",
        "Save it as Excel Workbook (.xlsx) and send it again.",
    ),
    "FILE_MACRO_ENABLED": CodeSpec(
        Severity.error,
        "{filename} contains macros, which the alliance does not accept.",
        "Save as Excel Workbook (.xlsx), not macro-enabled (.xlsm).",
    ),
    "FILE_CORRUPT": CodeSpec(
        Severity.error,
        "{filename} could not be opened: it is damaged or incomplete{detail}.",
        "Open it in Excel or LibreOffice, save it again as .xlsx and resend.",
    ),
    "FILE_TOO_LARGE": CodeSpec(
        Severity.error,
        "{filename} is larger than the limit ({detail}).",
        "Send only the Participants rows for this period in the alliance template.",
    ),
    "FILE_COMPRESSION_RATIO": CodeSpec(
        Severity.error,
        "{filename} expands {detail} when opened, far more than any return; it was refused unread.",
        "Start again from the template; if this is your real return, contact the alliance office.",
    ),
    "NOT_A_RETURN": CodeSpec(
        Severity.error,
        "{filename} is a workbook but not an alliance return: it has no About or Participants sheet.",
        "Fill in the template sent for this period and send that workbook.",
    ),
    "SHEET_MISSING": CodeSpec(
        Severity.error,
        "The workbook has no '{sheet}' sheet.",
        "Start from this period's template and keep its sheets and their names.",
    ),
    "SHEET_TOO_LARGE": CodeSpec(
        Severity.error,
        "The '{sheet}' sheet has {detail}, more than a return can hold.",
        "Delete unused rows and columns, or start again from the template.",
    ),
    "FORMULA_NO_VALUE": CodeSpec(
        Severity.error,
        "Cell has a formula whose result was never calculated.",
        "Open the file in Excel or LibreOffice, let it recalculate, save and resend (or type the value in).",
    ),
    "KEY_REPEATED": CodeSpec(
        Severity.error,
        "'{field}' appears more than once in column A of the {sheet} sheet (again in row {row}).",
        "Keep one row for '{field}'; delete the other.",
    ),
    # The About sheet: whose return is this?
    "ABOUT_FIELD_MISSING": CodeSpec(
        Severity.error,
        "The About sheet has no value for '{field}'.",
        "Use the template sent for this period; do not edit the About sheet.",
    ),
    "ABOUT_OTHER_ALLIANCE": CodeSpec(
        Severity.error,
        "This template belongs to '{value}', not to this alliance.",
        "Download the template for this alliance and period.",
    ),
    "ABOUT_PARTNER_UNKNOWN": CodeSpec(
        Severity.error,
        "Partner '{value}' on the About sheet is not a partner of this alliance.",
        "Use the template made for your organisation.",
    ),
    "ABOUT_PERIOD_INVALID": CodeSpec(
        Severity.error,
        "Period '{value}' on the About sheet is not a month of this contract.",
        "Use the template made for the month you are reporting.",
    ),
    "ABOUT_FRAMEWORK_VERSION": CodeSpec(
        Severity.error,
        "The template is for framework version {value}; returns for {period} use version {expected}.",
        "Download this period's template and copy your rows into it.",
    ),
    "ABOUT_TEMPLATE_MISMATCH": CodeSpec(
        Severity.error,
        "The About sheet does not match the template issued for this partner and period (template id {value}).",
        "Do not edit the About sheet; copy your rows into the template sent to you for this period.",
    ),
    "ABOUT_PARTNER_MISMATCH": CodeSpec(
        Severity.error,
        "The file came from {sender}'s folder but its About sheet says it is {value}'s return.",
        "Send your own organisation's template; if you submit for another partner, ask the alliance office.",
    ),
    "ABOUT_PERIOD_FUTURE": CodeSpec(
        Severity.error,
        "The return is for {value}, a month that had not started when it was received.",
        "Use the template for the month you are reporting.",
    ),
    # Columns and rows
    "COLUMN_MISSING": CodeSpec(
        Severity.error,
        "Column '{column}' is missing from the Participants sheet.",
        "Restore the column header exactly as in the template.",
    ),
    "COLUMN_EXTRA": CodeSpec(
        Severity.warning,
        "Column '{value}' is not part of the framework and was ignored.",
        "Nothing to do if it holds your own notes; it is not read.",
    ),
    "COLUMN_DUPLICATE": CodeSpec(
        Severity.error,
        "Column '{column}' appears more than once on the Participants sheet.",
        "Keep one column with this header; delete or rename the other.",
    ),
    "NO_ROWS": CodeSpec(
        Severity.error,
        "The Participants sheet has no participant rows.",
        "Add one row per participant worked with this month.",
    ),
    "VALUE_REQUIRED": CodeSpec(
        Severity.error,
        "{column} is empty in row {row}.",
        "Fill in {column} for every participant.",
    ),
    "ID_DUPLICATE": CodeSpec(
        Severity.error,
        "Participant id '{value}' appears more than once (row {row}).",
        "Keep one row per participant; merge the duplicate rows.",
    ),
    "DATE_INVALID": CodeSpec(
        Severity.error,
        "'{value}' in {column} is not a date.",
        "Enter the date as a date, or as day/month/year (e.g. 03/10/2026).",
    ),
    "DATE_AFTER_PERIOD": CodeSpec(
        Severity.error,
        "Referral date {value} is after the end of the period {period}.",
        "Check the date: a participant worked with in {period} was referred by then.",
    ),
    "DATE_AMBIGUOUS": CodeSpec(
        Severity.error,
        "'{value}' in {column} can be read as more than one date.",
        "Enter the date as a date, or as day/month/year with a four-digit year (e.g. 03/10/2026).",
    ),
    "BAND_UNKNOWN": CodeSpec(
        Severity.error,
        "'{value}' is not a complexity band.",
        "Choose one of: {allowed}.",
    ),
    "YESNO_INVALID": CodeSpec(
        Severity.error,
        "'{value}' in {column} is not Yes or No.",
        "Enter Yes or No.",
    ),
    "CELL_ERROR": CodeSpec(
        Severity.error,
        "Cell holds the spreadsheet error {value}.",
        "Replace the formula error with the value it should hold.",
    ),
    "SUMMARY_MISMATCH": CodeSpec(
        Severity.error,
        "Summary says {value} for '{field}' but the Participants rows give {expected}.",
        "Correct the Summary figure or the rows so they agree.",
    ),
    "SUMMARY_BLANK": CodeSpec(
        Severity.info,
        "The Summary sheet was left blank, so it could not be checked against the rows.",
        "Fill in the Summary totals next time; they catch copy-and-paste slips.",
    ),
    # The cycle
    "RETURN_LATE": CodeSpec(
        Severity.warning,
        "Received {value}, after the due date {expected}.",
        "Send returns by the due date so payments are not delayed.",
    ),
    "DUPLICATE_FILE": CodeSpec(
        Severity.info,
        "This file is identical to one already received ({value}); it was not processed again.",
        "Nothing to do.",
    ),
}


@dataclass(frozen=True)
class Finding:
    code: str
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise KeyError(f"finding code {self.code!r} is not in the catalogue")

    @property
    def spec(self) -> CodeSpec:
        return CATALOGUE[self.code]

    @property
    def severity(self) -> Severity:
        return self.spec.severity

    def _fields(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "cell": self.cell,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            **self.params,
        }

    @property
    def message(self) -> str:
        return self.spec.message.format_map(_Blank(self._fields()))

    @property
    def fix(self) -> str:
        return self.spec.fix.format_map(_Blank(self._fields()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "sheet": self.sheet,
            "cell": self.cell,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
            "fix": self.fix,
        }


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.error for f in findings)


def count_by_severity(findings: list[Finding]) -> dict[str, int]:
    return {s.value: sum(1 for f in findings if f.severity is s) for s in Severity}


_SEVERITY_ORDER = {Severity.error: 0, Severity.warning: 1, Severity.info: 2}


def ordered(findings: list[Finding]) -> list[Finding]:
    """Errors first, then by sheet and row, so the first lines are what blocks acceptance."""
    return sorted(
        findings,
        key=lambda f: (_SEVERITY_ORDER[f.severity], f.sheet or "", f.row or 0, f.column or "", f.code),
    )
