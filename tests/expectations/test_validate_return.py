from datetime import date

import pytest

from domain.contract import Contract
from domain.periods import Period
from expectations.returns import validate_return
from integrations.spreadsheets.reader import read_return
from tests.helpers import clean_rows, return_bytes, summary_of


def validate(contract: Contract, content: bytes):  # type: ignore[no-untyped-def]
    result = read_return("r.xlsx", content)
    assert result.raw is not None, result.findings
    return validate_return(result.raw, contract)


def codes(validated) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    return [(f.code, f.cell) for f in validated.findings]


def test_a_clean_return_is_accepted_with_typed_rows(contract: Contract) -> None:
    validated = validate(contract, return_bytes(contract))
    assert validated.accepted
    assert validated.partner is not None and validated.partner.id == "harbour-trust"
    assert validated.period == Period(2026, 10)
    assert [r.participant_id for r in validated.rows] == ["P000", "P001", "P002", "P003"]
    assert validated.rows[0].achieved == frozenset({"housing_sustained", "wellbeing_up"})
    assert validated.rows[0].referral_date == date(2026, 10, 1)
    assert validated.findings == []


def test_honest_variations_read_as_the_same_data(contract: Contract) -> None:
    rows = clean_rows()
    varied = [dict(r) for r in rows]
    varied[0].update(referral_date="01/10/2026", housing_sustained=" y ", wellbeing_up=True)
    varied[1].update(participant_id=" P001 ", into_work="FALSE", complexity_band="Complex")
    varied[2].update(complexity_band="Very complex", wellbeing_up="yes")
    validated = validate(contract, return_bytes(contract, rows=varied, summary=summary_of(rows), blank_rows_after=[1]))
    assert validated.accepted, validated.findings
    assert validated.rows == validate(contract, return_bytes(contract, rows=rows)).rows


def test_every_bad_value_is_a_finding_with_its_cell(contract: Contract) -> None:
    rows = clean_rows(6)
    rows[1]["complexity_band"] = "hard"
    rows[2]["into_work"] = "maybe"
    rows[3]["referral_date"] = "31/02/2026"
    rows[4]["referral_date"] = date(2026, 11, 2)
    rows[5]["participant_id"] = "P000"
    rows[0]["wellbeing_up"] = None
    validated = validate(contract, return_bytes(contract, rows=rows))
    assert not validated.accepted
    assert sorted(codes(validated)) == sorted(
        [
            ("BAND_UNKNOWN", "C3"),
            ("YESNO_INVALID", "E4"),
            ("DATE_INVALID", "B5"),
            ("DATE_AFTER_PERIOD", "B6"),
            ("ID_DUPLICATE", "A7"),
            ("VALUE_REQUIRED", "F2"),
        ]
    )
    band = next(f for f in validated.findings if f.code == "BAND_UNKNOWN")
    assert band.value == "hard" and band.severity.value == "error"
    assert "standard, complex, very_complex" in band.fix


def test_an_extra_column_is_a_warning_not_a_rejection(contract: Contract) -> None:
    rows = clean_rows()
    validated = validate(contract, return_bytes(contract, rows=rows, extra_column=("notes", ["x"] * len(rows))))
    assert validated.accepted
    assert codes(validated) == [("COLUMN_EXTRA", "H1")]


def test_a_summary_that_disagrees_with_the_rows_is_an_error(contract: Contract) -> None:
    rows = clean_rows()
    summary = {**summary_of(rows), "wellbeing_up": 99}
    validated = validate(contract, return_bytes(contract, rows=rows, summary=summary))
    assert not validated.accepted
    assert codes(validated) == [("SUMMARY_MISMATCH", "B5")]


def test_a_blank_summary_is_only_noted(contract: Contract) -> None:
    validated = validate(contract, return_bytes(contract, summary=None))
    assert validated.accepted
    assert codes(validated) == [("SUMMARY_BLANK", None)]


def test_an_empty_return_is_refused(contract: Contract) -> None:
    validated = validate(contract, return_bytes(contract, rows=[], summary=None))
    assert not validated.accepted
    assert codes(validated) == [("NO_ROWS", None)]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("partner_id", "someone-else", "ABOUT_PARTNER_UNKNOWN"),
        ("period", "2025-01", "ABOUT_PERIOD_INVALID"),
        ("alliance", "Another Alliance", "ABOUT_OTHER_ALLIANCE"),
        ("framework_version", 0, "ABOUT_FRAMEWORK_VERSION"),
    ],
)
def test_a_template_for_someone_else_is_refused(contract: Contract, field: str, value: object, code: str) -> None:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(return_bytes(contract)))
    for key, cell in book["About"].iter_rows(min_col=1, max_col=2):
        if key.value == field:
            cell.value = value
    buffer = io.BytesIO()
    book.save(buffer)
    validated = validate(contract, buffer.getvalue())
    assert not validated.accepted
    assert code in [f.code for f in validated.findings]


def test_dates_before_any_referral_and_full_postcodes_are_refused(contract: Contract) -> None:
    rows = clean_rows(3)
    rows[0]["referral_date"] = date(1926, 10, 1)
    rows[1]["postcode_district"] = "NF1 2AB"
    rows[2]["postcode_district"] = " nf12 "
    validated = validate(contract, return_bytes(contract, rows=rows))
    assert sorted(codes(validated)) == [("DATE_TOO_EARLY", "B2"), ("POSTCODE_INVALID", "G3")]
    early = next(f for f in validated.findings if f.code == "DATE_TOO_EARLY")
    assert early.value == "01/10/1926"


def test_claims_known_to_the_records_are_findings_at_their_cells(contract: Contract) -> None:
    from domain.returns import ReturnContext

    result = read_return("r.xlsx", return_bytes(contract))
    assert result.raw is not None
    context = ReturnContext(
        claimed_in_other_months={
            "P000": {"housing_sustained": "2026-06", "into_work": "2026-07"},
            "P001": {"into_work": "x"},
        },
        claimed_elsewhere=frozenset({"P002"}),
    )
    validated = validate_return(result.raw, contract, context_for=lambda partner, period, ids: context)
    # P000's into_work is No this month: only the outcome claimed again counts.
    assert codes(validated) == [("OUTCOME_CLAIMED_BEFORE", "D2"), ("DUPLICATE_CLAIM", "A4")]
    again, elsewhere = validated.findings
    assert again.severity.value == "error" and again.value == "P000"
    assert "2026-06" in again.message and "Housing sustained 3 months" in again.message  # as the sheet names it
    assert elsewhere.severity.value == "warning" and "P002" in elsewhere.message
    assert not validated.accepted


def test_fifty_different_problems_are_reported_in_one_pass(contract: Contract) -> None:
    rows = clean_rows(50)
    problems = [
        ("complexity_band", "hard"),
        ("into_work", "maybe"),
        ("referral_date", "31/02/2026"),
        ("referral_date", date(2026, 11, 2)),
        ("referral_date", date(1920, 1, 1)),
        ("referral_date", "01/10/26"),
        ("wellbeing_up", None),
        ("postcode_district", "NF1 2AB"),
        ("housing_sustained", "#N/A"),
        ("participant_id", None),
    ]
    for n, row in enumerate(rows):
        column, value = problems[n % len(problems)]
        row[column] = value
    validated = validate(contract, return_bytes(contract, rows=rows))
    cells = {f.cell for f in validated.findings if f.sheet == "Participants"}
    assert len(cells) == 50, sorted(validated.findings, key=lambda f: f.row or 0)
    assert {f.row for f in validated.findings if f.sheet == "Participants"} == set(range(2, 52))


def test_a_missing_column_is_one_finding_not_one_per_row(contract: Contract) -> None:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(return_bytes(contract, rows=clean_rows(30))))
    book["Participants"].delete_cols(3)  # complexity_band
    buffer = io.BytesIO()
    book.save(buffer)
    validated = validate(contract, buffer.getvalue())
    assert [f.code for f in validated.findings] == ["COLUMN_MISSING"]


def test_a_number_in_the_postcode_column_is_not_a_district(contract: Contract) -> None:
    rows = clean_rows(2)
    rows[0]["postcode_district"] = 1234
    validated = validate(contract, return_bytes(contract, rows=rows))
    assert codes(validated) == [("POSTCODE_INVALID", "G2")]
