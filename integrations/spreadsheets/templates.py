"""Return templates: one workbook per partner per period, generated from the framework."""

import json
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from domain import return_layout as layout
from domain.contract import OPTIONAL_FIELDS, Contract, Partner
from domain.findings_guide import GuidanceSection, guidance_sections
from domain.periods import Period, due_date, earliest_referral, format_day
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


def build_template(contract: Contract, partner: Partner, period: Period, *, portal_url: str | None = None) -> Workbook:
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
    headers = framework.headers
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
        set_text(cell, headers[column])
        cell.font = BOLD
        cell.fill = HEADER_FILL
        note = guidance.get(column) or f"{labels[column]}: Yes or No (achieved this month)."
        cell.comment = Comment(note, "Alliance")
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = min(40, max(14, len(headers[column]) + 4))
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
    # Which header is which column id, for filling the template in by id (integrations.spreadsheets.filler).
    names = json.dumps(framework.names)
    book.custom_doc_props.append(StringProperty(name=layout.COLUMNS_PROPERTY, value=names))

    summary = book.create_sheet(layout.SUMMARY)
    for index, heading in enumerate(("item", "value", "what to enter"), start=1):
        set_text(summary.cell(row=1, column=index), heading)
        summary.cell(row=1, column=index).font = BOLD
    items = [(layout.SUMMARY_PARTICIPANTS, "Number of participant rows")]
    items += [(m.id, "Number of participant rows with Yes for this outcome") for m in framework.measures]
    shown = framework.summary_items
    for row, (key, text) in enumerate(items, start=2):
        set_text(summary.cell(row=row, column=1), shown[key])
        set_text(summary.cell(row=row, column=3), text)
        summary.cell(row=row, column=2).protection = Protection(locked=False)
    summary.column_dimensions["A"].width = max(22, *(len(text) + 2 for text in shown.values()))
    summary.column_dimensions["C"].width = 60

    _write_guidance(book.create_sheet(layout.GUIDANCE), contract, partner, period, portal_url)
    book.active = 1
    return book


def _month(period: Period) -> str:
    return period.first_day.strftime("%B %Y")


def _day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def how_to_send(contract: Contract, portal_url: str | None) -> list[str]:
    """The ways a return reaches the alliance, as the contract and the portal's address give them."""
    ways = []
    if portal_url:
        ways.append(f"Upload it in the portal: {portal_url.rstrip('/')}/ (sign in, then 'Upload a return').")
    if contract.alliance.returns_email:
        email = f"mail it, as an attachment, to {contract.alliance.returns_email}."
        ways.append(f"Or e{email}" if ways else f"E{email}")
    if not ways:
        ways.append(f"Send it to {contract.alliance.name}'s office the way your contract officer asked.")
    return ways


def _write_guidance(guide: Worksheet, contract: Contract, partner: Partner, period: Period, portal: str | None) -> None:
    framework = contract.framework
    headers = framework.headers
    due = due_date(period, contract.deadlines.due_day)
    required = [headers[c] for c in framework.columns if c not in OPTIONAL_FIELDS]
    lines = [
        (f"{contract.alliance.name}: monthly return for {partner.name}, {_month(period)}", True),
        (f"Send it by {_day(due)}.", True),
        *[(f"  {way}", False) for way in how_to_send(contract, portal)],
        ("You get feedback within minutes: each problem found, the cell it is in and how to fix it.", False),
        ("", False),
        (f"On the Participants sheet, one row for each participant you worked with in {_month(period)}:", True),
        (f"  {headers['participant_id']}: your own id for the participant (not a name); once each.", False),
        (f"  {headers['referral_date']}: the day they were referred to you, as day/month/year.", False),
        (f"  {headers['complexity_band']}: one of {', '.join(framework.bands)}.", False),
        *[(f"  {m.label}: Yes if achieved this month, otherwise No.", False) for m in framework.measures],
        (f"  {headers['postcode_district']}: optional, the first half of the postcode only (e.g. NF12).", False),
        ("On the Summary sheet, the number of rows and of Yes in each outcome column: they are checked.", False),
    ]
    for row, (line, bold) in enumerate(lines, start=1):
        set_text(guide.cell(row=row, column=1), line)
        guide.cell(row=row, column=1).font = BOLD if bold else Font()
    fill = {
        "column": "that column",
        "allowed": ", ".join(framework.bands),
        "period": _month(period),
        "earliest": format_day(earliest_referral(contract.alliance.start)),
        "field": "that item",
    }
    fill_for = {"VALUE_REQUIRED": {"column": " and ".join([", ".join(required[:-1]), required[-1]])}}
    _write_catalogue(guide, first_row=len(lines) + 2, sections=guidance_sections(fill, fill_for))


def _write_catalogue(guide: Worksheet, first_row: int, sections: list[GuidanceSection]) -> None:
    """What the checks can report, the partner's usual mistakes first, so a code from the feedback can be looked up."""
    set_text(guide.cell(row=first_row, column=1), "What the checks can find, and how to put it right:")
    guide.cell(row=first_row, column=1).font = BOLD
    row = first_row + 1
    for section in sections:
        row += 1
        set_text(guide.cell(row=row, column=1), section.title)
        guide.cell(row=row, column=1).font = BOLD
        row += 1
        for column, heading in enumerate(("what we found", "how to fix it", "stops the return?", "code"), start=1):
            set_text(guide.cell(row=row, column=column), heading)
            guide.cell(row=row, column=column).font = BOLD
        for entry in section.rows:
            row += 1
            for column, text in enumerate(entry, start=1):
                set_text(guide.cell(row=row, column=column), text)
    # Column A is wide enough for the findings; the guidance lines above overflow into the empty cells beside them.
    for letter, width in (("A", 60), ("B", 70), ("C", 18), ("D", 26)):
        guide.column_dimensions[letter].width = width


def template_path(folder: Path, partner: Partner, period: Period) -> Path:
    return folder / str(period) / f"{partner.id}-{period}.xlsx"


def write_templates(
    contract: Contract,
    period: Period,
    folder: Path,
    *,
    portal_url: str | None = None,
    partners: list[Partner] | None = None,
) -> list[Path]:
    target = folder / str(period)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for partner in sorted(partners if partners is not None else contract.partners, key=lambda p: p.id):
        path = template_path(folder, partner, period)
        build_template(contract, partner, period, portal_url=portal_url).save(path)
        written.append(path)
    return written
