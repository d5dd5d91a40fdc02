"""Returns that between them carry every finding in the catalogue, for the golden feedback workbooks."""

import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from openpyxl import load_workbook

from domain.contract import Contract, Partner
from domain.periods import Period
from domain.returns import MonthFigures, ReturnContext
from integrations.inbox import InboxFile
from integrations.spreadsheets import package
from tests.helpers import PARTICIPANTS_PART, clean_rows, return_bytes, rewrite_parts, summary_of, zip_of

ON_TIME = datetime(2026, 11, 3, 10, tzinfo=UTC)
LATE = datetime(2026, 11, 20, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes | None  # None: over the size limit, never read
    received_at: datetime = ON_TIME
    sender: str | None = None
    context: ReturnContext | None = None
    refused: str | None = None  # an inbox entry never read (a link, not a file, still being written)
    require_sender: bool = False  # checked as the cycle checks a file from no partner's folder (SENDER_UNKNOWN)

    def file(self) -> InboxFile:
        data = self.content or b""
        return InboxFile(
            name=f"{self.name}.xlsx",
            path=f"inbox/{self.name}.xlsx",
            received_at=self.received_at,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content=self.content,
            sender=self.sender,
            refused=self.refused,
        )

    def context_for(self) -> Callable[[Partner, Period, list[str]], ReturnContext] | None:
        context = self.context
        return None if context is None else (lambda partner, period, ids: context)


def _edit(content: bytes, change: Callable[[Any], None]) -> bytes:
    book = load_workbook(io.BytesIO(content))
    change(book)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _set_about(field: str, value: Any) -> Callable[[Any], None]:
    def change(book: Any) -> None:
        for key, cell in book["About"].iter_rows(min_col=1, max_col=2):
            if key.value == field:
                cell.value = value

    return change


def row_problems(contract: Contract) -> Case:
    """One return with every problem a row, a column, the Summary or the records can have."""
    rows = clean_rows(14)
    rows[1]["complexity_band"] = "hard"
    rows[2]["into_work"] = "maybe"
    rows[3]["referral_date"] = "31/02/2026"
    rows[4]["referral_date"] = date(2026, 11, 2)
    rows[5]["referral_date"] = date(1926, 10, 1)
    rows[6]["referral_date"] = "01/10/26"
    rows[7]["wellbeing_up"] = None
    rows[8]["participant_id"] = "P000"
    rows[9]["postcode_district"] = "NF1 2AB"
    rows[10]["housing_sustained"] = "#N/A"
    rows[11]["into_work"] = "=1+1"  # becomes a formula never calculated below
    rows[12]["housing_sustained"] = "Yes"  # claimed by this partner in June already
    rows[13]["participant_id"] = '=HYPERLINK("http://evil.example","P013")'  # text, never a formula
    summary = {**summary_of(rows), "participants": 99}
    content = return_bytes(contract, rows=rows, summary=summary, extra_column=("notes", ["own note"]))
    content = rewrite_parts(
        content, {PARTICIPANTS_PART: lambda x: re.sub(rb'<c r="E13"[^>]*>.*?</c>', b'<c r="E13"><f>1+1</f><v/></c>', x)}
    )

    def columns_and_summary(book: Any) -> None:
        sheet = book["Participants"]
        sheet.cell(row=1, column=9).value = "Into work"  # the same column again
        summary = book["Summary"]
        summary.cell(row=summary.max_row + 1, column=1).value = "participants"
        summary.cell(row=summary.max_row, column=2).value = 15

    content = _edit(content, columns_and_summary)
    usual = {"housing_sustained": 10, "into_work": 0, "wellbeing_up": 110}
    history = tuple(MonthFigures(period=f"2026-0{m}", rows=120, achieved=usual) for m in (9, 8, 7))
    context = ReturnContext(
        claimed_in_other_months={"P012": {"housing_sustained": "2026-06"}},
        claimed_elsewhere=frozenset({"P002"}),
        history=history,
        locked_on=date(2026, 11, 18),  # an officer approved October's payment run
    )
    return Case("row-problems", content, received_at=LATE, sender="city-mind", context=context)


def about_problems(contract: Contract) -> list[Case]:
    base = return_bytes(contract)
    future = return_bytes(contract, period=Period(2026, 12), rows=clean_rows(period=Period(2026, 12)))
    return [
        Case("other-alliance", _edit(base, _set_about("alliance", "Southfield Alliance"))),
        Case("old-framework", _edit(_edit(base, _set_about("framework_version", 0)), _set_about("alliance", None))),
        Case("edited-about", _edit(base, _set_about("template_id", "0123456789ab"))),
        Case(
            "unknown-partner", _edit(_edit(base, _set_about("partner_id", "someone")), _set_about("period", "2025-01"))
        ),
        Case("future-month", future),
        Case(
            "no-rows", _edit(return_bytes(contract, rows=[], summary=None), lambda b: b["Participants"].delete_cols(3))
        ),
        Case("blank-summary", return_bytes(contract, summary=None)),
    ]


def refusals(contract: Contract) -> list[Case]:
    clean = return_bytes(contract)
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'

    def without_about(book: Any) -> None:
        del book["About"]

    def not_a_return(book: Any) -> None:
        for name in ("About", "Participants"):
            del book[name]

    return [
        Case("empty", b""),
        Case("csv", b"participant_id,referral_date\nP1,01/10/2026\n"),
        Case("pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4),
        Case("legacy", package.OLE_MAGIC + b"\0" * 1000),
        Case("encrypted", package.OLE_MAGIC + b"\0" * 100 + package.ENCRYPTED_STREAM + b"\0" * 100),
        Case("ods", zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})),
        Case("xlsb", zip_of({"xl/workbook.bin": b"\0", "[Content_Types].xml": b"<x/>"})),
        Case("macros", rewrite_parts(clean, {}, add={"xl/vbaProject.bin": b"macro"})),
        Case("truncated", clean[: len(clean) // 2]),
        Case("oversized", None),
        Case(
            "bomb", zip_of({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\0" * (50 * 1024 * 1024)})
        ),
        Case("not-a-return", _edit(clean, not_a_return)),
        Case("no-about", _edit(clean, without_about)),
        Case("huge-sheet", rewrite_parts(clean, {PARTICIPANTS_PART: lambda x: x.replace(b"</sheetData>", far)})),
        Case("link", b"FILE_SYMLINK: 'inbox/link.xlsx' to '/etc/passwd'", refused="FILE_SYMLINK"),
        Case("folder", b"FILE_NOT_REGULAR: 'inbox/folder.xlsx'", refused="FILE_NOT_REGULAR"),
        Case("still-writing", b"FILE_CHANGING: 'inbox/still-writing.xlsx'", refused="FILE_CHANGING"),
        Case(
            "in-subfolder",
            b"FILE_IN_SUBFOLDER: 'inbox/harbour-trust/old/in-subfolder.xlsx'",
            refused="FILE_IN_SUBFOLDER",
        ),
        Case("long-id", return_bytes(contract, rows=_long_id_rows())),
        Case("no-sender", return_bytes(contract), require_sender=True),
    ]


def _long_id_rows() -> list[dict[str, Any]]:
    rows = clean_rows()
    rows[1]["participant_id"] = "P" * 65  # beyond what the records keep (domain/return_layout.TEXT_LIMITS)
    return rows
