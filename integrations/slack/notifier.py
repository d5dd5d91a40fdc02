"""Delivering to Slack through slack_sdk's WebClient, one small interface the relay depends on.

Two clients, because a retry is only safe when the request cannot have taken effect:
- reads (channel lookups, history, file info) retry connection errors, rate limits and 5xx;
- writes (post a message, share a file) retry only rate limits (a 429 is refused before anything
  happens). A timeout or 5xx on a write leaves delivery unknown: the relay settles it by looking
  for the message's metadata key before trying again, so nothing is sent twice.
"""

import http.client
import math
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from integrations.delivery import DeliveryError  # raised here as by every channel (tests import it from here)

MAX_RETRY_AFTER = 86_400.0
EVENT_TYPE = "alliance_notification"  # metadata on every message: how a sent message is found again

# Errors that trying again will not cure: the message waits for an officer (`alliance notifications`).
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "msg_too_long",
        "invalid_blocks",
        "invalid_metadata_format",
        "file_not_found",
        "restricted_action",
    }
)


class ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out a 429 inside the client only when Slack asks for a few seconds; a longer wait is
    the relay's backoff (a relay must not sleep through its lease on a message)."""

    longest_wait = 5.0

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        wait = _retry_after(response.headers) if response is not None else None
        if wait is not None and wait > self.longest_wait:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


@runtime_checkable
class Notifier(Protocol):
    def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]], key: str) -> str:
        """Post a message carrying ``key`` in its metadata; Slack's timestamp of it."""
        ...

    def find(self, *, channel: str, key: str) -> str | None:
        """The timestamp of a message already in ``channel`` with ``key``, if there is one."""
        ...

    def upload(self, *, name: str, content: bytes) -> str:
        """Upload a file without sharing it anywhere yet; its Slack file id."""
        ...

    def share(self, *, file_id: str, channel: str, title: str, thread_ts: str | None) -> None: ...

    def is_shared(self, *, file_id: str, channel: str) -> bool: ...


@dataclass
class SlackNotifier:
    token: str
    base_url: str | None = None
    timeout: float = 10
    history_depth: int = 1000  # how far back a channel is searched for a message whose delivery is unknown
    rate_limit_retries: int = 2

    def __post_init__(self) -> None:
        options: dict[str, Any] = {"token": self.token, "timeout": self.timeout}
        if self.base_url:
            options["base_url"] = self.base_url.rstrip("/") + "/"
        self._writes = WebClient(
            **options, retry_handlers=[ShortRateLimitRetryHandler(max_retry_count=self.rate_limit_retries)]
        )
        self._reads = WebClient(
            **options,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=2),
                ShortRateLimitRetryHandler(max_retry_count=self.rate_limit_retries),
                ServerErrorRetryHandler(max_retry_count=2),
            ],
        )
        self._channel_ids: dict[str, str] = {}

    def post(self, *, channel: str, text: str, blocks: list[dict[str, Any]], key: str) -> str:
        response = _call(
            self._writes.chat_postMessage,
            channel=self._channel_id(channel),
            text=text,
            blocks=blocks,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"key": key}},
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])

    def find(self, *, channel: str, key: str) -> str | None:
        cursor: str | None = None
        seen = 0
        while seen < self.history_depth:
            page = _call(
                self._reads.conversations_history,
                channel=self._channel_id(channel),
                limit=min(200, self.history_depth - seen),
                include_all_metadata=True,
                cursor=cursor,
            )
            messages = page.get("messages") or []
            for message in messages:
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == key:
                    return str(message["ts"])
            seen += len(messages)
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor or not messages:
                return None
        return None

    def upload(self, *, name: str, content: bytes) -> str:
        ticket = _call(self._reads.files_getUploadURLExternal, filename=name, length=len(content))
        request = urllib.request.Request(str(ticket["upload_url"]), data=content, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (Slack's URL)
                if response.status != 200:
                    raise DeliveryError(f"upload_http_{response.status}", permanent=False)
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"upload_failed: {type(exc).__name__}", permanent=False) from None
        return str(ticket["file_id"])

    def share(self, *, file_id: str, channel: str, title: str, thread_ts: str | None) -> None:
        _call(
            self._writes.files_completeUploadExternal,
            files=[{"id": file_id, "title": title}],
            channel_id=self._channel_id(channel),
            thread_ts=thread_ts,
        )

    def is_shared(self, *, file_id: str, channel: str) -> bool:
        info = _call(self._reads.files_info, file=file_id)
        file = info.get("file") or {}
        channel_id = self._channel_id(channel)
        shares = file.get("shares") or {}
        return any(channel_id in (shares.get(kind) or {}) for kind in ("public", "private")) or channel_id in (
            list(file.get("channels") or []) + list(file.get("groups") or [])
        )

    def _channel_id(self, channel: str) -> str:
        name = channel.removeprefix("#")
        if name not in self._channel_ids:
            self._channel_ids = self._all_channels()
        if name not in self._channel_ids:
            raise DeliveryError("channel_not_found", permanent=True)
        return self._channel_ids[name]

    def _all_channels(self) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor: str | None = None
        while True:
            page = _call(
                self._reads.conversations_list,
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=1000,
                cursor=cursor,
            )
            found.update({str(c["name"]): str(c["id"]) for c in page.get("channels") or []})
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return found


def _call(method: Any, **arguments: Any) -> Any:
    """One Web API call, its failure turned into a DeliveryError saying whether to try again."""
    try:
        return method(**{k: v for k, v in arguments.items() if v is not None})
    except SlackApiError as exc:
        response = exc.response
        if response.status_code == 429:
            raise DeliveryError("ratelimited", permanent=False, retry_after=_retry_after(response.headers)) from None
        code = str(response.get("error") or f"http_{response.status_code}")
        raise DeliveryError(code, permanent=code in PERMANENT) from None
    except (SlackRequestError, URLError, OSError, http.client.HTTPException, ValueError) as exc:
        # A timeout, a dropped connection, a garbled reply or header: whether a write took effect is unknown.
        raise DeliveryError(f"no_reply: {type(exc).__name__}", permanent=False) from None


def _retry_after(headers: Any) -> float | None:
    """Slack's Retry-After in seconds, if it is a sensible number (at most a day)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return min(seconds, MAX_RETRY_AFTER) if math.isfinite(seconds) and seconds >= 0 else None
    return None
