"""Relaying the outbox to the local Slack test server, with a clock the test moves."""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.contract import Contract
from integrations.slack.fake_server import TOKEN, FakeSlack, Message
from integrations.slack.notifier import SlackNotifier
from models import repo
from models.db import session_scope
from models.tables import Notification
from services.deps import Deps
from services.notifications import DeliveryReport, deliver_notifications

CLIENT_TIMEOUT = 0.25  # the server's slow replies (delay) take longer than this


@dataclass
class MovingClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def channels_of(contract: Contract) -> list[str]:
    return [p.slack_channel for p in contract.partners] + [
        contract.alliance.officers_channel,
        contract.alliance.board_channel,
    ]


def relaying(deps: Deps, slack: FakeSlack, clock: MovingClock) -> Deps:
    notifier = SlackNotifier(token=TOKEN, base_url=slack.url, timeout=CLIENT_TIMEOUT)
    return replace(deps, notifier=notifier, clock=clock)


def relay_until_done(deps: Deps, clock: MovingClock, *, passes: int = 60) -> list[DeliveryReport]:
    """Relay passes an hour apart (past any backoff) until nothing is pending."""
    reports = []
    for _ in range(passes):
        reports.append(deliver_notifications(deps))
        if reports[-1].pending == 0:
            break
        clock.advance(timedelta(hours=1, minutes=1))
    return reports


def outbox(deps: Deps) -> list[Notification]:
    with session_scope(deps.engine) as session:
        return repo.notifications(session)


def keyed_messages(slack: FakeSlack) -> dict[str, list[Message]]:
    """Every top-level message the server holds, by the outbox key in its metadata."""
    found: dict[str, list[Message]] = {}
    for messages in slack.received().values():
        for message in messages:
            if message.key is not None:
                found.setdefault(message.key, []).append(message)
    return found
