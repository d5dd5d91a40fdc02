"""Partner text on a terminal: every control or format character shown escaped, nothing else changed."""

import pytest

from domain.text import printable, printable_lines


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("harbour\x1b[31m.xlsx", "harbour\\x1b[31m.xlsx"),  # ESC: a colour, a cleared screen, a new window title
        ("P001\x07", "P001\\x07"),  # BEL
        ("P\r002", "P\\r002"),  # CR: would overwrite the line it is on
        ("P0\n03", "P0\\n03"),  # a newline: would forge a line of its own
        ("tab\there", "tab\\there"),
        ("\x9b2J", "\\x9b2J"),  # C1's CSI: an escape sequence without ESC
        ("abc\u202egpj.xlsx", "abc\\u202egpj.xlsx"),  # a bidi override: the name would read backwards
        ("line\u2028break", "line\\u2028break"),
        ("\x7f", "\\x7f"),
    ],
)
def test_control_and_format_characters_are_shown_escaped(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_printable_text_is_unchanged() -> None:
    text = "Harbour Trust's return, £1,200.50 — café 中文 ✓ (v2) \\x1b as typed"
    assert printable(text) == text


def test_anything_is_shown_as_its_text() -> None:
    assert printable(None) == "None" and printable(12) == "12"


def test_printable_lines_keeps_line_breaks_and_escapes_the_rest() -> None:
    assert printable_lines("first\x1b[2J\nsecond\r\n") == "first\\x1b[2J\nsecond\\r\n"
