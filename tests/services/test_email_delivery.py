"""Email as a channel of the outbox: a partner's messages go to its addresses as well as (or instead of) its Slack
channel, through the same outbox with retries and no duplicates; invitations and resets go to the person.
Delivered to a local SMTP server (aiosmtpd), on SQLite and PostgreSQL."""

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from domain.access import Role, for_account
from domain.accounts import LinkPurpose
from integrations.email.mailer import SmtpMailer, message_id
from integrations.slack.fake_server import TOKEN, running
from integrations.slack.notifier import SlackNotifier
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import Notification
from services import accounts, outbox
from services.deps import Deps, production_deps
from services.notifications import deliver_notifications
from tests.conftest import EXAMPLE
from tests.smtp_server import Mailbox, smtp_server

START = datetime(2026, 11, 16, 9, tzinfo=UTC)
OFFICER = for_account(account_id=0, who="Test officer", role=Role.officer, partner_id=None)
CONTRACT = (
    EXAMPLE.read_text()
    .replace(
        'slack_channel: "#harbour-trust"}',
        "email: [Ops@Harbour.org, ceo@harbour.org]}",  # a charity without Slack
    )
    .replace('slack_channel: "#city-mind"}', 'slack_channel: "#city-mind", email: finance@citymind.org}')
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def mail() -> Iterator[tuple[Mailbox, object]]:
    with smtp_server() as server:
        yield server


def alliance(root: Path, clock: Clock, engine: Engine | None = None) -> Deps:
    root.mkdir(parents=True, exist_ok=True)
    (root / "alliance.yaml").write_text(CONTRACT)
    url = engine.url.render_as_string(hide_password=False) if engine is not None else f"sqlite:///{root / 'a.db'}"
    deps = production_deps(
        Workspace(root=root, database_url=url, base_url="https://returns.alliance.test"), clock=clock
    )
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


def tell(deps: Deps, partner_id: str, key: str, text: str, payload: dict[str, str] | None = None) -> None:
    partner = deps.contract.partner(partner_id)
    assert partner is not None
    with session_scope(deps.engine) as session:
        outbox.tell_partner(
            session,
            partner,
            dedup_key=key,
            kind="statement_issued" if payload else "return_processed",
            text=text,
            at=deps.clock(),
            payload=payload,
        )


def rows(deps: Deps) -> list[Notification]:
    with session_scope(deps.engine) as session:
        return list(session.exec(select(Notification).order_by(Notification.id)))  # type: ignore[arg-type]


def test_a_partners_message_goes_to_each_of_its_addresses_once_with_its_statement(
    engine: Engine, tmp_path: Path, mail: tuple[Mailbox, object]
) -> None:
    mailbox, smtp = mail
    clock = Clock()
    deps = alliance(tmp_path / "ws", clock, engine)
    deps = replace(deps, mailer=SmtpMailer(smtp))  # type: ignore[arg-type]
    statement = deps.workspace.statements_dir / "2026-10" / "v1" / "harbour-trust-2026-10-v1.xlsx"
    statement.parent.mkdir(parents=True)
    statement.write_bytes(b"PK statement of harbour")
    tell(deps, "harbour-trust", "return:1", "*Harbour Trust*: your return `a<b>.xlsx` was accepted &amp; filed")
    tell(deps, "harbour-trust", "statement:1", "*Harbour Trust*: statement", {"file": "2026-10/v1/" + statement.name})
    assert sorted(n.channel for n in rows(deps)) == [
        "email:ceo@harbour.org",
        "email:ceo@harbour.org",
        "email:ops@harbour.org",
        "email:ops@harbour.org",
    ]
    report = deliver_notifications(deps)
    assert len(report.sent) == 4 and report.pending == 0
    [first, second] = mailbox.to("ops@harbour.org")
    assert first["Subject"] == "Return processed: Northfield Wellbeing Alliance"
    assert "Harbour Trust: your return a<b>.xlsx was accepted & filed" in first.get_content()
    assert "https://returns.alliance.test/" in first.get_content()  # where to read every finding
    assert first["Message-ID"] == message_id("return:1|email:ops@harbour.org", "alliance.test")
    [attachment] = list(second.iter_attachments())
    assert attachment.get_filename() == "harbour-trust-2026-10-v1.xlsx"
    assert attachment.get_content() == b"PK statement of harbour"
    assert len(mailbox.to("ceo@harbour.org")) == 2
    again = deliver_notifications(deps)  # nothing twice
    assert again.sent == [] and len(mailbox.received) == 4


def test_slack_and_email_are_delivered_each_by_its_own_relay(tmp_path: Path, mail: tuple[Mailbox, object]) -> None:
    mailbox, smtp = mail
    deps = alliance(tmp_path / "ws", Clock())
    tell(deps, "city-mind", "return:2", "*City Mind*: accepted")
    with running(["#city-mind"]) as slack:
        slack_only = replace(deps, notifier=SlackNotifier(token=TOKEN, base_url=slack.url))
        assert len(deliver_notifications(slack_only).sent) == 1 and mailbox.received == []
        email_only = replace(deps, mailer=SmtpMailer(smtp))  # type: ignore[arg-type]
        assert len(deliver_notifications(email_only).sent) == 1
        assert len(slack.received()["#city-mind"]) == 1
    assert [m["To"] for m in mailbox.received] == ["finance@citymind.org"]


def test_a_mail_server_saying_later_is_retried_and_one_refusing_the_address_fails_for_an_officer(
    tmp_path: Path, mail: tuple[Mailbox, object]
) -> None:
    mailbox, smtp = mail
    clock = Clock()
    deps = replace(alliance(tmp_path / "ws", clock), mailer=SmtpMailer(smtp))  # type: ignore[arg-type]
    mailbox.data_replies = ["451 4.3.0 try again later"]
    mailbox.refuse_recipients = {"ceo@harbour.org": "550 5.1.1 no such user"}
    tell(deps, "harbour-trust", "return:3", "*Harbour Trust*: accepted")
    report = deliver_notifications(deps)
    assert [code for _, code in report.retrying] == ["smtp_451"]
    assert [code for _, code in report.failed] == ["smtp_recipient_refused_550"]
    assert deliver_notifications(deps).sent == []  # not before its backoff
    clock.now += timedelta(minutes=5)
    assert len(deliver_notifications(deps).sent) == 1
    assert [m["To"] for m in mailbox.received] == ["ops@harbour.org"]
    with session_scope(deps.engine) as session:
        assert len(repo.requeue_failed(session)) == 1  # `alliance notifications retry`, once the address is fixed


def test_no_mail_server_is_a_retry_not_a_loss(tmp_path: Path) -> None:
    from integrations.workspace import Smtp
    from tests.smtp_server import free_port

    clock = Clock()
    deps = alliance(tmp_path / "ws", clock)
    deps = replace(deps, mailer=SmtpMailer(Smtp(host="127.0.0.1", port=free_port(), security="none"), timeout=2))
    tell(deps, "harbour-trust", "return:4", "*Harbour Trust*: accepted")
    report = deliver_notifications(deps)
    assert report.sent == [] and len(report.retrying) == 2 and report.pending == 2


def test_a_partners_email_goes_only_to_an_address_the_contract_gives_it_now(
    tmp_path: Path, mail: tuple[Mailbox, object]
) -> None:
    mailbox, smtp = mail
    deps = replace(alliance(tmp_path / "ws", Clock()), mailer=SmtpMailer(smtp))  # type: ignore[arg-type]
    with session_scope(deps.engine) as session:
        repo.enqueue(
            session,
            dedup_key="x",
            channel="email:finance@citymind.org",
            partner_id="harbour-trust",
            kind="return_processed",
            text="harbour's news",
            at=START,
        )
        repo.enqueue(
            session,
            dedup_key="y",
            channel="email:someone@else.org",
            kind="invitation",
            text="an invitation nobody issued",
            at=START,
            payload={"account_id": 99, "link_id": 99},
        )
    report = deliver_notifications(deps)
    assert sorted(error.split(":")[0] for _, error in report.failed) == [
        "ROUTE_NOT_AN_ACCOUNT",
        "ROUTE_PARTNER_CHANNEL_MISMATCH",
    ]
    assert mailbox.received == []


def test_an_invitation_is_emailed_with_a_link_that_sets_the_password(
    tmp_path: Path, mail: tuple[Mailbox, object]
) -> None:
    mailbox, smtp = mail
    deps = replace(alliance(tmp_path / "ws", Clock()), mailer=SmtpMailer(smtp))  # type: ignore[arg-type]
    accounts.invite(
        deps, email="New.Person@Harbour.org", name="New Person", role="partner", partner_id="harbour-trust", by=OFFICER
    )
    assert len(deliver_notifications(deps).sent) == 1
    [message] = mailbox.to("new.person@harbour.org")
    body = message.get_content()
    assert "Dear New Person" in body and "48 hours" in body
    link = re.search(r"https://returns\.alliance\.test/account/set-password/(\S+)", body)
    assert link
    account = accounts.set_password(
        deps,
        token=link.group(1),
        purpose=LinkPurpose.invitation,
        password="a long enough passphrase",
        confirm="a long enough passphrase",
    )
    assert account.password_hash and account.password_hash.startswith("$argon2id$")
    with session_scope(deps.engine) as session:
        stored = session.exec(select(Notification).where(Notification.kind == "invitation")).one()
    assert link.group(1) not in stored.text + stored.payload  # the outbox never held the link itself
