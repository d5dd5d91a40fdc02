"""Partner text on a terminal: every control or format character shown escaped, nothing else changed. In a message
(Slack, email): the same for what would reorder or hide text, every script's letters kept, and quoted short."""

import pytest

from domain.text import ELLIPSIS, QUOTE_LIMIT, neutralised, printable, printable_lines, shortened


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


# --- Issue 31, case 15: partner text in a message ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("invoice\u202exslx.exe", "invoice\\u202exslx.exe"),  # RLO: would read "invoiceexe.xlsx"
        ("a\u202ab\u202bc\u202cd\u202de", "a\\u202ab\\u202bc\\u202cd\\u202de"),  # embeddings, pop
        ("x\u2066y\u2067z\u2068w\u2069", "x\\u2066y\\u2067z\\u2068w\\u2069"),  # isolates
        ("\u200eleft\u200fright\u061c", "\\u200eleft\\u200fright\\u061c"),  # marks
        ("hid\u200bden\ufeff", "hid\\u200bden\\ufeff"),  # zero-width space, BOM
        ("\u200dstart", "\\u200dstart"),  # a joiner joining nothing hides
        ("bell\x07esc\x1b[2J", "bell\\x07esc\\x1b[2J"),
    ],
)
def test_a_message_shows_bidi_controls_and_hidden_characters_as_their_escapes(text: str, shown: str) -> None:
    assert neutralised(text) == shown


@pytest.mark.parametrize(
    "name",
    [
        "月次報告_2026年10月.xlsx",  # Japanese
        "تقرير أكتوبر.xlsx",  # Arabic letters: right to left by themselves, no control needed
        "דוח חודשי.xlsx",  # Hebrew
        "می\u200cخواهم.xlsx",  # Persian: a zero-width non-joiner between letters spells the word
        "हिन्दी.xlsx",  # Devanagari with its combining marks
        "family \U0001f468\u200d\U0001f469\u200d\U0001f467.xlsx",  # an emoji joined by zero-width joiners
        "Café £1,200 — v2 ✓",
    ],
)
def test_a_message_keeps_every_scripts_letters_as_written(name: str) -> None:
    assert neutralised(name) == name


def test_line_breaks_are_left_to_the_messages_own_format() -> None:
    assert neutralised("one\ntwo\r\n") == "one\ntwo\r\n"


def test_a_quoted_value_is_cut_to_the_limit_with_an_ellipsis() -> None:
    assert shortened("x" * QUOTE_LIMIT) == "x" * QUOTE_LIMIT
    assert shortened("x" * (QUOTE_LIMIT + 1)) == "x" * (QUOTE_LIMIT - 1) + ELLIPSIS
    assert len(shortened("y" * 1_000_000)) == QUOTE_LIMIT
    assert shortened(12345, limit=3) == "12" + ELLIPSIS
