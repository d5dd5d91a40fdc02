import io
import zipfile

import pytest

from domain.contract import Contract
from integrations.spreadsheets import package
from integrations.spreadsheets.package import Refused, open_package
from tests.helpers import return_bytes, rewrite_parts, zip_of


def refusal(content: bytes) -> str:
    with pytest.raises(Refused) as refused:
        open_package("r.xlsx", content)
    return refused.value.finding.code


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "FILE_EMPTY"),
        (b"participant_id,referral_date\nP1,01/10/2026\n", "FILE_TEXT"),
        ("participant_id;date\nP1;01/10/2026\n".encode("utf-16"), "FILE_TEXT"),
        (b"<html><table><tr><td>P1</td></tr></table></html>", "FILE_TEXT"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 4, "FILE_NOT_XLSX"),
        (bytes(range(256)) * 8, "FILE_NOT_XLSX"),
        (package.OLE_MAGIC + b"\0" * 1000, "FILE_LEGACY_XLS"),
        (package.OLE_MAGIC + b"\0" * 100 + package.ENCRYPTED_STREAM + b"\0" * 100, "FILE_ENCRYPTED"),
        (zip_of({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}), "FILE_ODS"),
        (zip_of({"xl/workbook.bin": b"\0", "[Content_Types].xml": b"<x/>"}), "FILE_XLSB"),
        (zip_of({"word/document.xml": b"<w/>"}), "FILE_NOT_XLSX"),
        (b"PK\x05\x06" + b"\0" * 18, "FILE_NOT_XLSX"),  # an empty zip
    ],
    ids=["empty", "csv", "utf16-csv", "html", "pdf", "binary", "xls", "encrypted", "ods", "xlsb", "docx", "empty-zip"],
)
def test_files_that_are_not_workbooks_are_named_for_what_they_are(content: bytes, code: str) -> None:
    assert refusal(content) == code


def test_a_macro_enabled_workbook_is_refused(contract: Contract) -> None:
    assert (
        refusal(rewrite_parts(return_bytes(contract), {}, add={"xl/vbaProject.bin": b"macro"})) == "FILE_MACRO_ENABLED"
    )


def test_a_truncated_workbook_is_corrupt(contract: Contract) -> None:
    content = return_bytes(contract)
    assert refusal(content[: len(content) // 2]) == "FILE_CORRUPT"


def test_a_part_that_fails_its_checksum_is_corrupt() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook>" + b" " * 100 + b"</workbook>")
    content = bytearray(buffer.getvalue())
    content[30 + len("xl/workbook.xml") + 50] ^= 0x01  # a byte inside the stored part
    assert refusal(bytes(content)) == "FILE_CORRUPT"


def test_two_parts_with_one_name_are_refused_not_guessed(contract: Contract) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        duplicated = rewrite_parts(return_bytes(contract), {}, add={"xl/workbook.xml": b"<workbook/>"})
    assert refusal(duplicated) == "FILE_CORRUPT"


def test_an_entry_marked_encrypted_is_refused(contract: Contract) -> None:
    content = bytearray(return_bytes(contract))
    central = content.index(b"PK\x01\x02")  # the first central directory record
    content[central + 8] |= 0x01  # its general-purpose flag: encrypted
    assert refusal(bytes(content)) == "FILE_ENCRYPTED"


def test_a_zip_bomb_is_refused_by_its_ratio_before_it_is_expanded() -> None:
    bomb = zip_of({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\0" * (50 * 1024 * 1024)})
    assert len(bomb) < 100_000
    assert refusal(bomb) == "FILE_COMPRESSION_RATIO"


def test_limits_on_uncompressed_size_and_entry_count(monkeypatch: pytest.MonkeyPatch, contract: Contract) -> None:
    content = return_bytes(contract)
    monkeypatch.setattr(package, "MAX_UNCOMPRESSED_BYTES", 1000)
    assert refusal(content) == "FILE_TOO_LARGE"
    monkeypatch.undo()
    monkeypatch.setattr(package, "MAX_ZIP_ENTRIES", 5)
    assert refusal(content) == "FILE_TOO_LARGE"


def test_xml_that_declares_entities_is_refused(contract: Contract) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<workbook>&b;</workbook>"
    )
    assert refusal(rewrite_parts(return_bytes(contract), {"xl/workbook.xml": laughs})) == "FILE_CORRUPT"


def test_sheets_are_found_through_the_workbook_relationships(contract: Contract) -> None:
    found = open_package("r.xlsx", return_bytes(contract))
    assert found.sheets == {
        "About": "xl/worksheets/sheet1.xml",
        "Participants": "xl/worksheets/sheet2.xml",
        "Summary": "xl/worksheets/sheet3.xml",
        "Guidance": "xl/worksheets/sheet4.xml",
    }


def test_a_package_index_pointing_the_workbook_elsewhere_is_refused(contract: Contract) -> None:
    content = return_bytes(contract)
    moved = rewrite_parts(
        content, {"_rels/.rels": lambda x: x.replace(b'Target="xl/workbook.xml"', b'Target="x/w.xml"')}
    )
    assert refusal(moved) == "FILE_CORRUPT"


def test_parts_whose_names_differ_only_in_case_are_refused(contract: Contract) -> None:
    assert refusal(rewrite_parts(return_bytes(contract), {}, add={"XL/WORKBOOK.XML": b"<x/>"})) == "FILE_CORRUPT"


def test_a_relationship_declared_twice_is_refused(contract: Contract) -> None:
    twice = b'<Relationship Id="rId1" Type="x/worksheet" Target="worksheets/sheet2.xml"/></Relationships>'
    content = rewrite_parts(
        return_bytes(contract), {"xl/_rels/workbook.xml.rels": lambda x: x.replace(b"</Relationships>", twice)}
    )
    assert refusal(content) == "FILE_CORRUPT"


def test_two_sheets_with_one_name_in_any_case_are_refused(contract: Contract) -> None:
    content = rewrite_parts(
        return_bytes(contract), {"xl/workbook.xml": lambda x: x.replace(b'name="Guidance"', b'name="participants"')}
    )
    assert refusal(content) == "FILE_CORRUPT"


def test_a_sheet_with_two_relationship_ids_is_refused(contract: Contract) -> None:
    content = rewrite_parts(
        return_bytes(contract),
        {"xl/workbook.xml": lambda x: x.replace(b'r:id="rId2"', b'r:id="rId2" xmlns:y="urn:y" y:id="rId9"')},
    )
    assert refusal(content) == "FILE_CORRUPT"
