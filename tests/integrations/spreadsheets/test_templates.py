"""Templates: what a partner sees, and the limits past which Excel offers to 'repair' a workbook."""

import io

from openpyxl import load_workbook

from domain import return_layout as layout
from domain.contract import Contract
from expectations.returns import validate_return
from integrations.spreadsheets.reader import read_return
from integrations.spreadsheets.templates import build_template, template_id
from tests.helpers import OCTOBER


def saved(contract: Contract) -> bytes:
    buffer = io.BytesIO()
    build_template(contract, contract.partners[0], OCTOBER).save(buffer)
    return buffer.getvalue()


def test_the_about_sheet_is_locked_and_says_whose_template_it_is(contract: Contract) -> None:
    book = load_workbook(io.BytesIO(saved(contract)))
    about = book[layout.ABOUT]
    values = {about.cell(row=r, column=1).value: about.cell(row=r, column=2).value for r in range(1, 8)}
    partner = contract.partners[0]
    assert values == {
        "alliance": contract.alliance.name,
        "partner_id": partner.id,
        "partner_name": partner.name,
        "period": "2026-10",
        "framework_version": contract.framework.version,
        "template_id": template_id(contract, partner, OCTOBER),
        "template_format": layout.TEMPLATE_FORMAT,
    }
    assert about.protection.sheet


def test_the_participants_sheet_guides_entry(contract: Contract) -> None:
    sheet = load_workbook(io.BytesIO(saved(contract)))[layout.PARTICIPANTS]
    assert [c.value for c in sheet[1]] == [
        "Participant ID",
        "Referral date",
        "Complexity band",
        *(m.label for m in contract.framework.measures),
        "Postcode district",
    ]
    assert sheet.freeze_panes == "A2"
    lists = {dv.formula1 for dv in sheet.data_validations.dataValidation if dv.type == "list"}
    assert '"Yes,No"' in lists and f'"{",".join(contract.framework.bands)}"' in lists
    assert (
        sheet["B2"].number_format == "DD/MM/YYYY"
        and sheet[f"B{layout.TEMPLATE_ROWS + 1}"].number_format == "DD/MM/YYYY"
    )
    assert all(sheet.column_dimensions[c].width >= 14 for c in "ABCDEF")


def test_data_validations_stay_within_excels_limits(contract: Contract) -> None:
    # Past these, Excel reports unreadable content and drops the validation.
    sheet = load_workbook(io.BytesIO(saved(contract)))[layout.PARTICIPANTS]
    for validation in sheet.data_validations.dataValidation:
        assert len(validation.prompt or "") <= 255
        assert len(validation.promptTitle or "") <= 32
        if validation.type == "list":
            assert len(validation.formula1) - 2 <= 255


def test_an_empty_template_is_identified_and_asks_for_rows(contract: Contract) -> None:
    result = read_return("t.xlsx", saved(contract))
    assert result.raw is not None
    validated = validate_return(result.raw, contract)
    assert validated.partner == contract.partners[0]
    assert [f.code for f in validated.findings] == ["NO_ROWS"]
