"""Relaying the outbox to the local Slack test server, against the floor of posting the same
messages straight through slack_sdk (no database, no claim, no routing check).

Also a faulty run: the same messages with seeded 429s, 500s, slow and lost replies, counting
passes, requests and what arrived (it must be every message exactly once).
"""

import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from integrations.slack.blocks import message_blocks
from integrations.slack.fake_server import TOKEN, FakeSlack, RandomFaults, running
from integrations.slack.notifier import SlackNotifier
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.demo import contract_yaml
from services.deps import Deps, fixed_clock, production_deps
from services.notifications import deliver_notifications

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


def relay(messages: int = 2000, partners: int = 40) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        deps = _alliance(Path(folder), partners)
        channels = [p.slack_channel for p in deps.contract.partners if p.slack_channel]
        with running(channels) as slack:
            floor = _post_directly(slack, channels, messages)
        with running(channels) as slack:
            _queue(deps, messages)
            deps = replace(deps, notifier=SlackNotifier(token=TOKEN, base_url=slack.url))
            start = time.perf_counter()
            report = deliver_notifications(deps)
            ours = time.perf_counter() - start
            arrived = _arrivals(slack)
        faulty = _faulty(Path(folder), partners, messages // 4)
    return {
        "messages": messages,
        "partners": partners,
        "direct_post_seconds": round(floor, 3),
        "relay_seconds": round(ours, 3),
        "ratio_to_direct_post": round(ours / floor, 2),
        "relay_messages_per_second": round(messages / ours),
        "sent": len(report.sent),
        "arrived_once": sum(1 for n in arrived.values() if n == 1),
        "arrived_twice_or_more": sum(1 for n in arrived.values() if n > 1),
        "with_faults": faulty,
    }


def _alliance(folder: Path, partners: int) -> Deps:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "alliance.yaml").write_text(contract_yaml(partners))
    deps = production_deps(Workspace(root=folder, database_url=f"sqlite:///{folder / 'a.db'}"), clock=lambda: START)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


def _text(n: int) -> str:
    return f"*Partner {n}*: your return for *2026-10* was accepted.\n0 error(s), 0 warning(s)."


def _post_directly(slack: FakeSlack, channels: list[str], messages: int) -> float:
    client = WebClient(token=TOKEN, base_url=slack.url)
    ids = client.conversations_list()["channels"]
    by_name = {f"#{c['name']}": c["id"] for c in ids}
    start = time.perf_counter()
    for n in range(messages):
        text = _text(n)
        blocks = message_blocks(kind="return_processed", text=text, context="bench")
        client.chat_postMessage(channel=by_name[channels[n % len(channels)]], text=text, blocks=blocks)
    return time.perf_counter() - start


def _queue(deps: Deps, messages: int) -> None:
    partners = deps.contract.partners
    with session_scope(deps.engine) as session:
        for n in range(messages):
            partner = partners[n % len(partners)]
            repo.enqueue(
                session,
                dedup_key=f"bench:{n}",
                channel=partner.slack_channel or "",
                partner_id=partner.id,
                kind="return_processed",
                text=_text(n),
                at=START,
            )


def _arrivals(slack: FakeSlack) -> Counter[str]:
    return Counter(m.key for messages in slack.received().values() for m in messages if m.key)


def _faulty(folder: Path, partners: int, messages: int) -> dict[str, Any]:
    deps = _alliance(folder / "faulty", partners)
    faults = RandomFaults(seed=7, rate_limited=0.03, server_error=0.05, slow=0.04, lost=0.03)
    channels = [p.slack_channel for p in deps.contract.partners if p.slack_channel]
    now = START
    with running(channels, faults=faults, delay=0.5) as slack:
        _queue(deps, messages)
        notifier = SlackNotifier(token=TOKEN, base_url=slack.url, timeout=0.25)
        passes, pending = 0, messages
        while pending and passes < 60:
            report = deliver_notifications(replace(deps, notifier=notifier, clock=fixed_clock(now)))
            pending, passes, now = report.pending, passes + 1, now + timedelta(hours=1, minutes=1)
        arrived = _arrivals(slack)
        injected = Counter(str(fault) for _, fault in slack.requests if fault is not None)
    return {
        "messages": messages,
        "passes": passes,
        "requests": len(slack.requests),
        "faults_injected": dict(injected),
        "lost": messages - len(arrived),
        "duplicated": sum(1 for n in arrived.values() if n > 1),
    }
