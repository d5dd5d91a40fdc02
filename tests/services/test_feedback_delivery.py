"""The partner's message for a checked return: the counts, the first findings, how many more the workbook holds,
and the feedback workbook itself, in the partner's channel (and its email)."""

from collections.abc import Iterator

import pytest
from openpyxl import load_workbook

from integrations.inbox import read_file
from integrations.slack.fake_server import FakeSlack, running
from services.deps import Deps
from services.intake import process_file
from tests.helpers import clean_rows, return_bytes, summary_of
from tests.services.slack_helpers import MovingClock, channels_of, relay_until_done, relaying
from tests.services.test_intake import ON_TIME


@pytest.fixture
def slack(deps: Deps) -> Iterator[FakeSlack]:
    with running(channels_of(deps.contract)) as fake:
        yield fake


def eight_errors(deps: Deps) -> bytes:
    rows = clean_rows(8)
    for row in rows:
        row["into_work"] = "N/A"
    return return_bytes(deps.contract, rows=rows, summary=summary_of(clean_rows(8)))


def test_the_feedback_workbook_goes_to_the_partners_channel_with_a_message_counting_what_it_holds(
    deps: Deps, slack: FakeSlack
) -> None:
    clock = MovingClock(ON_TIME)
    relay = relaying(deps, slack, clock)
    (deps.workspace.inbox / "r.xlsx").parent.mkdir(parents=True, exist_ok=True)
    (deps.workspace.inbox / "r.xlsx").write_bytes(eight_errors(deps))
    outcome = process_file(
        deps, read_file(deps.workspace.inbox / "r.xlsx", received_at=ON_TIME, sender="harbour-trust")
    )
    assert [f.code for f in outcome.findings] == ["YESNO_INVALID"] * 8
    relay_until_done(relay, clock)

    [message] = [m for m in slack.received()["#harbour-trust"] if not m.thread_ts]
    assert "8 error(s)" in message.text and message.text.count("YESNO_INVALID") == 5
    assert "… and 3 more findings in the feedback workbook." in message.text
    assert "harbour-trust-2026-10-v1-feedback.xlsx`, attached" in message.text
    [(channel, shared)] = slack.shares()
    assert (channel, shared.name) == ("#harbour-trust", "harbour-trust-2026-10-v1-feedback.xlsx")
    book = load_workbook(deps.workspace.feedback_dir / "2026-10" / shared.name)
    assert sum(1 for row in book["Issues"].iter_rows(values_only=True) if "YESNO_INVALID" in row) == 8


def test_a_message_with_few_findings_lists_them_all_and_promises_no_more() -> None:
    from domain.findings import Finding
    from services.messages import return_processed

    text = return_processed(
        partner_name="Harbour Trust",
        period="2026-10",
        version=1,
        filename="r.xlsx",
        status="rejected",
        findings=[Finding("NO_ROWS", sheet="Participants")],
        late=False,
        feedback="f.xlsx",
        attached=True,
    )
    assert "NO_ROWS" in text and "more" not in text
