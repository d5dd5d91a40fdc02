"""Issue 31, case 15: a right-to-left override (U+202E) or another bidi or zero-width character in a return's file
name reaches neither Slack nor email as itself: it is shown as its escape, so ``invoice<U+202E>fdp.xlsx`` cannot
read as ``invoicexslx.pdf``. Slack's mentions stay text, and names in other scripts arrive as written."""

import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from integrations.email.mailer import SmtpMailer
from integrations.slack.fake_server import FakeSlack, Message, running
from services.deps import Deps
from services.notifications import deliver_notifications
from tests.helpers import clean_rows, return_bytes
from tests.services.slack_helpers import MovingClock, channels_of, relay_until_done, relaying
from tests.services.test_email_delivery import Clock, alliance
from tests.services.test_intake import ON_TIME, submit
from tests.smtp_server import smtp_server

HOSTILE = "<!channel> invoice\u202efdp\u200b.xlsx"  # read as "invoice xslx.pdf", with a ping and a hidden space
SHOWN = "invoice\\u202efdp\\u200b.xlsx"
JAPANESE = "月次報告_2026年10月.xlsx"


def format_characters(text: str) -> list[str]:
    return [f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) == "Cf"]


def everything_shown(message: Message) -> str:
    texts = [message.text]
    for block in message.blocks:
        texts += [(block.get("text") or {}).get("text") or ""]
        texts += [element.get("text") or "" for element in block.get("elements") or []]
    return "\n".join(texts)


@pytest.fixture
def slack(deps: Deps) -> Iterator[FakeSlack]:
    with running(channels_of(deps.contract)) as fake:
        yield fake


def test_a_bidi_override_in_a_file_name_reaches_slack_as_its_escape_and_other_scripts_as_written(
    deps: Deps, slack: FakeSlack
) -> None:
    submit(deps, HOSTILE, return_bytes(deps.contract), sender="harbour-trust")
    rows = [{**row, "participant_id": f"C{n}"} for n, row in enumerate(clean_rows())]  # no one claimed twice
    submit(deps, JAPANESE, return_bytes(deps.contract, "city-mind", rows=rows), sender="city-mind")
    clock = MovingClock(ON_TIME)
    relay_until_done(relaying(deps, slack, clock), clock)

    [harbour] = [m for m in slack.received()["#harbour-trust"] if not m.thread_ts]
    shown = everything_shown(harbour)
    assert format_characters(shown) == []
    assert f"`&lt;!channel&gt; {SHOWN}`" in harbour.text  # the name, its escapes visible, the mention inert
    assert "<!channel>" not in shown
    [city] = [m for m in slack.received()["#city-mind"] if not m.thread_ts]
    assert f"`{JAPANESE}`" in city.text


def test_a_bidi_override_in_a_file_name_reaches_email_as_its_escape(tmp_path: Path) -> None:
    deps = alliance(tmp_path / "ws", Clock())  # Harbour Trust has email addresses and no Slack channel
    submit(deps, HOSTILE, return_bytes(deps.contract), sender="harbour-trust")
    with smtp_server() as (mailbox, smtp):
        report = deliver_notifications(replace(deps, mailer=SmtpMailer(smtp)))
        assert report.failed == [] and report.pending == 0
        [first] = mailbox.to("ops@harbour.org")
    body = next(part for part in first.walk() if part.get_content_type() == "text/plain").get_content()
    assert f"<!channel> {SHOWN}" in body  # plain text: the mention is only words in an email
    assert format_characters(body) == [] and format_characters(str(first["Subject"])) == []
