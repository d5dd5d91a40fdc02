"""What the services need from the outside world, passed in (tests pass fakes)."""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from domain.contract import Contract
from domain.errors import ConfigError
from integrations.email.mailer import Mailer, SmtpMailer
from integrations.inbox import Inbox, open_inbox
from integrations.passwords import Passwords
from integrations.slack.notifier import Notifier, SlackNotifier
from integrations.workspace import Workspace
from models.audit import on_new_head
from models.db import ensure_schema, make_engine
from services.collector import collect_less_often
from services.history_guard import refuse_without_history
from services.roles import roles_in_force

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]
Seeds = Callable[[], str]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_seed() -> str:
    """A spot-check draw's seed: unforeseeable before the draw, recorded with it so that anyone can repeat it."""
    return secrets.token_hex(16)


@dataclass
class Deps:
    workspace: Workspace
    engine: Engine
    inbox: Inbox
    contract: Contract
    clock: Clock = utc_now
    notifier: Notifier | None = None  # None: messages wait in the outbox (no Slack token)
    mailer: Mailer | None = None  # None: emails wait in the outbox (no SMTP host)
    sleep: Sleep = time.sleep  # waiting out a right of reply (tests pass one that moves their clock)
    seeds: Seeds = new_seed  # spot-check draws (tests and the demo pass reproducible ones)
    passwords: Passwords = field(default_factory=Passwords)  # Argon2id (tests pass a cheaper cost)


def fixed_clock(moment: datetime) -> Clock:
    """A clock stopped at ``moment`` (the demo's simulated dates, tests)."""
    frozen = moment.astimezone(UTC)
    return lambda: frozen


def production_deps(workspace: Workspace, clock: Clock = utc_now) -> Deps:
    collect_less_often()  # every face files returns through these: the CLI, the portal, the flows
    contract = workspace.load_contract()  # a bad contract fails before the database is touched
    engine = make_engine(workspace.database_url)
    ensure_schema(engine)
    try:
        refuse_without_history(workspace, engine)  # an emptied or replaced database is not taken for a new one
    except ConfigError:
        engine.dispose()
        raise
    on_new_head(engine, workspace.write_audit_head)  # the chain's head, kept outside the database
    # Who holds which role is the database's record, not a file the caller chose (services/roles.py).
    contract = contract.model_copy(update={"roles": roles_in_force(engine, contract.roles, clock)})
    return Deps(
        workspace=workspace,
        engine=engine,
        inbox=open_inbox(workspace.inbox_location),
        contract=contract,
        clock=clock,
        notifier=slack_notifier(workspace),
        mailer=SmtpMailer(workspace.smtp, sender_name=contract.alliance.name) if workspace.smtp else None,
    )


def slack_notifier(workspace: Workspace) -> Notifier | None:
    if not workspace.slack_token:
        return None
    return SlackNotifier(token=workspace.slack_token, base_url=workspace.slack_base_url)
