"""Issue 31, case 11: a return with a megabyte in one cell still reaches its partner, within Slack's limits (50
blocks, 3,000 characters a section, 40,000 of text) and as an email of a readable length: a message quotes the
value's beginning, and the feedback workbook holds the rest."""

import random
import string
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from domain.text import QUOTE_LIMIT
from integrations.email.mailer import SmtpMailer
from integrations.slack.fake_server import MAX_BLOCKS, FakeSlack, beyond_limits, running
from services.deps import Deps
from services.notifications import deliver_notifications
from tests.helpers import clean_rows, return_bytes, rewrite_parts, summary_of
from tests.services.slack_helpers import MovingClock, channels_of, outbox, relay_until_done, relaying
from tests.services.test_email_delivery import Clock, alliance
from tests.services.test_intake import ON_TIME, submit
from tests.smtp_server import Mailbox, smtp_server

MEGABYTE = 1_000_000
READABLE = 4_000  # characters: a message a partner reads through, whatever the return held


def huge_value() -> str:
    """A megabyte of letters that do not compress (a repeated letter would be refused as a zip bomb)."""
    rng = random.Random(31)
    return "".join(rng.choices(string.ascii_letters, k=MEGABYTE))


def return_with_a_huge_cell(deps: Deps, value: str) -> bytes:
    """Harbour Trust's return with ``value`` under into_work in one row and "N/A" in seven more: eight errors."""
    rows = clean_rows(8)
    for row in rows:
        row["into_work"] = "N/A"
    rows[0]["into_work"] = "HUGEVALUE"
    content = return_bytes(deps.contract, rows=rows, summary=summary_of(clean_rows(8)))
    return rewrite_parts(content, {"xl/worksheets/sheet2.xml": lambda xml: xml.replace(b"HUGEVALUE", value.encode())})


@pytest.fixture
def slack(deps: Deps) -> Iterator[FakeSlack]:
    with running(channels_of(deps.contract)) as fake:
        yield fake


def test_a_megabyte_cell_reaches_the_partner_in_slack_within_slacks_limits(deps: Deps, slack: FakeSlack) -> None:
    value = huge_value()
    outcome = submit(deps, "r.xlsx", return_with_a_huge_cell(deps, value), sender="harbour-trust")
    assert [f.code for f in outcome.findings] == ["YESNO_INVALID"] * 8
    assert max(len(f.value or "") for f in outcome.findings) == MEGABYTE  # the finding keeps it all (the workbook)
    clock = MovingClock(ON_TIME)
    relay_until_done(relaying(deps, slack, clock), clock)

    assert [(n.kind, n.status, n.last_error) for n in outbox(deps)] == [("return_processed", "sent", None)]
    [message] = [m for m in slack.received()["#harbour-trust"] if not m.thread_ts]
    assert beyond_limits(message.text, message.blocks) is None and len(message.blocks) <= MAX_BLOCKS
    assert len(message.text) < READABLE
    assert f"'{value[: QUOTE_LIMIT - 1]}…' under" in message.text  # its beginning, and an ellipsis for the rest
    assert value[: QUOTE_LIMIT + 1] not in message.text
    assert "8 error(s)" in message.text and "… and 3 more findings in the feedback workbook." in message.text
    [(channel, _)] = slack.shares()  # the feedback workbook, with every finding whole, goes with it
    assert channel == "#harbour-trust"


def test_a_megabyte_cell_reaches_the_partner_as_an_email_of_a_readable_length(tmp_path: Path) -> None:
    value = huge_value()
    deps = alliance(tmp_path / "ws", Clock())  # Harbour Trust has email addresses and no Slack channel
    submit(deps, "r.xlsx", return_with_a_huge_cell(deps, value), sender="harbour-trust")
    with smtp_server() as (mailbox, smtp):
        report = deliver_notifications(replace(deps, mailer=SmtpMailer(smtp)))
        assert report.failed == [] and report.pending == 0
        assert isinstance(mailbox, Mailbox)
        [first] = mailbox.to("ops@harbour.org")
    body = next(part for part in first.walk() if part.get_content_type() == "text/plain").get_content()
    assert len(body) < READABLE
    assert f"'{value[: QUOTE_LIMIT - 1]}…' under" in body and value[: QUOTE_LIMIT + 1] not in body
