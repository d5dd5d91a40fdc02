from xml.parsers import expat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.spreadsheets.scan import MAX_COLUMNS, MAX_ROWS, SheetMalformed, SheetTooLarge, full_scan, scan_sheet

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet(rows: str, *, dimension: str = "A1") -> bytes:
    return f'<worksheet {NS}><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'.encode()


def scan(xml: bytes, **limits: int):  # type: ignore[no-untyped-def]
    return scan_sheet(xml, **limits)


def test_the_extent_comes_from_the_cells_whatever_the_dimension_says() -> None:
    xml = sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c></row><row r="700"><c r="C700"><v>1</v></c></row>'
    )
    scan(xml, max_rows=700, max_columns=3)
    with pytest.raises(SheetTooLarge, match="700 rows"):
        scan(xml, max_rows=699)
    with pytest.raises(SheetTooLarge, match="3 columns"):
        scan(xml, max_columns=2)


def test_empty_formatted_cells_do_not_count_towards_the_extent() -> None:
    xml = sheet('<row r="1"><c r="A1"><v>1</v></c></row><row r="90000"><c r="ZZ90000" s="3"/></row>')
    assert scan(xml) == scan(xml, max_rows=1, max_columns=1)


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
    scan(xml, max_rows=3, max_columns=3)
    with pytest.raises(SheetTooLarge):
        scan(xml, max_rows=2)
    with pytest.raises(SheetTooLarge):
        scan(xml, max_columns=2)


def test_prefixed_element_names_are_read_like_plain_ones() -> None:
    xml = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        b'<x:row r="4"><x:c r="B4" t="e"><x:v>#N/A</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    assert scan(xml).errors == {(4, 2): "#N/A"}
    with pytest.raises(SheetTooLarge):
        scan(xml, max_rows=3)


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


def test_an_error_type_written_with_a_character_reference_is_still_an_error() -> None:
    assert scan(sheet('<row r="2"><c r="B2" t="&#101;"><v>#N/A</v></c></row>')).errors == {(2, 2): "#N/A"}


# The quick path (searches at C speed, then a parse with no handler per element) against the full scan, on sheets
# of ordinary cells with at most one odd piece (a reference, type, body, opening, row or stray part that real or
# hostile files hold), so that each odd piece is met alone: the same scan, or the same error.
_ODD = {
    "ref": ["CW1", "A20002", "XFD1048576", "A0", "a1", "A01", "ZZZ5", "&#65;1", "AAAA1"],
    "type": [' t="e"', ' t = "e"', " t='e'", ' t="&#101;"', '\nt="e"'],
    "body": ["<v>#REF!</v>", "<f>1+1</f>", "<f>1</f><v>2</v>", "<x:f>1</x:f>", "<x:is><t>x</t></x:is>"],
    "opening": ["<c  ", "<c\n", "<x:c ", "<c\t"],
    "reference": ["r='{}'", "", 's="1" r="{}"', 'r = "{}"'],
    "row": ['<row r="20002">', "<row>", '<row r="0">', '<row r="01">', "<row r='0'>", "<x:row>", '<row\nr="0">'],
    "stray": ["<!-- c -->", "<?pi x?>", "<![CDATA[<c r='XFD1'>]]>", '<!DOCTYPE w [<!ENTITY a "x">]>', "<f>1</f>"],
    "broken": ["", "<c>"],
}
_ORDINARY = {
    "ref": ["A1", "B2", "CV20001", "AB7", "Z19999", "BZ10000"],
    "type": ["", ' t="n"', ' t="s"', ' t="str"', ' t="inlineStr"'],
    "body": ["", "<v>1</v>", "<v/>", "<v></v>", "<is><t>x</t></is>", "<v>e</v>"],
    "opening": ["<c "],
    "reference": ['r="{}"', 'r="{}" s="1"'],
    "row": ['<row r="1">', '<row r="7">', '<row r="20001" spans="1:3">'],
}


@st.composite
def _cells(draw: st.DrawFn, odd: str | None) -> str:
    def piece(part: str) -> str:
        return draw(st.sampled_from(_ODD[part] if part == odd else _ORDINARY[part]))

    body, opening = piece("body"), piece("opening")
    # An odd opening or way of writing the reference hides an odd reference: the two together are the danger.
    far = odd in ("opening", "reference")
    reference = piece("reference").format(draw(st.sampled_from(_ODD["ref"])) if far else piece("ref"))
    close = f"</{opening.strip()[1:]}>"
    if not body and draw(st.booleans()):
        return f"{opening}{reference}{piece('type')}/>"
    return f"{opening}{reference}{piece('type')}>{body}{close}"


@st.composite
def _sheets(draw: st.DrawFn) -> bytes:
    odd = draw(st.sampled_from([None, None, *_ODD]))
    rows = []
    for n in range(draw(st.integers(1, 3))):
        opening = draw(st.sampled_from(_ODD["row"] if odd == "row" and n == 0 else _ORDINARY["row"]))
        cells = [draw(_cells(odd if m == 0 and n == 0 else None)) for m in range(draw(st.integers(1, 3)))]
        rows.append(opening + "".join(cells) + ("</x:row>" if opening.startswith("<x:") else "</row>"))
    xml = sheet("".join(rows), dimension=draw(st.sampled_from(["A1", "A1:XFD1048576"])))
    namespace = b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    xml = xml.replace(b"<worksheet ", b"<worksheet " + namespace)
    if odd == "stray":
        stray = draw(st.sampled_from(_ODD["stray"])).encode()
        xml = stray + xml if stray.startswith(b"<!DOCTYPE") else xml.replace(b"<sheetData>", b"<sheetData>" + stray)
    if odd == "broken":
        xml = xml[:-3] + draw(st.sampled_from(_ODD["broken"])).encode()
    return xml


def _answer(scanner, xml: bytes) -> object:  # type: ignore[no-untyped-def]
    try:
        return scanner(xml)
    except (SheetTooLarge, SheetMalformed, expat.ExpatError) as refused:
        return type(refused).__name__, str(refused) if isinstance(refused, SheetTooLarge) else ""


@settings(max_examples=1000, deadline=None)
@given(_sheets())
def test_the_quick_path_answers_exactly_as_the_full_scan(xml: bytes) -> None:
    assert (MAX_ROWS, MAX_COLUMNS) == (20_001, 100)  # the limits the quick path's patterns are written for
    assert _answer(scan_sheet, xml) == _answer(full_scan, xml)
