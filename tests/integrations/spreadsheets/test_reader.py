import io
import re
from datetime import date, datetime
from typing import Any

import pytest
import xlsxwriter
from openpyxl import Workbook

from domain.contract import Contract
from domain.returns import ParticipantRow
from expectations.returns import validate_return
from integrations.spreadsheets.reader import read_return
from integrations.spreadsheets.templates import build_template, template_id
from tests.helpers import OCTOBER, PARTICIPANTS_PART, clean_rows, return_bytes, rewrite_parts, summary_of


def rows_of(contract: Contract, content: bytes) -> list[ParticipantRow]:
    result = read_return("r.xlsx", content)
    assert result.raw is not None, result.findings
    validated = validate_return(result.raw, contract)
    assert validated.accepted, validated.findings
    return validated.rows


def codes_at(contract: Contract, content: bytes) -> list[tuple[str, str | None]]:
    result = read_return("r.xlsx", content, headers=contract.framework.header_aliases)
    assert result.raw is not None, result.findings
    validated = validate_return(result.raw, contract)
    return [(f.code, f.cell) for f in result.findings + validated.findings]


def xlsxwriter_return(contract: Contract, rows: list[dict[str, Any]], partner_id: str = "harbour-trust") -> bytes:
    """The same return written by another library: shared strings, its own styles and part layout."""
    partner = contract.partner(partner_id)
    assert partner is not None
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    about = book.add_worksheet("About")
    values = {
        "alliance": contract.alliance.name,
        "partner_id": partner.id,
        "partner_name": partner.name,
        "period": str(OCTOBER),
        "framework_version": contract.framework.version,
        "template_id": template_id(contract, partner, OCTOBER),
        "template_format": 1,
    }
    for index, (key, value) in enumerate(values.items()):
        about.write_string(index, 0, key)
        about.write(index, 1, value)
    sheet = book.add_worksheet("Participants")
    dates = book.add_format({"num_format": "dd/mm/yyyy"})
    headers = contract.framework.columns
    for column, name in enumerate(headers):
        sheet.write_string(0, column, name)
    for index, row in enumerate(rows, start=1):
        for column, name in enumerate(headers):
            value = row.get(name)
            if isinstance(value, date):
                sheet.write_datetime(index, column, datetime.combine(value, datetime.min.time()), dates)
            elif value is not None:
                sheet.write(index, column, value)
    summary = book.add_worksheet("Summary")
    for index, (key, value) in enumerate(summary_of(rows).items(), start=1):
        summary.write_string(index, 0, key)
        summary.write_formula(index, 1, f"={value}", None, value)  # a formula with its cached result
    book.close()
    return buffer.getvalue()


def test_a_return_written_by_xlsxwriter_reads_as_the_same_rows(contract: Contract) -> None:
    rows = clean_rows(12)
    assert rows_of(contract, xlsxwriter_return(contract, rows)) == rows_of(contract, return_bytes(contract, rows=rows))


def test_honest_variations_read_as_the_same_rows(contract: Contract) -> None:
    rows = clean_rows(8)
    varied = [dict(r) for r in rows]
    varied[0].update(referral_date="01/10/2026", housing_sustained="Y", into_work="N")
    varied[1].update(referral_date="2026-10-01", into_work=False, wellbeing_up="TRUE")
    varied[2].update(referral_date="1 Oct 2026", participant_id="\u00a0P002 ", complexity_band="Very-Complex")
    varied[3].update(referral_date=datetime(2026, 10, 1, 9, 30), housing_sustained=" no ", into_work="0")
    varied[4].update(participant_id="P004\u200b", housing_sustained=True, into_work="false", wellbeing_up=1)
    content = return_bytes(contract, rows=varied, summary=summary_of(rows), blank_rows_after=[1, 4])
    assert rows_of(contract, content) == rows_of(contract, return_bytes(contract, rows=rows))


def test_ids_and_summary_figures_typed_as_numbers_or_text_read_alike(contract: Contract) -> None:
    rows = [dict(r, participant_id=1000 + n) for n, r in enumerate(clean_rows(3))]
    as_text = [dict(r, participant_id=str(r["participant_id"])) for r in rows]
    summary = {k: str(v) for k, v in summary_of(rows).items()}
    assert rows_of(contract, return_bytes(contract, rows=rows, summary=summary)) == rows_of(
        contract, return_bytes(contract, rows=as_text)
    )


def test_headers_are_matched_whatever_their_case_and_spacing(contract: Contract) -> None:
    book = build_template(contract, contract.partners[0], OCTOBER)
    sheet = book["Participants"]
    sheet["A1"].value, sheet["B1"].value = "Participant ID", " referral-date "
    partner_rows = rows_of(contract, return_bytes_from(book, clean_rows()))
    assert [r.participant_id for r in partner_rows] == ["P000", "P001", "P002", "P003"]


def return_bytes_from(book: Workbook, rows: list[dict[str, Any]]) -> bytes:
    from integrations.spreadsheets.filler import fill_return

    headers = [c.value for c in book["Participants"][1]]
    renamed = [dict(zip(headers, r.values(), strict=False)) for r in rows]
    return fill_return(book, renamed, summary=summary_of(rows))


def test_a_column_twice_is_a_finding_not_a_silent_choice(contract: Contract) -> None:
    rows = clean_rows()
    content = return_bytes(contract, rows=rows, extra_column=("Into Work", ["Yes"] * len(rows)))
    assert ("COLUMN_DUPLICATE", "H1") in codes_at(contract, content)


def test_the_rows_are_all_read_when_the_dimension_tag_lies(contract: Contract) -> None:
    rows = clean_rows(40)
    content = return_bytes(contract, rows=rows)
    for ref in ("A1", "A1:B2", "A1:XFD1048576"):
        lying = rewrite_parts(
            content,
            {
                PARTICIPANTS_PART: lambda x, r=ref: re.sub(
                    rb'<dimension ref="[^"]+"', f'<dimension ref="{r}"'.encode(), x
                )
            },
        )
        assert len(rows_of(contract, lying)) == 40


def test_a_cell_far_beyond_the_limits_is_refused_without_loading_the_sheet(contract: Contract) -> None:
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    content = rewrite_parts(return_bytes(contract), {PARTICIPANTS_PART: lambda x: x.replace(b"</sheetData>", far)})
    result = read_return("r.xlsx", content)
    assert result.raw is None
    assert [(f.code, f.sheet) for f in result.findings] == [("SHEET_TOO_LARGE", "Participants")]


def test_formulas_never_calculated_and_error_cells_are_findings_at_their_cells(contract: Contract) -> None:
    rows = clean_rows()
    rows[0]["into_work"] = '=IF(TRUE,"Yes","No")'
    rows[1]["into_work"] = "#REF!"
    book = build_template(contract, contract.partners[0], OCTOBER)
    from integrations.spreadsheets.filler import fill_return

    content = fill_return(book, rows, summary=summary_of(clean_rows()))
    # fill_return writes text, never formulas; make E2 a real formula with no cached value, as openpyxl writes them.
    content = rewrite_parts(
        content,
        {
            PARTICIPANTS_PART: lambda x: re.sub(
                rb'<c r="E2"[^>]*>.*?</c>', b'<c r="E2"><f>IF(TRUE,"Yes","No")</f><v/></c>', x
            )
        },
    )
    found = codes_at(contract, content)
    assert ("FORMULA_NO_VALUE", "E2") in found and ("CELL_ERROR", "E3") in found


def test_an_error_in_a_notes_column_is_ignored_with_the_column(contract: Contract) -> None:
    rows = clean_rows()
    content = return_bytes(contract, rows=rows, extra_column=("notes", ["#N/A", "fine", "", ""]))
    assert codes_at(contract, content) == [("COLUMN_EXTRA", "H1")]


def test_a_workbook_that_is_not_a_return_says_so() -> None:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    assert [f.code for f in read_return("r.xlsx", buffer.getvalue()).findings] == ["NOT_A_RETURN"]


def test_a_return_missing_one_sheet_names_it(contract: Contract) -> None:
    book = build_template(contract, contract.partners[0], OCTOBER)
    del book["About"]
    buffer = io.BytesIO()
    book.save(buffer)
    result = read_return("r.xlsx", buffer.getvalue())
    assert [(f.code, f.sheet) for f in result.findings] == [("SHEET_MISSING", "About")]


def test_a_two_digit_year_is_ambiguous_not_guessed(contract: Contract) -> None:
    rows = clean_rows()
    rows[2]["referral_date"] = "01/10/26"
    assert ("DATE_AMBIGUOUS", "B4") in codes_at(contract, return_bytes(contract, rows=rows))


def test_a_date_typed_as_a_bare_number_is_not_guessed(contract: Contract) -> None:
    rows = clean_rows()
    rows[1]["referral_date"] = 46296  # 2026-10-01 as a serial number, in a cell whose date format was cleared
    content = return_bytes(contract, rows=rows)
    unformatted = rewrite_parts(content, {PARTICIPANTS_PART: lambda x: re.sub(rb'<c r="B3" s="\d+"', b'<c r="B3"', x)})
    assert ("DATE_INVALID", "B3") in codes_at(contract, unformatted)
    assert rows_of(contract, content) == rows_of(contract, return_bytes(contract))  # formatted: a date


def test_size_hints_in_shared_strings_are_not_trusted(contract: Contract) -> None:
    content = xlsxwriter_return(contract, clean_rows())  # xlsxwriter writes a shared-strings table
    hinted = rewrite_parts(
        content,
        {
            "xl/sharedStrings.xml": lambda x: re.sub(
                rb'count="\d+" uniqueCount="\d+"', b'count="100000000000" uniqueCount="100000000000"', x
            )
        },
    )
    assert rows_of(contract, hinted) == rows_of(contract, content)


def test_a_workbook_counting_dates_from_1904_reads_the_same_dates(contract: Contract) -> None:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    book = build_template(contract, contract.partners[0], OCTOBER)
    book.epoch = CALENDAR_MAC_1904
    from integrations.spreadsheets.filler import fill_return

    content = fill_return(book, clean_rows(), summary=summary_of(clean_rows()))
    import zipfile

    workbook_xml = zipfile.ZipFile(io.BytesIO(content)).read("xl/workbook.xml")
    assert re.search(rb'date1904="(1|true)"', workbook_xml), workbook_xml[:300]  # dates stored from 1904
    assert rows_of(contract, content) == rows_of(contract, return_bytes(contract))


def test_a_summary_line_given_twice_is_a_finding_not_last_one_wins(contract: Contract) -> None:
    book = build_template(contract, contract.partners[0], OCTOBER)
    book["Summary"]["A9"].value, book["Summary"]["B9"].value = "participants", 9
    from integrations.spreadsheets.filler import fill_return

    content = fill_return(book, clean_rows(), summary=summary_of(clean_rows()))
    assert ("KEY_REPEATED", "A9") in codes_at(contract, content)


@pytest.mark.parametrize("last_row", [20_001, 20_002])
def test_the_row_limit_counts_rows_of_data_below_the_header(contract: Contract, last_row: int) -> None:
    """Issue 31, case 13: 20,000 rows of data (sheet row 20,001 with the header) are within the limit; one more is
    not, and the finding says so in rows of data. The far row is written into the sheet's XML (no big workbook)."""
    far = f'<row r="{last_row}"><c r="A{last_row}" t="inlineStr"><is><t>P-far</t></is></c></row></sheetData>'
    content = rewrite_parts(
        return_bytes(contract), {PARTICIPANTS_PART: lambda x: x.replace(b"</sheetData>", far.encode())}
    )
    result = read_return("r.xlsx", content)
    refused = [f for f in result.findings if f.code == "SHEET_TOO_LARGE"]
    if last_row == 20_001:
        assert refused == [] and result.raw is not None
    else:
        [finding] = refused
        assert "20,001 rows below its header" in finding.message
        assert "at most 20,000 rows of data" in finding.message
