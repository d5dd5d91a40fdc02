import pytest

from integrations.spreadsheets.scan import SheetMalformed, SheetTooLarge, scan_sheet

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet(rows: str, *, dimension: str = "A1") -> bytes:
    return f'<worksheet {NS}><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'.encode()


def scan(xml: bytes, **limits: int):  # type: ignore[no-untyped-def]
    return scan_sheet(xml, **limits)


def test_the_extent_comes_from_the_cells_whatever_the_dimension_says() -> None:
    xml = sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row><row r="700"><c r="C700"><v>1</v></c></row>'
    )
    result = scan(xml)
    assert (result.max_row, result.max_column) == (700, 3)


def test_empty_formatted_cells_do_not_count_towards_the_extent() -> None:
    xml = sheet('<row r="1"><c r="A1"><v>1</v></c></row><row r="90000"><c r="ZZ90000" s="3"/></row>')
    result = scan(xml)
    assert (result.max_row, result.max_column) == (1, 1)


def test_a_value_beyond_the_limits_stops_the_scan() -> None:
    with pytest.raises(SheetTooLarge):
        scan(sheet('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))
    with pytest.raises(SheetTooLarge):
        scan(sheet('<row r="2"><c r="F2"><v>1</v></c></row>'), max_columns=5)


def test_a_formula_without_a_calculated_result_is_noted_with_its_cell() -> None:
    xml = sheet(
        '<row r="2"><c r="B2"><f>1+1</f><v/></c><c r="C2"><f>1+1</f><v>2</v></c>'
        '<c r="D2" t="str"><f>IF(1,"","x")</f><v></v></c><c r="E2"><f>A1</f></c></row>'
    )
    assert scan(xml).formulas_without_value == [(2, 2), (2, 5)]


def test_error_cells_are_noted_with_their_error() -> None:
    xml = sheet('<row r="3"><c r="D3" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="E3" t="e"><v>#REF!</v></c></row>')
    assert scan(xml).errors == {(3, 4): "#DIV/0!", (3, 5): "#REF!"}


def test_cells_and_rows_without_references_are_placed_in_order() -> None:
    xml = sheet("<row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row><row><c/><c/><c><v>4</v></c></row>")
    result = scan(xml)
    assert (result.max_row, result.max_column) == (3, 3)


def test_prefixed_element_names_are_read_like_plain_ones() -> None:
    xml = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        b'<x:row r="4"><x:c r="B4" t="e"><x:v>#N/A</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    result = scan(xml)
    assert (result.max_row, result.errors) == (4, {(4, 2): "#N/A"})


@pytest.mark.parametrize("ref", ["A0", "AAAA1", "A99999999", "1A", "a1"])
def test_impossible_cell_references_are_malformed(ref: str) -> None:
    with pytest.raises(SheetMalformed):
        scan(sheet(f'<row r="1"><c r="{ref}"><v>1</v></c></row>'))


def test_a_document_type_declaration_is_refused() -> None:
    with pytest.raises(SheetMalformed):
        scan(b'<!DOCTYPE w [<!ENTITY a "x">]>' + sheet('<row r="1"><c r="A1"><v>1</v></c></row>'))


def test_a_cell_without_a_reference_is_placed_by_its_row_element_not_the_cell_before() -> None:
    # Readers put the second cell in row 1,048,576, where its <row> says, whatever C3 said.
    with pytest.raises(SheetTooLarge):
        scan(sheet('<row r="1048576"><c r="C3"><v>1</v></c><c><v>2</v></c></row>'))


def test_a_repeated_attribute_is_malformed_not_read_either_way() -> None:
    from xml.parsers import expat

    with pytest.raises(expat.ExpatError):
        scan(sheet('<row r="2"><c r="A2" r="XFD1048576"><v>1</v></c></row>'))


def test_an_error_cell_is_found_however_its_attribute_is_spaced() -> None:
    assert scan(sheet('<row r="2"><c r="B2" t = "e"><v>#N/A</v></c></row>')).errors == {(2, 2): "#N/A"}


@pytest.mark.parametrize("opening", ["<c\n", "<c\t", "<c\r\n", "<x:c "])
def test_a_cell_written_with_unusual_whitespace_or_a_prefix_is_still_counted(opening: str) -> None:
    far = f'{opening}r="XFD1048576"><v>1</v></{"x:c" if ":" in opening else "c"}>'
    xml = sheet(f'<row r="1"><c r="A1"><v>1</v></c>{far}</row>')
    xml = xml.replace(
        b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    )
    with pytest.raises(SheetTooLarge):
        scan(xml)


def test_single_quoted_attributes_are_read_like_double_quoted_ones() -> None:
    result = scan(sheet("<row r='2'><c r='C2' t='e'><v>#REF!</v></c></row>"))
    assert result.errors == {(2, 3): "#REF!"}
