import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from domain.contract import Contract
from integrations.spreadsheets.reader import read_return
from tests.helpers import return_bytes

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "excel-real"


def only_code(content: bytes, name: str = "r.xlsx") -> str:
    result = read_return(name, content)
    assert result.raw is None
    assert len(result.findings) == 1
    return result.findings[0].code


def test_csv_renamed_to_xlsx_is_not_a_workbook() -> None:
    assert only_code(b"participant_id,referral_date\nP1,01/10/2026\n") == "FILE_TEXT"


def test_legacy_xls_or_encrypted_is_named_as_such() -> None:
    assert only_code(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600) == "FILE_LEGACY_XLS"


def test_a_truncated_workbook_is_corrupt(contract: Contract) -> None:
    content = return_bytes(contract)
    assert only_code(content[: len(content) // 2]) == "FILE_CORRUPT"


def test_a_macro_enabled_workbook_is_refused(contract: Contract) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(return_bytes(contract))) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item))
        target.writestr("xl/vbaProject.bin", b"macro")
    assert only_code(buffer.getvalue()) == "FILE_MACRO_ENABLED"


def test_a_zip_bomb_is_refused_before_it_is_expanded() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    assert only_code(buffer.getvalue()) == "FILE_COMPRESSION_RATIO"


def test_a_workbook_without_the_return_sheets_says_which_is_missing() -> None:
    buffer = io.BytesIO()
    Workbook().save(buffer)
    result = read_return("r.xlsx", buffer.getvalue())
    assert result.raw is None
    assert {(f.code, f.sheet) for f in result.findings} == {
        ("SHEET_MISSING", "About"),
        ("SHEET_MISSING", "Participants"),
    }


def test_error_cells_are_findings(contract: Contract) -> None:
    from tests.helpers import clean_rows

    rows = clean_rows()
    rows[1]["into_work"] = "#REF!"
    result = read_return("r.xlsx", return_bytes(contract, rows=rows))
    assert result.raw is not None
    assert [(f.code, f.cell) for f in result.findings] == [("CELL_ERROR", "E3")]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpus/excel-real is not beside the project")
def test_workbooks_written_by_excel_are_refused_with_a_finding_not_a_crash() -> None:
    files = sorted(CORPUS.glob("*.xls*"))[::10]  # every tenth: ~100 files of every feature
    assert len(files) > 50
    for path in files:
        result = read_return(path.name, path.read_bytes())
        assert result.raw is None, path.name
        assert result.findings and all(f.severity.value == "error" for f in result.findings), path.name
