"""Findings: every problem found in a return is data with a stable code.

The catalogue below is the only place a finding's severity, message and fix are written;
code elsewhere says *which* finding and *where*, with the parameters the message needs.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from domain.text import QUOTE_LIMIT, shortened


class Severity(StrEnum):
    error = "error"  # blocks acceptance
    warning = "warning"  # accepted, but the partner should look
    info = "info"


@dataclass(frozen=True)
class CodeSpec:
    severity: Severity
    meaning: str  # what the finding is, for the catalogue (docs/findings.md, the template's Guidance sheet)
    message: str  # str.format template over the finding's params
    fix: str


CATALOGUE: dict[str, CodeSpec] = {
    # The file itself
    "FILE_EMPTY": CodeSpec(
        Severity.error,
        "The file received has no content at all.",
        "{filename} is empty (0 bytes).",
        "Save the return again and send the saved file.",
    ),
    "FILE_NOT_XLSX": CodeSpec(
        Severity.error,
        "The file is not a spreadsheet the alliance reads (a PDF, an image, a Word file, an empty archive).",
        "{filename} is not an Excel workbook (.xlsx){detail}.",
        "Save the return as an Excel Workbook (.xlsx) from the template and send it again.",
    ),
    "FILE_TEXT": CodeSpec(
        Severity.error,
        "The file is text (CSV, HTML, tab-separated) with a workbook's name; it has no sheets.",
        "{filename} is a text file (CSV, HTML or similar) named like a workbook.",
        "Open the template in Excel, LibreOffice or Google Sheets, paste the rows in and save as .xlsx.",
    ),
    "FILE_LEGACY_XLS": CodeSpec(
        Severity.error,
        "The file is in the Excel 97-2003 format, which the alliance does not read.",
        "{filename} is an old-style Excel 97-2003 (.xls) file.",
        "Save it as Excel Workbook (.xlsx) and send it again.",
    ),
    "FILE_ENCRYPTED": CodeSpec(
        Severity.error,
        "The workbook is protected with a password, so its contents are encrypted.",
        "{filename} is password-protected, so it cannot be read.",
        "Remove the password (File > Info > Protect Workbook) and send it again.",
    ),
    "FILE_ODS": CodeSpec(
        Severity.error,
        "The file is an OpenDocument spreadsheet, not an Excel workbook.",
        "{filename} is an OpenDocument spreadsheet (.ods), not an Excel workbook.",
        "In LibreOffice choose File > Save As > Excel 2007-365 (.xlsx) and send that file.",
    ),
    "FILE_XLSB": CodeSpec(
        Severity.error,
        "The file is an Excel binary workbook, not an Excel workbook (.xlsx).",
        "{filename} is an Excel binary workbook (.xlsb).",
        "Save it as Excel Workbook (.xlsx) and send it again.",
    ),
    "FILE_MACRO_ENABLED": CodeSpec(
        Severity.error,
        "The workbook carries macros (VBA); returns must not contain code.",
        "{filename} contains macros, which the alliance does not accept.",
        "Save as Excel Workbook (.xlsx), not macro-enabled (.xlsm).",
    ),
    "FILE_CORRUPT": CodeSpec(
        Severity.error,
        "The workbook is damaged, truncated or built in a way no spreadsheet program writes.",
        "{filename} could not be opened: it is damaged or incomplete{detail}.",
        "Open it in Excel or LibreOffice, save it again as .xlsx and resend.",
    ),
    "FILE_TOO_LARGE": CodeSpec(
        Severity.error,
        "The file, or what it expands to, is beyond the size any return needs.",
        "{filename} is larger than the limit ({detail}).",
        "Send only the Participants rows for this period in the alliance template.",
    ),
    "FILE_SYMLINK": CodeSpec(
        Severity.error,
        "The upload folder holds a link (a shortcut) to a file or folder, not the file itself; links are never"
        " followed, wherever they point.",
        "{filename} is a link, not a file: it was not opened.",
        "Put the return itself in your upload folder, not a link or shortcut to it.",
    ),
    "FILE_NOT_REGULAR": CodeSpec(
        Severity.error,
        "The upload folder holds something that is not a file (a folder, a device) with a return's name.",
        "{filename} is not a file (it is a folder or another kind of entry): it was not opened.",
        "Put the saved workbook itself in your upload folder.",
    ),
    "FILE_CHANGING": CodeSpec(
        Severity.error,
        "The file changed, or was replaced, while it was being read, so what was read may be half of it.",
        "{filename} changed while it was being read, so it was not checked.",
        "Let the upload finish and leave the file in place: the finished file is read at the next collection.",
    ),
    "FILE_IN_SUBFOLDER": CodeSpec(
        Severity.error,
        "The file is in a folder inside the upload folder; only files directly in the upload folder are read (a"
        " folder inside often holds earlier versions, which must not be taken for a new one).",
        "{filename} is in a folder inside your upload folder, so it was not read.",
        "To send it, move the file itself into your upload folder; keep earlier versions outside the inbox.",
    ),
    "FILE_COMPRESSION_RATIO": CodeSpec(
        Severity.error,
        "The file expands far more than a spreadsheet does (a 'zip bomb'); it was not opened.",
        "{filename} expands {detail} when opened, far more than any return; it was refused unread.",
        "Start again from the template; if this is your real return, contact the alliance office.",
    ),
    "NOT_A_RETURN": CodeSpec(
        Severity.error,
        "The workbook is a spreadsheet but not the alliance's return template.",
        "{filename} is a workbook but not an alliance return: it has no About or Participants sheet.",
        "Fill in the template sent for this period and send that workbook.",
    ),
    "SHEET_MISSING": CodeSpec(
        Severity.error,
        "A sheet the return needs (About or Participants) is not in the workbook.",
        "The workbook has no '{sheet}' sheet.",
        "Start from this period's template and keep its sheets and their names.",
    ),
    "SHEET_TOO_LARGE": CodeSpec(
        Severity.error,
        "A sheet has data further down or across than any return can hold.",
        "The '{sheet}' sheet has {detail}, more than a return can hold.",
        "Delete unused rows and columns, or start again from the template.",
    ),
    "FORMULA_NO_VALUE": CodeSpec(
        Severity.error,
        "A cell holds a formula that was never calculated, so it has no value to read.",
        "Cell has a formula whose result was never calculated.",
        "Open the file in Excel or LibreOffice, let it recalculate, save and resend (or type the value in).",
    ),
    "KEY_REPEATED": CodeSpec(
        Severity.error,
        "A field on the About or Summary sheet is given twice, so which one is meant is unclear.",
        "'{field}' appears more than once in column A of the {sheet} sheet (again in row {row}).",
        "Keep one row for '{field}'; delete the other.",
    ),
    # The About sheet: whose return is this?
    "ABOUT_FIELD_MISSING": CodeSpec(
        Severity.error,
        "A field the template fills in on the About sheet is empty.",
        "The About sheet has no value for '{field}'.",
        "Use the template sent for this period; do not edit the About sheet.",
    ),
    "ABOUT_OTHER_ALLIANCE": CodeSpec(
        Severity.error,
        "The template was issued by another alliance.",
        "This template belongs to '{value}', not to this alliance.",
        "Download the template for this alliance and period.",
    ),
    "ABOUT_PARTNER_UNKNOWN": CodeSpec(
        Severity.error,
        "The partner named on the About sheet is not in the contract.",
        "Partner '{value}' on the About sheet is not a partner of this alliance.",
        "Use the template made for your organisation.",
    ),
    "ABOUT_PERIOD_INVALID": CodeSpec(
        Severity.error,
        "The period on the About sheet is not a month of the contract.",
        "Period '{value}' on the About sheet is not a month of this contract.",
        "Use the template made for the month you are reporting.",
    ),
    "ABOUT_FRAMEWORK_VERSION": CodeSpec(
        Severity.error,
        "The template was made for another version of the outcome framework.",
        "The template is for framework version {value}; returns for {period} use version {expected}.",
        "Download this period's template and copy your rows into it.",
    ),
    "ABOUT_TEMPLATE_MISMATCH": CodeSpec(
        Severity.error,
        "The About sheet was edited or copied from another partner's or month's template.",
        "The About sheet does not match the template issued for this partner and period (template id {value}).",
        "Do not edit the About sheet; copy your rows into the template sent to you for this period.",
    ),
    "ABOUT_PARTNER_MISMATCH": CodeSpec(
        Severity.error,
        "The file came from one partner's folder but is another partner's return.",
        "The file came from {sender}'s folder but its About sheet says it is {value}'s return.",
        "Send your own organisation's template; if you submit for another partner, ask the alliance office.",
    ),
    "SENDER_UNKNOWN": CodeSpec(
        Severity.error,
        "The file was not in a partner's own inbox folder (or portal), so who sent it is not known; the About sheet"
        " alone never makes a file a partner's return, since anyone can copy it.",
        "{filename} did not come from a partner's own folder, so it was not filed as any partner's return{detail}.",
        "Officers: if it is a partner's return, move it into that partner's folder (inbox/<partner id>/) and run the"
        " cycle again. Partners: send returns from your own folder or through the portal.",
    ),
    "ABOUT_PERIOD_FUTURE": CodeSpec(
        Severity.error,
        "The return is for a month that had not begun when it arrived.",
        "The return is for {value}, a month that had not started when it was received.",
        "Use the template for the month you are reporting.",
    ),
    # Columns and rows
    "COLUMN_MISSING": CodeSpec(
        Severity.error,
        "A column of the framework is not on the Participants sheet.",
        "Column '{column}' is missing from the Participants sheet.",
        "Restore the column header exactly as in the template.",
    ),
    "COLUMN_EXTRA": CodeSpec(
        Severity.warning,
        "The Participants sheet has a column the framework does not define; it is not read.",
        "Column '{value}' is not part of the framework and was ignored.",
        "Nothing to do if it holds your own notes; it is not read.",
    ),
    "COLUMN_DUPLICATE": CodeSpec(
        Severity.error,
        "Two columns on the Participants sheet have the same header.",
        "Column '{column}' appears more than once on the Participants sheet.",
        "Keep one column with this header; delete or rename the other.",
    ),
    "NO_ROWS": CodeSpec(
        Severity.error,
        "The Participants sheet has a header but no participants.",
        "The Participants sheet has no participant rows.",
        "Add one row per participant worked with this month.",
    ),
    "VALUE_REQUIRED": CodeSpec(
        Severity.error,
        "A cell every participant needs is empty.",
        "{column} is empty in row {row}.",
        "Fill in {column} for every participant.",
    ),
    "VALUE_TOO_LONG": CodeSpec(
        Severity.error,
        "A cell holds more characters than the alliance's records keep for its column.",
        "{column} in row {row} is {detail} characters long; it can be at most {expected}.",
        "Shorten {column} to {expected} characters or fewer: it is a short reference, not a name or a note.",
    ),
    "ID_DUPLICATE": CodeSpec(
        Severity.error,
        "A participant id appears on more than one row of the same return.",
        "Participant id '{value}' appears more than once (row {row}).",
        "Keep one row per participant; merge the duplicate rows.",
    ),
    "DATE_INVALID": CodeSpec(
        Severity.error,
        "A referral date is not a date, or not written in a way that reads as one date.",
        "'{value}' under {column} is not a date.",
        "Enter the date as a date, or as day/month/year (e.g. 03/10/2026).",
    ),
    "DATE_AFTER_PERIOD": CodeSpec(
        Severity.error,
        "A referral date falls after the end of the month being reported.",
        "Referral date {value} is after the end of the period {period}.",
        "Check the date: a participant worked with in {period} was referred by then.",
    ),
    "DATE_TOO_EARLY": CodeSpec(
        Severity.error,
        "A referral date is earlier than any referral to this contract could be (usually a slip in the year).",
        "Referral date {value} is before {earliest}, earlier than any referral to this contract.",
        "Check the year of the referral date.",
    ),
    "DATE_AMBIGUOUS": CodeSpec(
        Severity.error,
        "A date is written with a two-digit year, so more than one date fits.",
        "'{value}' under {column} can be read as more than one date.",
        "Enter the date as a date, or as day/month/year with a four-digit year (e.g. 03/10/2026).",
    ),
    "BAND_UNKNOWN": CodeSpec(
        Severity.error,
        "A complexity band is not one of the framework's bands.",
        "'{value}' is not a complexity band.",
        "Choose one of: {allowed}.",
    ),
    "YESNO_INVALID": CodeSpec(
        Severity.error,
        "An outcome cell is not Yes or No.",
        "'{value}' under {column} is not Yes or No.",
        "Enter Yes or No.",
    ),
    "POSTCODE_INVALID": CodeSpec(
        Severity.error,
        "The optional postcode district is not an outward code (such as NF1 or NF12); a full postcode identifies "
        "a household.",
        "'{value}' is not a postcode district.",
        "Enter only the first half of the postcode (e.g. NF12), or leave the cell empty.",
    ),
    "CELL_ERROR": CodeSpec(
        Severity.error,
        "A cell shows a spreadsheet error (#REF!, #N/A, ...) instead of a value.",
        "Cell holds the spreadsheet error {value}.",
        "Replace the formula error with the value it should hold.",
    ),
    "SUMMARY_MISMATCH": CodeSpec(
        Severity.error,
        "A Summary total differs from the count of the Participants rows.",
        "Summary says {value} for '{field}' but the Participants rows give {expected}.",
        "Correct the Summary figure or the rows so they agree.",
    ),
    "SUMMARY_BLANK": CodeSpec(
        Severity.info,
        "The Summary sheet's totals are empty, so the rows could not be cross-checked.",
        "The Summary sheet was left blank, so it could not be checked against the rows.",
        "Fill in the Summary totals next time; they catch copy-and-paste slips.",
    ),
    # The cycle
    "RETURN_LATE": CodeSpec(
        Severity.warning,
        "The return arrived after the due date for its month.",
        "Received {value}, after the due date {expected}.",
        "Send returns by the due date so payments are not delayed.",
    ),
    "RETURN_LOCKED": CodeSpec(
        Severity.error,
        "The month's return is locked: its payment run was approved, so no new version is accepted.",
        "Your return for {period} is locked since the payment run was approved on {value}.",
        "If this version corrects the paid one, ask your contract officer to unlock the month, then send it again.",
    ),
    # Against the partner's history and the other partners
    "OUTCOME_CLAIMED_BEFORE": CodeSpec(
        Severity.error,
        "An outcome is marked achieved for a participant for whom this partner already claimed it in another month.",
        "{column} is Yes for {value}, but your accepted return for {expected} already claimed it.",
        "An outcome is paid once per participant: set {column} to No in this row, or tell the alliance office if "
        "the earlier return was wrong.",
    ),
    "DUPLICATE_CLAIM": CodeSpec(
        Severity.warning,
        "The same participant id is in the accepted returns of two partners for the same month.",
        "Participant {value} is also in another partner's return for {period}.",
        "Check the participant id. If you both worked with this person, the alliance office will agree who "
        "reports them; it has been told.",
    ),
    "VOLUME_UNUSUAL": CodeSpec(
        Severity.warning,
        "The number of participants is far from the partner's own recent months.",
        "{value} participant rows this month; your last {months} accepted months had {expected} (median {median}).",
        "Check that no rows are missing or pasted twice; if the change is real, nothing to do.",
    ),
    "RATE_UNUSUAL": CodeSpec(
        Severity.warning,
        "An outcome's rate is far from the partner's own recent months.",
        "{column} achieved for {value} of participants this month; {expected} over your last {months} accepted months.",
        "Check {column} (e.g. Yes/No swapped or filled down); if the change is real, nothing to do.",
    ),
    # After acceptance
    "RETURN_SENT_BACK": CodeSpec(
        Severity.error,
        "The alliance office sent back a return it had accepted, with feedback (after a spot check or a query).",
        "The alliance office sent this return back: {value}",
        "Correct the return as the office asks and upload it again; until then it does not count for the month.",
    ),
}


# The checks only the monthly cycle can run, needing the records the self-check (`alliance validate`) does not have.
CYCLE_ONLY = {
    "an outcome already claimed for the participant in an earlier month": ("OUTCOME_CLAIMED_BEFORE",),
    "the same participant in another partner's return for the month": ("DUPLICATE_CLAIM",),
    "numbers far from your own recent months": ("VOLUME_UNUSUAL", "RATE_UNUSUAL"),
    "whether the return is late, or its month locked": ("RETURN_LATE", "RETURN_LOCKED"),
}


# Findings an officer adds after the checks accepted a return (no return's content carries them).
AFTER_ACCEPTANCE = frozenset({"RETURN_SENT_BACK"})


@dataclass(frozen=True)
class Finding:
    code: str
    sheet: str | None = None
    cell: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    # How the partner's sheets name columns and Summary items (column id -> header): the words of the message.
    names: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

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
        fields = {
            "sheet": self.sheet,
            "cell": self.cell,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            **self.params,
        }
        for key in NAMED:
            name = fields.get(key)
            if isinstance(name, str) and name in self.names:
                fields[key] = self.names[name]
        return fields

    @property
    def message(self) -> str:
        return self.spec.message.format_map(LeftBlank(self._fields()))

    def brief_message(self, limit: int = QUOTE_LIMIT) -> str:
        """The message with each text in it (a cell's value, a file name) quoted at most ``limit`` characters long:
        for a Slack message or an email, where the feedback workbook holds the rest."""
        fields = {k: shortened(v, limit) if isinstance(v, str) else v for k, v in self._fields().items()}
        return self.spec.message.format_map(LeftBlank(fields))

    @property
    def fix(self) -> str:
        return self.spec.fix.format_map(LeftBlank(self._fields()))

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


# The parameters that hold a column id or a Summary item, shown in the partner's words where names are given.
NAMED = ("column", "field")


def in_partners_words(findings: list[Finding], names: Mapping[str, str]) -> list[Finding]:
    """The findings with messages that name columns as the partner's sheet does (``Contract.framework.names``)."""
    return [replace(f, names=names) for f in findings]


class LeftBlank(dict[str, Any]):
    """Format fields where a placeholder without its value reads as "?" rather than failing."""

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
