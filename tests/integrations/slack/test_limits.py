"""Issue 31, case 11: Slack refuses a message of more than 50 blocks, a section of more than 3,000 characters or a
text of more than 40,000 (``invalid_blocks``, ``msg_too_long``), and a refused message is never delivered: the
blocks never exceed the limits, and the local Slack server refuses as Slack does, so a test sees any breach."""

from typing import Any

import pytest

from integrations.slack.blocks import CUT_SHORT, SECTION_LIMIT, TEXT_LIMIT, fallback_text, message_blocks
from integrations.slack.fake_server import TOKEN, beyond_limits, running
from integrations.slack.notifier import DeliveryError, SlackNotifier


def sections(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


@pytest.mark.parametrize(
    "text",
    [
        "x" * 5_000_000,  # one line of five megabytes
        "\n".join(f"• finding {n}: " + "y" * 2_990 for n in range(1_673)),  # 1,673 sections' worth of lines
        "&amp;" * 1_000_000,  # entities all the way
    ],
)
def test_however_long_the_text_the_blocks_and_text_are_within_slacks_limits(text: str) -> None:
    blocks = message_blocks(kind="return_processed", text=text, context="Alliance · 1")
    assert beyond_limits(fallback_text(text), blocks) is None
    assert len(blocks) == 50 and blocks[-1]["type"] == "context"
    parts = sections(blocks)
    assert "".join(parts[:-1]).replace("\n", "") == text.replace("\n", "")[: sum(len(p) for p in parts[:-1])]
    assert parts[-1] == CUT_SHORT
    assert len(fallback_text(text)) <= TEXT_LIMIT and fallback_text(text).startswith(text[:1000])


def test_a_long_line_is_never_cut_inside_one_of_slacks_entities() -> None:
    text = "a" * (SECTION_LIMIT - 2) + "&lt;!channel&gt;"
    parts = sections(message_blocks(kind="return_processed", text=text, context="c"))
    assert parts == ["a" * (SECTION_LIMIT - 2), "&lt;!channel&gt;"]


def test_the_local_slack_server_refuses_what_slack_refuses_and_delivery_fails_for_an_officer() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "z" * (SECTION_LIMIT + 1)}}
    with running(["#harbour-trust"]) as slack:
        notifier = SlackNotifier(TOKEN, base_url=slack.url)
        for text, blocks, error in (
            ("hi", [section] * 51, "invalid_blocks"),
            ("hi", [too_long], "invalid_blocks"),
            ("t" * (TEXT_LIMIT + 1), [section], "msg_too_long"),
        ):
            with pytest.raises(DeliveryError) as refused:
                notifier.post(channel="#harbour-trust", text=text, blocks=blocks, key="k")
            assert (refused.value.code, refused.value.permanent) == (error, True)
        assert slack.received() == {}
        notifier.post(channel="#harbour-trust", text="hi", blocks=[section] * 50, key="k")  # at the limit: taken
        assert len(slack.received()["#harbour-trust"]) == 1
