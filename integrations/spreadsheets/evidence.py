"""The evidence pack for a flagged partner: a workbook the board and the partner read side by side.

Sheets: Summary (the figures, the rule and why it applied), Funnel plot (the PNG with the partner
marked), Monthly trend, Case mix (the partner's bands against the alliance's), Data quality
(every version filed: on time or late, accepted or rejected, corrections), Method.
"""

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from domain.performance import MonthPoint
from integrations.spreadsheets.cells import set_text, set_value

BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
RATIO = "0.00"
PERCENT = "0.0%"


@dataclass(frozen=True)
class QualityRow:
    period: str
    version: int
    filename: str
    received: str  # dd/mm/yyyy
    on_time: bool | None
    status: str  # accepted | rejected | superseded | ...
    errors: int
    warnings: int


@dataclass(frozen=True)
class EvidencePack:
    alliance: str
    partner_id: str
    partner_name: str
    year_label: str  # "contract year 1 (2026-04 to 2027-03)"
    standing: str
    reason: str
    rule: str
    figures: Sequence[tuple[str, float | int | str | None, str]]  # label, value, number format
    trend: Sequence[MonthPoint]
    case_mix: Sequence[tuple[str, int, int]]  # band, partner rows, alliance rows
    quality: Sequence[QualityRow]
    method: Sequence[str]
    reply_closes: str
    funnel_png: bytes


def write_evidence_pack(pack: EvidencePack, path: Path) -> Path:
    """Write the workbook atomically (a reader never sees half a file)."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    _summary(summary, pack)
    _funnel(book.create_sheet("Funnel plot"), pack)
    _trend(book.create_sheet("Monthly trend"), pack)
    _case_mix(book.create_sheet("Case mix"), pack)
    _quality(book.create_sheet("Data quality"), pack)
    _method(book.create_sheet("Method"), pack)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    book.save(partial)
    os.replace(partial, path)
    return path


def _header(sheet: Worksheet, row: int, titles: Sequence[str]) -> None:
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(row=row, column=column)
        set_text(cell, title)
        cell.font = BOLD


def _summary(sheet: Worksheet, pack: EvidencePack) -> None:
    sheet.column_dimensions["A"].width = 42
    sheet.column_dimensions["B"].width = 70
    rows: list[tuple[str, str]] = [
        ("Alliance", pack.alliance),
        ("Partner", f"{pack.partner_name} ({pack.partner_id})"),
        ("Review", pack.year_label),
        ("Standing", pack.standing),
        ("Why", pack.reason),
        ("Rule", pack.rule),
        ("Right of reply", f"until {pack.reply_closes}: alliance review reply --partner {pack.partner_id} ..."),
    ]
    title = sheet.cell(row=1, column=1)
    set_text(title, f"Evidence pack: {pack.partner_name}")
    title.font = Font(bold=True, size=14)
    row = 3
    for label, text in rows:
        set_text(sheet.cell(row=row, column=1), label)
        sheet.cell(row=row, column=1).font = BOLD
        set_text(sheet.cell(row=row, column=2), text)
        sheet.cell(row=row, column=2).alignment = WRAP
        row += 1
    row += 1
    _header(sheet, row, ["Figure", "Value"])
    for label, value, number_format in pack.figures:
        row += 1
        set_text(sheet.cell(row=row, column=1), label)
        cell = sheet.cell(row=row, column=2)
        set_value(cell, value if value is not None else "n/a")
        if number_format and value is not None:
            cell.number_format = number_format
        cell.alignment = Alignment(horizontal="left")


def _funnel(sheet: Worksheet, pack: EvidencePack) -> None:
    set_text(sheet.cell(row=1, column=1), f"{pack.partner_name} (red diamond) among the alliance's partners")
    sheet.cell(row=1, column=1).font = BOLD
    image = Image(io.BytesIO(pack.funnel_png))
    sheet.add_image(image, "A3")


def _trend(sheet: Worksheet, pack: EvidencePack) -> None:
    _header(sheet, 1, ["Month", "Participants", "Observed (O)", "Expected (E)", "O/E"])
    for row, t in enumerate(pack.trend, start=2):
        set_text(sheet.cell(row=row, column=1), str(t.period))
        sheet.cell(row=row, column=2, value=t.rows)
        sheet.cell(row=row, column=3, value=round(t.observed, 2))
        sheet.cell(row=row, column=4, value=round(t.expected, 2))
        ratio = sheet.cell(row=row, column=5, value=t.ratio)
        ratio.number_format = RATIO
    for column, width in zip("ABCDE", (12, 14, 14, 14, 10), strict=True):
        sheet.column_dimensions[column].width = width


def _case_mix(sheet: Worksheet, pack: EvidencePack) -> None:
    _header(sheet, 1, ["Complexity band", "Partner rows", "Partner share", "Alliance rows", "Alliance share"])
    partner_total = sum(r[1] for r in pack.case_mix) or 1
    alliance_total = sum(r[2] for r in pack.case_mix) or 1
    for row, (band, partner_rows, alliance_rows) in enumerate(pack.case_mix, start=2):
        set_text(sheet.cell(row=row, column=1), band)
        sheet.cell(row=row, column=2, value=partner_rows)
        sheet.cell(row=row, column=3, value=partner_rows / partner_total).number_format = PERCENT
        sheet.cell(row=row, column=4, value=alliance_rows)
        sheet.cell(row=row, column=5, value=alliance_rows / alliance_total).number_format = PERCENT
    for column, width in zip("ABCDE", (18, 14, 14, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width


def _quality(sheet: Worksheet, pack: EvidencePack) -> None:
    titles = ["Month", "Version", "File", "Received", "On time", "Status", "Errors", "Warnings"]
    _header(sheet, 1, titles)
    for row, q in enumerate(pack.quality, start=2):
        on_time = "n/a" if q.on_time is None else ("yes" if q.on_time else "late")
        values: list[object] = [q.period, q.version, q.filename, q.received, on_time, q.status, q.errors, q.warnings]
        for column, value in enumerate(values, start=1):
            set_value(sheet.cell(row=row, column=column), value)
    last = len(pack.quality) + 3
    late = sum(1 for q in pack.quality if q.on_time is False)
    rejected = sum(1 for q in pack.quality if q.status == "rejected")
    corrected = sum(1 for q in pack.quality if q.version > 1)
    summary = f"{len(pack.quality)} version(s) filed: {late} late, {rejected} rejected, {corrected} correction(s)"
    set_text(sheet.cell(row=last, column=1), summary)
    for letter, width in zip("ABCDEFGH", (10, 9, 36, 12, 9, 12, 8, 9), strict=True):
        sheet.column_dimensions[letter].width = width


def _method(sheet: Worksheet, pack: EvidencePack) -> None:
    sheet.column_dimensions["A"].width = 120
    for row, line in enumerate(pack.method, start=1):
        cell = sheet.cell(row=row, column=1)
        set_text(cell, line)
        cell.alignment = WRAP


EVIDENCE_TABLES = ("Monthly trend", "Case mix", "Data quality")


def read_tables(path: Path) -> dict[str, list[list[object]]]:
    """The pack's tables as written (header row first), for a page to show what the workbook says; an unreadable
    pack gives none."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 (a pack that is not a workbook: the page links to it and shows no tables)
        return {}
    try:
        tables = {}
        for name in EVIDENCE_TABLES:
            if name in book.sheetnames:
                rows = [list(row) for row in book[name].iter_rows(values_only=True, max_row=500, max_col=12)]
                tables[name] = [row for row in rows if any(value is not None for value in row)]
        return tables
    finally:
        book.close()
