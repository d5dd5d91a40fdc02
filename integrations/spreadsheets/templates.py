"""Return templates: one workbook per partner per period, generated from the framework."""

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from domain import return_layout as layout
from domain.contract import Contract, Partner
from domain.findings import catalogue_rows
from domain.periods import Period
from integrations.spreadsheets.cells import set_text, set_value

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
BOLD = Font(bold=True)


def template_id(contract: Contract, partner: Partner, period: Period) -> str:
    return layout.template_id(
        alliance=contract.alliance.name,
        partner_id=partner.id,
        period=str(period),
        framework_version=str(contract.framework.version),
    )


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def build_template(contract: Contract, partner: Partner, period: Period) -> Workbook:
    framework = contract.framework
    book = Workbook()
    about = book.active
    assert about is not None
    about.title = layout.ABOUT
    values = {
        "alliance": contract.alliance.name,
        "partner_id": partner.id,
        "partner_name": partner.name,
        "period": str(period),
        "framework_version": framework.version,
        "template_id": template_id(contract, partner, period),
        "template_format": layout.TEMPLATE_FORMAT,
    }
    for row, key in enumerate(layout.ABOUT_FIELDS, start=1):
        set_text(about.cell(row=row, column=1), key)
        about.cell(row=row, column=1).font = BOLD
        set_value(about.cell(row=row, column=2), values[key])
    set_text(
        about.cell(row=len(layout.ABOUT_FIELDS) + 2, column=1),
        "Do not edit this sheet: it tells the alliance whose return this is.",
    )
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 40
    about.protection.sheet = True

    sheet = book.create_sheet(layout.PARTICIPANTS)
    labels = {m.id: m.label for m in framework.measures}
    guidance = {
        "participant_id": "Your pseudonymous id for the participant; one row each.",
        "referral_date": "Date referred to you, day/month/year.",
        "complexity_band": f"One of: {', '.join(framework.bands)}.",
        "postcode_district": "Optional, e.g. NF1.",
    }
    last = layout.TEMPLATE_ROWS + 1
    for index, column in enumerate(framework.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        set_text(cell, column)
        cell.font = BOLD
        cell.fill = HEADER_FILL
        note = guidance.get(column) or f"{labels[column]}: Yes or No (achieved this month)."
        cell.comment = Comment(note, "Alliance")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(column) + 4)
        span = f"{letter}2:{letter}{last}"
        if column == "referral_date":
            validation = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True)
            validation.prompt, validation.promptTitle = guidance[column], "Referral date"
            for row in range(2, last + 1):
                sheet.cell(row=row, column=index).number_format = "DD/MM/YYYY"
        elif column == "complexity_band":
            validation = DataValidation(type="list", formula1=f'"{",".join(framework.bands)}"', allow_blank=True)
            validation.prompt, validation.promptTitle = guidance[column], "Complexity band"
        elif column in labels:
            validation = DataValidation(type="list", formula1='"Yes,No"', allow_blank=True)
            validation.prompt, validation.promptTitle = labels[column][:255], "Yes or No"
        else:
            continue
        validation.showInputMessage = True
        validation.add(span)
        sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    summary = book.create_sheet(layout.SUMMARY)
    for index, heading in enumerate(("item", "value", "what to enter"), start=1):
        set_text(summary.cell(row=1, column=index), heading)
        summary.cell(row=1, column=index).font = BOLD
    items = [(layout.SUMMARY_PARTICIPANTS, "Number of participant rows")]
    items += [(m.id, f"Number of participants achieving: {m.label}") for m in framework.measures]
    for row, (key, text) in enumerate(items, start=2):
        set_text(summary.cell(row=row, column=1), key)
        set_text(summary.cell(row=row, column=3), text)
        summary.cell(row=row, column=2).protection = Protection(locked=False)
    summary.column_dimensions["A"].width = 22
    summary.column_dimensions["C"].width = 60

    guide = book.create_sheet(layout.GUIDANCE)
    lines = [
        f"{contract.alliance.name}: monthly return for {partner.name}, {period}",
        f"Due by the {_ordinal(contract.deadlines.due_day)} of the following month.",
        "",
        "One row per participant you worked with this month on the Participants sheet.",
        "Outcome measures (Yes if achieved this month):",
        *[f"  {m.id}: {m.label} (weight {m.weight})" for m in framework.measures],
        "Complexity bands (points multiplier):",
        *[f"  {name}: x{multiplier}" for name, multiplier in framework.bands.items()],
        "Fill in the Summary totals; they are checked against your rows.",
    ]
    for row, line in enumerate(lines, start=1):
        set_text(guide.cell(row=row, column=1), line)
    _write_catalogue(guide, first_row=len(lines) + 2)
    book.active = 1
    return book


def _write_catalogue(guide: Worksheet, first_row: int) -> None:
    """Every finding the alliance can report, so a partner can look up a code from their feedback."""
    set_text(guide.cell(row=first_row, column=1), "What the checks can report (the codes in your feedback):")
    guide.cell(row=first_row, column=1).font = BOLD
    for column, heading in enumerate(("code", "severity", "meaning", "how to fix"), start=1):
        set_text(guide.cell(row=first_row + 1, column=column), heading)
        guide.cell(row=first_row + 1, column=column).font = BOLD
    for row, entry in enumerate(catalogue_rows(), start=first_row + 2):
        for column, text in enumerate(entry, start=1):
            set_text(guide.cell(row=row, column=column), text)
    # Column A is narrow: the guidance lines above overflow into the empty cells beside them.
    for letter, width in (("A", 26), ("B", 10), ("C", 70), ("D", 70)):
        guide.column_dimensions[letter].width = width


def write_templates(contract: Contract, period: Period, folder: Path) -> list[Path]:
    target = folder / str(period)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        path = target / f"{partner.id}-{period}.xlsx"
        build_template(contract, partner, period).save(path)
        written.append(path)
    return written
