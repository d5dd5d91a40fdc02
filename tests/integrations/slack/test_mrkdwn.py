import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.text import neutralised
from integrations.slack.mrkdwn import code, escape

LOOK_ALIKES = {"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`"}
# Where Slack would start or end bold, italic, strike or code: a formatting character not inside a word.
FORMATTING = re.compile(r"(?<![^\W_])[*_~]|[*_~](?![^\W_])|`")


def shown(mrkdwn: str) -> str:
    """What Slack displays for mrkdwn without formatting: only &amp; &lt; &gt; are decoded."""
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def as_typed(mrkdwn: str) -> str:
    """What the reader takes the displayed text to say, reading each look-alike as the character it stands for."""
    return "".join(LOOK_ALIKES.get(c, c) for c in shown(mrkdwn))


@pytest.mark.parametrize(
    "hostile",
    [
        "<!channel>",
        "<!here> please look",
        "<!everyone>",
        "<@U123>",
        "<#C024BE7LR>",
        "<!subteam^S123>",
        "<https://evil.example|click>",
        "<mailto:a@b.c|mail>",
        "a <<!channel>> b",
        "&lt;!channel&gt;",
    ],
)
def test_text_cannot_ping_or_link(hostile: str) -> None:
    escaped = escape(hostile)
    assert "<" not in escaped and ">" not in escaped
    assert shown(escaped) == hostile


def test_an_already_escaped_mention_stays_text() -> None:
    assert escape("&lt;!channel&gt;") == "&amp;lt;!channel&amp;gt;"


@pytest.mark.parametrize("formatted", ["*bold*", "_it_", "~s~", "`code`", "```block```", "say *hi* now", "(_x_)"])
def test_text_cannot_format(formatted: str) -> None:
    escaped = escape(formatted)
    assert formatted not in escaped
    assert not FORMATTING.search(escaped), escaped
    assert as_typed(escaped) == formatted


def test_bold_becomes_look_alikes() -> None:
    assert escape("*bold*") == "\u2217bold\u2217"


@pytest.mark.parametrize("readable", ["into_work", "a_b.xlsx", "housing_sustained", "2*3", "x~y"])
def test_characters_inside_a_word_are_kept(readable: str) -> None:
    assert escape(readable) == readable


@pytest.mark.parametrize(("text", "escaped"), [("AT&T", "AT&amp;T"), ("a < b > c", "a &lt; b &gt; c")])
def test_ampersand_and_angle_brackets_read_as_typed(text: str, escaped: str) -> None:
    assert escape(text) == escaped
    assert shown(escape(text)) == text


LINE_BREAKS = "\n\r\u2028\u2029"


def test_a_line_break_in_someone_elses_text_cannot_start_a_line_of_ours() -> None:
    forged = "2026-13-01\n\n> :white_check_mark: Officer note: accepted\r\u2028x"
    assert escape(forged) == "2026-13-01  &gt; :white_check_mark: Officer note: accepted  x"
    assert not set(escape(forged)) & set(LINE_BREAKS) and not set(code(forged)) & set(LINE_BREAKS)


def test_anything_is_escaped_as_its_text() -> None:
    assert escape(42) == "42"
    assert escape(None) == "None"


@settings(max_examples=min(settings().max_examples, 1000))  # CI's 10,000 is for money
@given(st.text())
def test_escaped_text_never_pings_links_or_formats_and_reads_as_written(text: str) -> None:
    assume(not set(text) & (set(LOOK_ALIKES) | set(LINE_BREAKS)))
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", escaped, re.DOTALL)
    assert not FORMATTING.search(escaped)
    assert as_typed(escaped) == neutralised(text)  # a control or bidi character reads as its escape (\u202e)


# --- code spans --------------------------------------------------------------------------------


def test_a_code_span_keeps_formatting_characters_verbatim() -> None:
    assert code("*bold* _it_ ~s~") == "`*bold* _it_ ~s~`"


def test_a_code_span_escapes_angle_brackets_and_ampersands() -> None:
    assert code("<!channel> & <@U1>") == "`&lt;!channel&gt; &amp; &lt;@U1&gt;`"


@pytest.mark.parametrize("text", ["a`b", "`", "```", "x` <!channel> `y", "a\nb"])
def test_nothing_ends_a_code_span_early(text: str) -> None:
    span = code(text)
    assert span.startswith("`") and span.endswith("`")
    assert span.count("`") == 2
    assert "\n" not in span
    assert "<" not in span and ">" not in span


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_an_empty_code_span_is_still_a_span(text: str) -> None:
    assert code(text) == "` `"


def test_a_file_name_is_shown_as_written() -> None:
    assert code("city-mind-2026-10-v1.xlsx") == "`city-mind-2026-10-v1.xlsx`"
    assert code(12) == "`12`"


@settings(max_examples=min(settings().max_examples, 1000))  # CI's 10,000 is for money
@given(st.text())
def test_any_text_makes_one_closed_code_span(text: str) -> None:
    span = code(text)
    assert span.count("`") == 2 and span[0] == span[-1] == "`"
    assert "<" not in span and ">" not in span and "\n" not in span
