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
    "FILE_NOT_XLSX": CodeSpec(
        Severity.error,
        "{filename} is not an Excel workbook (.xlsx).",
        "Save the return as an Excel Workbook (.xlsx) from the template and send it again.",
    ),
    "FILE_LEGACY_OR_ENCRYPTED": CodeSpec(
        Severity.error,
        "{filename} is a legacy .xls file or is password-protected.",
        "Remove any password and save as Excel Workbook (.xlsx).",
    ),
    "FILE_MACRO_ENABLED": CodeSpec(
        Severity.error,
        "{filename} contains macros, which the alliance does not accept.",
        "Save as Excel Workbook (.xlsx), not macro-enabled (.xlsm).",
    ),
    "FILE_CORRUPT": CodeSpec(
        Severity.error,
        "{filename} could not be opened: it is damaged or incomplete.",
        "Open it in Excel or LibreOffice, save it again as .xlsx and resend.",
    ),
    "FILE_TOO_LARGE": CodeSpec(
        Severity.error,
        "{filename} is larger than the limit ({detail}).",
        "Send only the Participants rows for this period in the alliance template.",
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
    # Columns and rows
    "COLUMN_MISSING": CodeSpec(
        Severity.error,
        "Column '{column}' is missing from the Participants sheet.",
        "Restore the column header exactly as in the template.",
    ),
    "COLUMN_EXTRA": CodeSpec(
        Severity.warning,
        "Column '{column}' is not part of the framework and was ignored.",
        "Nothing to do if it holds your own notes; it is not read.",
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
