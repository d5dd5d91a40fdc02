"""The notifier through the real slack_sdk client, against the local Slack server."""

from collections.abc import Iterator

import pytest

from integrations.slack.fake_server import TOKEN, FakeSlack, Fault, running
from integrations.slack.notifier import EVENT_TYPE, DeliveryError, Notifier, SlackNotifier

CHANNELS = ["#city-mind", "#harbour-trust", "#alliance-officers"]
TIMEOUT = 0.3  # the client gives up on a reply after this ...
DELAY = 0.8  # ... and a slow or lost request keeps it waiting this long
BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeSlack]:
    # One server for the module: stopping one waits out its half-second poll.
    with running(CHANNELS, retry_after=0, delay=DELAY) as started:
        yield started


@pytest.fixture
def slack(server: FakeSlack) -> Iterator[FakeSlack]:
    """The module's server, emptied: no messages, files, requests or faults left from another test."""
    server.messages.clear()
    server.files.clear()
    server.requests.clear()
    yield server
    server._scripted.clear()  # a test that failed before its fault was used must not pass it on


@pytest.fixture
def notifier(slack: FakeSlack) -> SlackNotifier:
    return SlackNotifier(TOKEN, base_url=slack.url, timeout=TIMEOUT)


def post(notifier: SlackNotifier, key: str, channel: str = "#city-mind") -> str:
    return notifier.post(channel=channel, text=f"text of {key}", blocks=BLOCKS, key=key)


def calls(slack: FakeSlack, method: str) -> list[Fault | None]:
    return [fault for name, fault in slack.requests if name == method]


def test_the_slack_notifier_is_a_notifier(notifier: SlackNotifier) -> None:
    assert isinstance(notifier, Notifier)


# --- posting and finding -----------------------------------------------------------------------


def test_a_posted_message_arrives_with_its_key_and_is_found_by_it(slack: FakeSlack, notifier: SlackNotifier) -> None:
    ts = post(notifier, "statement:7")
    [message] = slack.received()["#city-mind"]
    assert message.ts == ts
    assert message.text == "text of statement:7" and message.blocks == BLOCKS
    assert message.metadata == {"event_type": EVENT_TYPE, "event_payload": {"key": "statement:7"}}
    assert notifier.find(channel="#city-mind", key="statement:7") == ts


def test_find_tells_apart_keys_and_channels(notifier: SlackNotifier) -> None:
    first = post(notifier, "a")
    second = post(notifier, "b")
    assert first != second
    assert notifier.find(channel="#city-mind", key="a") == first
    assert notifier.find(channel="#city-mind", key="b") == second
    assert notifier.find(channel="#city-mind", key="never-sent") is None
    assert notifier.find(channel="#harbour-trust", key="a") is None


def test_an_empty_channel_has_nothing_to_find(notifier: SlackNotifier) -> None:
    assert notifier.find(channel="#alliance-officers", key="a") is None


def test_a_channel_is_named_with_or_without_its_hash(slack: FakeSlack, notifier: SlackNotifier) -> None:
    ts = notifier.post(channel="harbour-trust", text="t", blocks=BLOCKS, key="k")
    assert notifier.find(channel="#harbour-trust", key="k") == ts
    assert [m.ts for m in slack.received()["#harbour-trust"]] == [ts]


# --- what is retried inside the client and what is not -----------------------------------------


def test_a_rate_limited_post_is_retried_by_the_client(slack: FakeSlack, notifier: SlackNotifier) -> None:
    slack.fail_next("chat.postMessage", Fault.rate_limited)
    ts = post(notifier, "k")
    assert calls(slack, "chat.postMessage") == [Fault.rate_limited, None]
    assert [m.ts for m in slack.received()["#city-mind"]] == [ts]


def test_rate_limiting_that_outlasts_the_retries_says_when_to_try_again() -> None:
    with running(CHANNELS, retry_after=7) as slack:
        notifier = SlackNotifier(TOKEN, base_url=slack.url, timeout=TIMEOUT, rate_limit_retries=0)
        slack.fail_next("chat.postMessage", Fault.rate_limited)
        with pytest.raises(DeliveryError) as caught:
            post(notifier, "k")
        assert (caught.value.code, caught.value.permanent, caught.value.retry_after) == ("ratelimited", False, 7.0)
        assert calls(slack, "chat.postMessage") == [Fault.rate_limited]
        assert slack.received() == {}


def test_a_server_error_on_a_post_is_not_retried(slack: FakeSlack, notifier: SlackNotifier) -> None:
    slack.fail_next("chat.postMessage", Fault.server_error)
    with pytest.raises(DeliveryError) as caught:
        post(notifier, "k")
    assert caught.value.permanent is False
    assert caught.value.code == "internal_error"
    assert calls(slack, "chat.postMessage") == [Fault.server_error]
    assert slack.received() == {}


def test_a_server_error_on_a_share_is_not_retried(slack: FakeSlack, notifier: SlackNotifier) -> None:
    file_id = notifier.upload(name="city-mind-2026-10-v1.xlsx", content=b"PK")
    slack.fail_next("files.completeUploadExternal", Fault.server_error)
    with pytest.raises(DeliveryError) as caught:
        notifier.share(file_id=file_id, channel="#city-mind", title="Statement", thread_ts=None)
    assert caught.value.permanent is False
    assert calls(slack, "files.completeUploadExternal") == [Fault.server_error]
    assert slack.shares() == []


def test_a_server_error_on_a_read_is_retried_by_the_client(slack: FakeSlack, notifier: SlackNotifier) -> None:
    ts = post(notifier, "k")
    slack.fail_next("conversations.history", Fault.server_error)
    assert notifier.find(channel="#city-mind", key="k") == ts
    assert calls(slack, "conversations.history") == [Fault.server_error, None]


# --- delivery unknown --------------------------------------------------------------------------


def test_a_slow_post_fails_but_the_message_is_there_and_found(slack: FakeSlack, notifier: SlackNotifier) -> None:
    slack.fail_next("chat.postMessage", Fault.slow)
    with pytest.raises(DeliveryError) as caught:
        post(notifier, "k")
    assert caught.value.permanent is False
    assert caught.value.code.startswith("no_reply")
    [message] = slack.received()["#city-mind"]
    assert notifier.find(channel="#city-mind", key="k") == message.ts
    assert calls(slack, "chat.postMessage") == [Fault.slow]  # a write is never sent twice by the client


def test_a_lost_post_fails_and_nothing_is_found(slack: FakeSlack, notifier: SlackNotifier) -> None:
    slack.fail_next("chat.postMessage", Fault.lost)
    with pytest.raises(DeliveryError) as caught:
        post(notifier, "k")
    assert caught.value.permanent is False
    assert slack.received() == {}
    assert notifier.find(channel="#city-mind", key="k") is None
    assert calls(slack, "chat.postMessage") == [Fault.lost]


# --- failures that trying again will not cure --------------------------------------------------


def test_a_channel_slack_does_not_have_is_a_permanent_failure(slack: FakeSlack, notifier: SlackNotifier) -> None:
    with pytest.raises(DeliveryError) as caught:
        post(notifier, "k", channel="#no-such-channel")
    assert (caught.value.code, caught.value.permanent) == ("channel_not_found", True)
    assert calls(slack, "chat.postMessage") == []


def test_channel_not_found_from_slack_is_a_permanent_failure(slack: FakeSlack, notifier: SlackNotifier) -> None:
    slack.fail_next("chat.postMessage", Fault.channel_not_found)
    with pytest.raises(DeliveryError) as caught:
        post(notifier, "k")
    assert (caught.value.code, caught.value.permanent) == ("channel_not_found", True)
    assert calls(slack, "chat.postMessage") == [Fault.channel_not_found]


def test_a_wrong_token_is_a_permanent_failure(slack: FakeSlack) -> None:
    notifier = SlackNotifier("xoxb-wrong-token", base_url=slack.url, timeout=TIMEOUT)
    with pytest.raises(DeliveryError) as caught:
        post(notifier, "k")
    assert (caught.value.code, caught.value.permanent) == ("invalid_auth", True)
    assert slack.received() == {}


# --- files -------------------------------------------------------------------------------------


def test_a_statement_is_uploaded_then_shared_in_the_messages_thread(slack: FakeSlack, notifier: SlackNotifier) -> None:
    content = bytes(range(256)) * 40 + b"\r\n\x00end"
    ts = post(notifier, "statement:1")
    file_id = notifier.upload(name="city-mind-2026-10-v1.xlsx", content=content)
    assert notifier.is_shared(file_id=file_id, channel="#city-mind") is False
    assert slack.shares() == []

    notifier.share(file_id=file_id, channel="#city-mind", title="Payment statement issued", thread_ts=ts)

    assert notifier.is_shared(file_id=file_id, channel="#city-mind") is True
    assert notifier.is_shared(file_id=file_id, channel="#harbour-trust") is False
    [(channel, stored)] = slack.shares()
    assert channel == "#city-mind"
    assert (stored.id, stored.name, stored.title) == (file_id, "city-mind-2026-10-v1.xlsx", "Payment statement issued")
    assert stored.content == content
    parent, reply = slack.received()["#city-mind"]
    assert parent.ts == ts
    assert (reply.thread_ts, reply.files) == (ts, [file_id])
    assert notifier.find(channel="#city-mind", key="statement:1") == ts


def test_sharing_to_a_channel_slack_does_not_have_is_a_permanent_failure(
    slack: FakeSlack, notifier: SlackNotifier
) -> None:
    file_id = notifier.upload(name="x.xlsx", content=b"PK")
    with pytest.raises(DeliveryError) as caught:
        notifier.share(file_id=file_id, channel="#no-such-channel", title="t", thread_ts=None)
    assert (caught.value.code, caught.value.permanent) == ("channel_not_found", True)
    assert slack.shares() == []


# --- how far back find looks -------------------------------------------------------------------


def test_find_pages_through_history(slack: FakeSlack, notifier: SlackNotifier) -> None:
    stamps = [post(notifier, f"k{n}", channel="#alliance-officers") for n in range(250)]
    assert notifier.find(channel="#alliance-officers", key="k0") == stamps[0]  # the oldest, on the second page
    assert len(calls(slack, "conversations.history")) == 2
    assert notifier.find(channel="#alliance-officers", key="k249") == stamps[-1]
    assert notifier.find(channel="#alliance-officers", key="k250") is None


def test_find_looks_no_further_back_than_its_depth(slack: FakeSlack) -> None:
    deep = SlackNotifier(TOKEN, base_url=slack.url, timeout=TIMEOUT, history_depth=3)
    stamps = [post(deep, f"k{n}") for n in range(5)]
    assert deep.find(channel="#city-mind", key="k2") == stamps[2]  # the third newest
    assert deep.find(channel="#city-mind", key="k1") is None  # the fourth newest is beyond the depth
    assert calls(slack, "conversations.history") == [None, None]  # one page each time


def test_find_at_a_depth_past_one_page_stops_at_the_depth(slack: FakeSlack) -> None:
    notifier = SlackNotifier(TOKEN, base_url=slack.url, timeout=TIMEOUT, history_depth=201)
    stamps = [post(notifier, f"k{n}") for n in range(203)]  # k0 is the 203rd newest, k2 the 201st
    assert notifier.find(channel="#city-mind", key="k2") == stamps[2]  # the 201st newest, on the second page
    assert notifier.find(channel="#city-mind", key="k1") is None
    assert len(calls(slack, "conversations.history")) == 4
