import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from domain.notifications import RouteProblem
from integrations.slack.fake_server import FakeSlack, Fault, RandomFaults, running
from integrations.slack.notifier import SlackNotifier
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.demo import contract_yaml
from services.deps import Deps, production_deps
from services.notifications import GIVE_UP_AFTER, LEASE, deliver_notifications
from tests.services.slack_helpers import MovingClock, channels_of, keyed_messages, outbox, relay_until_done, relaying

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


@pytest.fixture
def alliance(tmp_path: Path) -> Deps:
    """Twelve partners, each with its own channel, on SQLite."""
    (tmp_path / "alliance.yaml").write_text(contract_yaml(12))
    workspace = Workspace(root=tmp_path, database_url=f"sqlite:///{tmp_path / 'alliance.db'}")
    deps = production_deps(workspace, clock=lambda: START)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


@pytest.fixture
def slack(alliance: Deps) -> Iterator[FakeSlack]:
    with running(channels_of(alliance.contract), delay=0.6) as fake:
        yield fake


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(START)


def queue(deps: Deps, count: int, *, statements_every: int = 0) -> list[str]:
    """``count`` messages across every partner's channel, the officers' and the board's; keys in order."""
    contract = deps.contract
    partners = sorted(contract.partners, key=lambda p: p.id)
    keys = []
    with session_scope(deps.engine) as session:
        for n in range(count):
            payload: dict[str, Any] = {}
            audience = n % (len(partners) + 2)
            if audience < len(partners):
                partner = partners[audience]
                channel, partner_id, text = partner.slack_channel, partner.id, f"*{partner.name}*: message {n}"
                if statements_every and n % statements_every == 0:
                    name = f"{partner.id}-2026-10-v{n}.xlsx"
                    path = deps.workspace.statements_dir / "2026-10" / f"v{n}" / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(f"statement {n} of {partner.id}".encode())
                    payload = {"statement": name, "file": f"2026-10/v{n}/{name}"}
            elif audience == len(partners):
                channel, partner_id, text = contract.alliance.officers_channel, None, f"officers: message {n}"
            else:
                channel, partner_id, text = contract.alliance.board_channel, None, f"board: message {n}"
            key = f"test:{n}"
            repo.enqueue(
                session,
                dedup_key=key,
                channel=channel,
                partner_id=partner_id,
                kind="statement_issued" if payload else "return_processed",
                text=text,
                at=START,
                payload=payload,
            )
            keys.append(key)
    return keys


def test_without_slack_every_message_waits_in_the_outbox(alliance: Deps) -> None:
    queue(alliance, 5)
    report = deliver_notifications(alliance)
    assert report.outbox_only and report.pending == 5
    assert {n.status for n in outbox(alliance)} == {"pending"} and all(n.attempts == 0 for n in outbox(alliance))


def test_a_pass_delivers_each_message_once_with_its_slack_timestamp(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    keys = queue(deps, 20)
    first = deliver_notifications(deps)
    second = deliver_notifications(deps)
    assert (len(first.sent), first.pending, second.sent) == (20, 0, [])
    delivered = keyed_messages(slack)
    assert sorted(delivered) == sorted(keys) and all(len(m) == 1 for m in delivered.values())
    for row in outbox(deps):
        assert row.status == "sent" and row.slack_ts == delivered[row.dedup_key][0].ts and row.sent_at == START
        assert f"#{delivered[row.dedup_key][0].channel}" == row.channel


def test_a_message_slack_took_but_whose_reply_was_lost_is_found_not_sent_again(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1)
    slack.fail_next("chat.postMessage", Fault.slow)
    first = deliver_notifications(deps)
    assert first.retrying and first.retrying[0][1].startswith("no_reply")
    [row] = outbox(deps)
    assert (row.status, row.attempts) == ("pending", 1) and row.next_attempt_at == START + timedelta(seconds=30)
    assert deliver_notifications(deps).sent == []  # not due yet
    clock.advance(timedelta(seconds=30))
    second = deliver_notifications(deps)
    assert second.found == second.sent == [row.id]
    assert [len(m) for m in keyed_messages(slack).values()] == [1]


def test_a_message_that_never_reached_slack_is_sent_on_the_next_pass(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1)
    slack.fail_next("chat.postMessage", Fault.lost)
    assert deliver_notifications(deps).retrying
    assert keyed_messages(slack) == {}
    clock.advance(timedelta(minutes=1))
    second = deliver_notifications(deps)
    assert second.sent and not second.found
    assert [len(m) for m in keyed_messages(slack).values()] == [1]


def test_rate_limits_and_server_errors_are_retried_later_with_backoff(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1)
    slack.fail_next("chat.postMessage", Fault.rate_limited, Fault.rate_limited, Fault.rate_limited, Fault.server_error)
    assert deliver_notifications(deps).retrying[0][1] == "ratelimited"  # the client's own retries ran out
    clock.advance(timedelta(seconds=30))
    assert deliver_notifications(deps).retrying[0][1] == "internal_error"
    [row] = outbox(deps)
    assert row.next_attempt_at == clock.now + timedelta(seconds=60) and row.attempts == 2
    clock.advance(timedelta(seconds=60))
    assert deliver_notifications(deps).sent == [row.id]
    assert [len(m) for m in keyed_messages(slack).values()] == [1]


def test_a_relay_that_dies_after_slack_took_the_message_leaves_it_to_be_found(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1)
    notifier = deps.notifier
    assert isinstance(notifier, SlackNotifier)

    class DiesAfterPosting(SlackNotifier):
        def post(self, **kwargs: Any) -> str:
            super().post(**kwargs)
            raise KeyboardInterrupt  # the process is killed before the timestamp is saved

    dying = replace(deps, notifier=DiesAfterPosting(token=notifier.token, base_url=notifier.base_url, timeout=1))
    with pytest.raises(KeyboardInterrupt):
        deliver_notifications(dying)
    assert deliver_notifications(deps).sent == []  # another relay leaves it alone while the lease runs
    clock.advance(LEASE)
    again = deliver_notifications(deps)
    assert again.found == again.sent and len(again.sent) == 1
    assert [len(m) for m in keyed_messages(slack).values()] == [1]


def test_a_statement_file_is_shared_once_in_its_partners_thread(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1, statements_every=1)
    [row] = outbox(deps)
    slack.fail_next("files.completeUploadExternal", Fault.slow)
    assert deliver_notifications(deps).retrying
    clock.advance(timedelta(minutes=1))
    assert deliver_notifications(deps).sent == [row.id]
    shares = slack.shares()
    assert [(channel, f.name, f.content) for channel, f in shares] == [
        (row.channel, f"{row.partner_id}-2026-10-v0.xlsx", f"statement 0 of {row.partner_id}".encode())
    ]
    [message] = keyed_messages(slack)[row.dedup_key]
    thread = [m for m in slack.received()[row.channel] if m.files]
    assert [m.thread_ts for m in thread] == [message.ts]


def test_a_statement_not_yet_written_waits_for_the_next_pass(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1, statements_every=1)
    [row] = outbox(deps)
    path = deps.workspace.statements_dir / json.loads(row.payload)["file"]
    content = path.read_bytes()
    path.unlink()
    assert deliver_notifications(deps).retrying == [(row.id, "statement_file_not_written_yet")]
    path.write_bytes(content)
    clock.advance(timedelta(minutes=1))
    assert deliver_notifications(deps).sent == [row.id]
    assert len(keyed_messages(slack)[row.dedup_key]) == 1 and len(slack.shares()) == 1


def test_a_message_queued_for_another_partners_channel_is_refused_not_sent(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    a, b = sorted(deps.contract.partners, key=lambda p: p.id)[:2]
    with session_scope(deps.engine) as session:
        repo.enqueue(
            session, dedup_key="misrouted", channel=b.slack_channel, partner_id=a.id, kind="k", text="x", at=START
        )
        repo.enqueue(
            session,
            dedup_key="someone-elses-file",
            channel=a.slack_channel,
            partner_id=a.id,
            kind="statement_issued",
            text="x",
            at=START,
            payload={"file": f"2026-10/v1/{b.id}-2026-10-v1.xlsx"},
        )
    report = deliver_notifications(deps)
    assert [e.split(":")[0] for _, e in report.failed] == [
        RouteProblem.partner_channel_mismatch.value,
        RouteProblem.file_of_another_partner.value,
    ]
    assert slack.received() == {} and slack.shares() == []


def test_an_unknown_channel_fails_until_an_officer_requeues_it(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1)
    slack.fail_next("chat.postMessage", Fault.channel_not_found)
    assert deliver_notifications(deps).failed[0][1] == "channel_not_found"
    clock.advance(timedelta(days=1))
    assert deliver_notifications(deps).sent == []  # a failed message is not retried on its own
    with session_scope(deps.engine) as session:
        assert len(repo.requeue_failed(session)) == 1
    assert len(deliver_notifications(deps).sent) == 1
    assert [len(m) for m in keyed_messages(slack).values()] == [1]


def test_two_relays_at_once_send_each_message_once(engine: Engine, alliance: Deps, clock: MovingClock) -> None:
    """On SQLite and PostgreSQL: the claim is one UPDATE, so concurrent relays never share a message."""
    deps = replace(alliance, engine=engine)
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    with running(channels_of(deps.contract)) as slack:
        deps = relaying(deps, slack, clock)
        keys = queue(deps, 120)
        reports: list[Any] = []
        threads = [threading.Thread(target=lambda: reports.append(deliver_notifications(deps))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        delivered = keyed_messages(slack)
    assert sorted(delivered) == sorted(keys) and all(len(m) == 1 for m in delivered.values())
    assert sum(len(r.sent) for r in reports) == 120 and {n.status for n in outbox(deps)} == {"sent"}


def test_five_hundred_messages_through_random_faults_arrive_once_each_in_the_right_channel(
    alliance: Deps, clock: MovingClock
) -> None:
    faults = RandomFaults(seed=20261123, rate_limited=0.03, server_error=0.05, slow=0.04, lost=0.03)
    with running(channels_of(alliance.contract), faults=faults, delay=0.5) as slack:
        deps = relaying(alliance, slack, clock)
        keys = queue(deps, 540, statements_every=20)
        reports = relay_until_done(deps, clock)
        delivered = keyed_messages(slack)
        shares = slack.shares()
        injected = Counter(fault for _, fault in slack.requests if fault is not None)
    rows = {n.dedup_key: n for n in outbox(deps)}
    assert reports[-1].pending == 0 and {n.status for n in rows.values()} == {"sent"}  # 0 lost
    assert sorted(delivered) == sorted(keys) and all(len(m) == 1 for m in delivered.values())  # 0 duplicated
    assert all(f"#{delivered[k][0].channel}" == rows[k].channel for k in keys)  # right channel
    assert all(rows[k].slack_ts == delivered[k][0].ts for k in keys)
    statements = {k: n for k, n in rows.items() if json.loads(n.payload).get("file")}
    assert sorted((n.channel, json.loads(n.payload)["statement"]) for n in statements.values()) == sorted(
        (channel, f.name) for channel, f in shares
    )
    assert all(injected[f] >= 5 for f in (Fault.rate_limited, Fault.server_error, Fault.slow, Fault.lost)), injected
    assert sum(len(r.found) for r in reports) >= 5  # some replies were lost after Slack took the message


def test_a_pass_stops_early_when_slack_keeps_failing_and_the_rest_waits(alliance: Deps, clock: MovingClock) -> None:
    def posting_fails(method: str) -> Fault | None:
        return Fault.server_error if method == "chat.postMessage" else None

    with running(channels_of(alliance.contract), faults=posting_fails) as slack:
        deps = relaying(alliance, slack, clock)
        queue(deps, 20)
        report = deliver_notifications(deps)
        posts = sum(1 for method, _ in slack.requests if method == "chat.postMessage")
    assert report.paused and len(report.retrying) == GIVE_UP_AFTER == posts and report.pending == 20
    assert sum(1 for n in outbox(deps) if n.attempts) == GIVE_UP_AFTER


def test_a_relay_that_stalls_past_its_lease_does_not_post_what_another_relay_took_over(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 1)
    slack.fail_next("chat.postMessage", Fault.lost)
    deliver_notifications(deps)  # attempt 1 lost: the next attempt looks before posting
    clock.advance(timedelta(minutes=1))
    notifier = deps.notifier
    assert isinstance(notifier, SlackNotifier)
    later = MovingClock(clock.now + LEASE + timedelta(minutes=1))

    class Stalls(SlackNotifier):
        def find(self, **kwargs: Any) -> str | None:
            found = super().find(**kwargs)
            deliver_notifications(replace(deps, clock=later))  # meanwhile the lease ran out; another relay sends
            return found

    stalled = deliver_notifications(replace(deps, notifier=Stalls(token=notifier.token, base_url=notifier.base_url)))
    assert stalled.sent == [] and stalled.held_elsewhere == 1
    assert [len(m) for m in keyed_messages(slack).values()] == [1]
    assert [n.status for n in outbox(deps)] == ["sent"]


def test_a_message_that_breaks_unexpectedly_waits_with_its_reason_and_the_rest_go(
    alliance: Deps, slack: FakeSlack, clock: MovingClock
) -> None:
    deps = relaying(alliance, slack, clock)
    queue(deps, 3, statements_every=3)  # the first carries a statement
    notifier = deps.notifier
    assert isinstance(notifier, SlackNotifier)

    class DiskFails(SlackNotifier):
        def upload(self, **kwargs: Any) -> str:
            raise OSError(5, "Input/output error")

    report = deliver_notifications(replace(deps, notifier=DiskFails(token=notifier.token, base_url=notifier.base_url)))
    assert len(report.sent) == 2 and report.retrying[0][1].startswith("unexpected: OSError")
    first = outbox(deps)[0]
    assert (first.status, first.claimed_until) == ("pending", None) and first.next_attempt_at is not None


def test_a_long_retry_after_is_waited_out_by_backoff_not_inside_the_client(alliance: Deps, clock: MovingClock) -> None:
    with running(channels_of(alliance.contract), retry_after=600) as slack:
        deps = relaying(alliance, slack, clock)
        queue(deps, 1)
        slack.fail_next("chat.postMessage", Fault.rate_limited)
        report = deliver_notifications(deps)
        posts = [m for m, _ in slack.requests if m == "chat.postMessage"]
    assert report.retrying == [(1, "ratelimited")] and len(posts) == 1
    assert outbox(deps)[0].next_attempt_at == START + timedelta(seconds=600)
