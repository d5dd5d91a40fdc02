"""Golden feedback workbooks: between them, every code in the catalogue, each at its cell.

Regenerate after a deliberate change with ``ALLIANCE_UPDATE_GOLDEN=1`` set while running this
file's tests, and read the diff of ``tests/golden/feedback/`` before committing it.
"""

import io
import json
import os
import string
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from domain.changes import compare
from domain.contract import Contract
from domain.findings import AFTER_ACCEPTANCE, CATALOGUE, Finding
from domain.returns import RawRow
from integrations.spreadsheets.feedback import FeedbackHeading, write_feedback
from services.intake import check_file
from tests.feedback_cases import Case, about_problems, refusals, row_problems
from tests.helpers import EXCEPTION_TEXT

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "feedback"
UPDATE = os.environ.get("ALLIANCE_UPDATE_GOLDEN") == "1"


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dump(path: Path) -> dict[str, Any]:
    """What a partner sees in the workbook: values, highlighted cells, comments and links, per sheet."""
    book = load_workbook(path)
    sheets: dict[str, Any] = {}
    for sheet in book.worksheets:
        cells, fills, comments, links = {}, {}, {}, {}
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    cells[cell.coordinate] = [_json(cell.value), cell.data_type]
                if cell.fill is not None and cell.fill.fill_type == "solid":
                    fills[cell.coordinate] = cell.fill.fgColor.rgb
                if cell.comment is not None:
                    comments[cell.coordinate] = cell.comment.text
                if cell.hyperlink is not None:
                    links[cell.coordinate] = cell.hyperlink.location
        sheets[sheet.title] = {"cells": cells, "fills": fills, "comments": comments, "links": links}
    return sheets


def feedback_for(case: Case, contract: Contract, folder: Path) -> tuple[list[Finding], Path, Any]:
    validated, findings, raw = check_file(
        case.file(),
        contract,
        received_at=case.received_at,
        context_for=case.context_for(),
        require_sender=case.require_sender,
    )
    partner = validated.partner if validated else None
    path = write_feedback(
        folder / f"{case.name}.xlsx",
        heading=FeedbackHeading(
            partner_name=partner.name if partner else "Harbour Trust",
            period=str(validated.period) if validated and validated.period else "unknown period",
            version=1,
            filename=case.file().name,
            status="accepted" if validated and validated.accepted else "rejected",
        ),
        findings=findings,
        grids=raw.grids if raw else None,
    )
    return findings, path, raw


def check_golden(name: str, actual: Any) -> None:
    path = GOLDEN / f"{name}.json"
    text = json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with ALLIANCE_UPDATE_GOLDEN=1"
    assert json.loads(path.read_text()) == json.loads(text), f"{name} differs from its golden file"


def all_cases(contract: Contract) -> list[Case]:
    return [row_problems(contract), *about_problems(contract), *refusals(contract)]


def test_the_golden_workbooks_carry_every_code_in_the_catalogue(contract: Contract, tmp_path: Path) -> None:
    seen: set[str] = set()
    for case in all_cases(contract):
        findings, path, _ = feedback_for(case, contract, tmp_path)
        seen |= {f.code for f in findings}
        check_golden(case.name, {"findings": [f.as_dict() for f in findings], "workbook": dump(path)})
    assert sorted(set(CATALOGUE) - AFTER_ACCEPTANCE - seen) == []  # the officer's own are in tests/services


def test_each_finding_points_at_the_partners_own_cell(contract: Contract, tmp_path: Path) -> None:
    case = row_problems(contract)
    findings, path, _ = feedback_for(case, contract, tmp_path)
    at = {(f.code, f.cell) for f in findings if f.sheet == "Participants"}
    assert {
        ("BAND_UNKNOWN", "C3"),
        ("YESNO_INVALID", "E4"),
        ("DATE_INVALID", "B5"),
        ("DATE_AFTER_PERIOD", "B6"),
        ("DATE_TOO_EARLY", "B7"),
        ("DATE_AMBIGUOUS", "B8"),
        ("VALUE_REQUIRED", "F9"),
        ("ID_DUPLICATE", "A10"),
        ("POSTCODE_INVALID", "G11"),
        ("CELL_ERROR", "D12"),
        ("FORMULA_NO_VALUE", "E13"),
        ("OUTCOME_CLAIMED_BEFORE", "D14"),
        ("DUPLICATE_CLAIM", "A4"),
        ("COLUMN_EXTRA", "H1"),
        ("COLUMN_DUPLICATE", "I1"),
    } <= at
    original = load_workbook(io.BytesIO(case.content or b""))["Participants"]
    book = load_workbook(path)
    issues, copy = book["Issues"], book["Participants"]
    links = {c.hyperlink.location for row in issues.iter_rows() for c in row if c.hyperlink is not None}
    for finding in (f for f in findings if f.sheet == "Participants" and f.cell):
        cell = copy[finding.cell]
        assert cell.comment is not None and finding.code in cell.comment.text, finding
        assert cell.fill.fill_type == "solid", finding
        assert f"'Participants'!{finding.cell}" in links, finding
        if finding.code not in ("FORMULA_NO_VALUE",):
            assert _same(cell.value, original[finding.cell].value), (finding, cell.value)


def _same(copied: Any, original: Any) -> bool:
    if isinstance(original, datetime) and isinstance(copied, datetime):
        return original.date() == copied.date()
    return copied == original or (copied is None and original in ("", None))


def test_partner_text_is_never_written_as_a_formula(contract: Contract, tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://evil.example","click")'
    finding = Finding("BAND_UNKNOWN", sheet="Participants", cell="C3", row=3, column="complexity_band", value=hostile)
    path = write_feedback(
        tmp_path / "f.xlsx",
        heading=FeedbackHeading("=cmd|' /C calc'!A0", "2026-10", 1, "=x.xlsx", "rejected"),
        findings=[finding],
        grids={"Participants": [["participant_id", "referral_date", hostile], ["=1+1", "+SUM(A1)", "@x"]]},
    )
    book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    assert book["Participants"]["A2"].value == "=1+1"


def test_the_changes_sheet_lists_rows_added_removed_and_cells_changed(tmp_path: Path) -> None:
    before = [
        RawRow(2, {"participant_id": "P1", "into_work": "No"}),
        RawRow(3, {"participant_id": "P2", "into_work": "No"}),
    ]
    after = [
        RawRow(2, {"participant_id": "P1", "into_work": "Yes"}),
        RawRow(3, {"participant_id": "P3", "into_work": "No"}),
    ]
    changes = compare(before, after, ["participant_id", "into_work"], version=1)
    path = write_feedback(
        tmp_path / "f.xlsx",
        heading=FeedbackHeading("Harbour Trust", "2026-10", 2, "r.xlsx", "accepted"),
        findings=[],
        changes=changes,
    )
    rows = [r for r in load_workbook(path)["Changes"].iter_rows(min_row=4, values_only=True)]
    assert rows == [
        ("added", "P3", None, None, None, 3),
        ("removed", "P2", None, "was row 3", None, None),
        ("changed", "P1", "into_work", "No", "Yes", 2),
    ]


def test_no_finding_message_names_an_exception_or_lacks_a_figure(contract: Contract, tmp_path: Path) -> None:
    for case in all_cases(contract):
        findings, _, _ = feedback_for(case, contract, tmp_path)
        for finding in findings:
            assert not EXCEPTION_TEXT.search(finding.message + finding.fix), (case.name, finding.message)
            fields = finding.as_dict() | finding.params
            names = {n for _, n, _, _ in string.Formatter().parse(finding.spec.message + finding.spec.fix) if n}
            assert all(fields.get(n) is not None for n in names), (case.name, finding.code, finding.message)


@pytest.mark.parametrize("rows", [0, 1])
def test_feedback_for_a_return_that_could_not_be_read_has_no_partner_sheets(tmp_path: Path, rows: int) -> None:
    finding = Finding("FILE_TEXT", params={"filename": "r.xlsx"})
    path = write_feedback(
        tmp_path / "f.xlsx",
        heading=FeedbackHeading("Harbour Trust", "unknown period", None, "r.xlsx", "rejected"),
        findings=[finding] * rows,
    )
    assert load_workbook(path).sheetnames == ["Issues", "Changes"]


def test_plain_cells_written_directly_read_back_as_xlsxwriter_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copied sheets' plain cells are written as XML directly (sheet_data.py); every kind of value a sheet holds
    reads back exactly as when xlsxwriter writes every cell."""
    odd = [
        "plain",
        " leading",
        "trailing ",
        'a & b < c > d "q"',
        "_x0041_ literal",
        "line\r\nbreak",
        "tab\there",
        "<r><t>rich?</t></r>",
        "\u00a0nbsp",
        "é 中文 😀",
        "x" * 20_000,
        "=1+1",
        "bell\x07",
    ]
    values: list[Any] = [
        *odd,
        0,
        -3,
        12345678901234567,
        1.5,
        -0.0,
        1e-300,
        float("nan"),
        float("inf"),
        True,
        False,
        date(2026, 10, 3),
        date(1900, 2, 28),
        date(1900, 3, 1),
        datetime(2026, 10, 3, 13, 45, 30, 250000),
        datetime(1900, 1, 1, 6),
        time(9, 30),
        None,
        "",
    ]
    grid = [["participant_id", "value", "other"]] + [[f"P{n}", v, values[-1 - n]] for n, v in enumerate(values)]
    grid.append([])  # a blank row, then one longer than the rest
    grid.append(["P99", "x", date(2026, 1, 1), 7, "last"])
    finding = Finding("BAND_UNKNOWN", sheet="Participants", cell="B5", row=5, column="complexity_band", value="x")
    heading = FeedbackHeading("Harbour Trust", "2026-10", 1, "r.xlsx", "rejected")

    def written(name: str) -> dict[str, Any]:
        path = write_feedback(tmp_path / name, heading=heading, findings=[finding], grids={"Participants": grid})
        return dump(path)

    direct = written("direct.xlsx")
    from integrations.spreadsheets import sheet_data

    monkeypatch.setattr(sheet_data, "is_plain", lambda value: False)
    assert direct == written("xlsxwriter.xlsx")
    cells = direct["Participants"]["cells"]
    assert cells["B2"] == ["plain", "s"] and cells["B5"] == ['a & b < c > d "q"', "s"] and "C26" in cells
    extent = [load_workbook(tmp_path / name)["Participants"].dimensions for name in ("direct.xlsx", "xlsxwriter.xlsx")]
    assert extent == ["A1:E34", "A1:E34"]
