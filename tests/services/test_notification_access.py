"""Every kind of message the services write, for every partner, delivered through the local Slack
server: a partner's channel only ever holds that partner's messages and files."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.periods import Period
from integrations.slack.fake_server import running
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.claims import report_duplicate_claims
from services.demo import contract_yaml
from services.deps import Deps, production_deps
from services.locks import unlock_return
from services.notifications import deliver_notifications
from services.payment_approval import approve_run
from services.payments import run_payments
from services.reminders import send_reminders
from services.statements import write_statements
from tests.helpers import OCTOBER, clean_rows, return_bytes
from tests.services.payments_helpers import ON_TIME, submit
from tests.services.slack_helpers import MovingClock, channels_of, keyed_messages, outbox, relaying

NASTY = "<!channel> *bold* <https://evil|click>"
PARTNER_KINDS = {
    "return_processed",
    "duplicate_claim",
    "reminder_before_deadline",
    "reminder_overdue",
    "statement_issued",
    "return_unlocked",
}
OFFICER_KINDS = {
    "quarantined_file",
    "duplicate_claims",
    "overdue_summary",
    "payment_run_draft",
    "locked_return_received",
    "return_unlocked",
}


def alliance_needing_approval(tmp_path: Path, clock: MovingClock) -> Deps:
    yaml = contract_yaml(6).replace("require_officer_approval: false", "require_officer_approval: true")
    (tmp_path / "alliance.yaml").write_text(yaml)
    deps = production_deps(Workspace(root=tmp_path, database_url=f"sqlite:///{tmp_path / 'a.db'}"), clock=clock)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


def rows_of(index: int) -> list[dict[str, Any]]:
    rows = clean_rows(period=OCTOBER)
    for n, row in enumerate(rows):
        row["participant_id"] = f"P{index}-{n}"
    if index in (0, 1):
        rows[0]["participant_id"] = "SHARED-1"  # claimed by two partners
    return rows


def every_kind_of_message(deps: Deps, clock: MovingClock) -> None:
    partners = sorted(deps.contract.partners, key=lambda p: p.id)
    bad = rows_of(2)
    bad[1]["complexity_band"] = NASTY
    submit(deps, f"{NASTY.replace('/', '')} first try.xlsx", return_bytes(deps.contract, partners[2].id, rows=bad))
    for index, partner in enumerate(partners):
        submit(deps, f"{partner.name} October.xlsx", return_bytes(deps.contract, partner.id, rows=rows_of(index)))
    submit(deps, "case system export.xlsx", b"participant_id,referral_date\r\nX-1,03/10/2026\r\n")
    report_duplicate_claims(deps, OCTOBER)
    write_statements(deps, run_payments(deps, OCTOBER).run)
    write_statements(deps, approve_run(deps, OCTOBER, by="Ada Officer").run)
    fix = rows_of(3)
    fix[0]["wellbeing_up"] = "No"  # a real correction: the same bytes again would be a duplicate, not a refusal
    submit(deps, "late fix.xlsx", return_bytes(deps.contract, partners[3].id, rows=fix))
    unlock_return(deps, OCTOBER, partner_id=partners[3].id, reason=f"agreed fix {NASTY}", by="Ada Officer")
    november = Period(2026, 11)
    for day in (11, 15):  # three days before November's due date, then the day after it
        clock.now = datetime(2026, 12, day, 9, tzinfo=UTC)
        assert send_reminders(deps).queued, november


def test_no_partner_ever_receives_another_partners_message_or_file(tmp_path: Path) -> None:
    clock = MovingClock(ON_TIME)
    deps = alliance_needing_approval(tmp_path, clock)
    every_kind_of_message(deps, clock)
    contract = deps.contract
    owner = {p.slack_channel: p for p in contract.partners}
    with running(channels_of(contract)) as slack:
        report = deliver_notifications(relaying(deps, slack, clock))
        delivered = keyed_messages(slack)
        received = slack.received()
        shares = slack.shares()
    rows = {n.dedup_key: n for n in outbox(deps)}
    assert report.pending == 0 and not report.failed and len(delivered) == len(rows)

    kinds_by_audience: dict[str, set[str]] = {"partner": set(), "officers": set()}
    crossings = []
    for key, [message] in delivered.items():
        row, channel = rows[key], f"#{message.channel}"
        text = message.text + json.dumps(message.blocks)
        partner = owner.get(channel)
        if partner is None:
            assert row.partner_id is None and channel == contract.alliance.officers_channel
            kinds_by_audience["officers"].add(row.kind)
            continue
        kinds_by_audience["partner"].add(row.kind)
        others = [p for p in contract.partners if p.id != partner.id]
        if row.partner_id != partner.id or any(p.name in text or p.id in text for p in others):
            crossings.append((channel, row.kind, message.text))
    crossings += [(channel, "file", f.name) for channel, f in shares if not f.name.startswith(owner[channel].id + "-")]
    assert crossings == []
    assert kinds_by_audience == {"partner": PARTNER_KINDS, "officers": OFFICER_KINDS}
    statements = [channel for channel, f in shares if not f.name.endswith("-feedback.xlsx")]
    assert sorted(statements) == sorted(p.slack_channel for p in contract.partners)
    # Each return's feedback workbook went with its message (issue 28), to its own partner only (crossings above).
    assert {channel for channel, f in shares if f.name.endswith("-feedback.xlsx")} == {
        p.slack_channel for p in contract.partners
    }
    assert all(received.get(p.slack_channel) for p in contract.partners)


def test_partner_text_arrives_escaped_in_the_message_and_its_blocks(tmp_path: Path) -> None:
    clock = MovingClock(ON_TIME)
    deps = alliance_needing_approval(tmp_path, clock)
    partner = sorted(deps.contract.partners, key=lambda p: p.id)[0]
    rows = rows_of(0)
    rows[1]["complexity_band"] = NASTY
    submit(deps, "<!channel> *bold* _x_.xlsx", return_bytes(deps.contract, partner.id, rows=rows))
    with running(channels_of(deps.contract)) as slack:
        deliver_notifications(relaying(deps, slack, clock))
        [message] = [m for m in slack.received()[partner.slack_channel] if m.thread_ts is None]
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    for text in (message.text, "\n".join(sections)):
        assert "<" not in text and ">" not in text  # no mention, no link can form
        assert "&lt;!channel&gt;" in text and "&lt;https://evil|click&gt;" in text
        assert "'&lt;!channel&gt; \u2217bold\u2217 &lt;https://evil|click&gt;' is not a complexity band" in text
        assert "`&lt;!channel&gt; *bold* _x_.xlsx`" in text  # a file name is shown verbatim, in a code span
    assert message.blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Return processed"}}
