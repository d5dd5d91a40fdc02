from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.slack.blocks import HEADER_LIMIT, SECTION_LIMIT, TITLES, message_blocks, title_of


def sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_a_message_is_a_header_its_sections_and_a_context_line() -> None:
    blocks = message_blocks(kind="statement_issued", text="Your *statement* is ready.", context="Alliance · 1")
    assert [b["type"] for b in blocks] == ["header", "section", "context"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": "Payment statement issued"}
    assert blocks[1]["text"] == {"type": "mrkdwn", "text": "Your *statement* is ready.", "verbatim": True}
    assert blocks[2]["elements"] == [{"type": "mrkdwn", "text": "Alliance · 1", "verbatim": True}]


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("statement_issued", "Payment statement issued"),
        ("return_processed", "Return processed"),
        ("reminder_overdue", "Return overdue"),
        ("payment_run_draft", "Payment run waiting for approval"),
    ],
)
def test_the_header_names_what_happened(kind: str, title: str) -> None:
    assert message_blocks(kind=kind, text="x", context="c")[0]["text"]["text"] == title


def test_an_unknown_kind_gets_a_readable_title() -> None:
    assert title_of("budget_line_moved") == "Budget line moved"
    assert message_blocks(kind="budget_line_moved", text="x", context="c")[0]["text"]["text"] == "Budget line moved"


def test_every_known_kind_has_a_header_slack_accepts() -> None:
    for kind in [*TITLES, "a_" * 200]:
        header = message_blocks(kind=kind, text="x", context="c")[0]["text"]["text"]
        assert 0 < len(header) <= HEADER_LIMIT


def test_a_long_text_is_split_at_line_ends_and_keeps_all_of_it() -> None:
    lines = [f"line {n:03d} " + "x" * 90 for n in range(71)]
    text = "\n".join(lines)
    assert len(text) > 7000
    parts = sections(message_blocks(kind="cycle_summary", text=text, context="c"))
    assert len(parts) == 3
    assert all(len(p) <= SECTION_LIMIT for p in parts)
    assert "\n".join(parts) == text
    assert all(p.split("\n")[0].startswith("line ") for p in parts)  # no line cut in two


def test_a_single_line_longer_than_a_section_is_cut_and_keeps_all_of_it() -> None:
    text = "".join(chr(ord("a") + n % 26) for n in range(7000))
    parts = sections(message_blocks(kind="cycle_summary", text=text, context="c"))
    assert [len(p) for p in parts] == [3000, 3000, 1000]
    assert "".join(parts) == text


def test_a_text_within_the_limit_is_one_section_with_its_blank_lines() -> None:
    text = "Heading\n\n• one\n• two\n\nEnd"
    assert sections(message_blocks(kind="cycle_summary", text=text, context="c")) == [text]


def test_a_text_of_exactly_the_limit_is_one_section() -> None:
    text = "y" * SECTION_LIMIT
    assert sections(message_blocks(kind="cycle_summary", text=text, context="c")) == [text]


@pytest.mark.parametrize("text", ["", "\n"])
def test_an_empty_text_still_makes_one_valid_section(text: str) -> None:
    [part] = sections(message_blocks(kind="cycle_summary", text=text, context="c"))
    assert part and len(part) <= SECTION_LIMIT


@settings(max_examples=min(settings().max_examples, 1000))  # CI's 10,000 is for money
@given(st.lists(st.integers(min_value=1, max_value=4 * SECTION_LIMIT), min_size=1, max_size=8))
def test_sections_never_exceed_the_limit_and_lose_no_text(lengths: list[int]) -> None:
    lines = [chr(ord("a") + n % 26) * length for n, length in enumerate(lengths)]
    text = "\n".join(lines)
    parts = sections(message_blocks(kind="cycle_summary", text=text, context="c"))
    assert parts and all(0 < len(p) <= SECTION_LIMIT for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    # a section ends where a line ends, or is full
    for part, following in zip(parts, parts[1:], strict=False):
        assert len(part) == SECTION_LIMIT or part[-1] != following[0]
