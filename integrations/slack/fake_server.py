"""A local stand-in for Slack's Web API on 127.0.0.1, for tests and `alliance demo --slack local`.

It implements the methods the notifier uses (conversations.list and .history, chat.postMessage,
files.getUploadURLExternal, the upload URL, files.completeUploadExternal, files.info), refuses a message
beyond Slack's limits as Slack does (``msg_too_long``, ``invalid_blocks``: more than 50 blocks, a section's
text over 3,000 characters, a header's over 150), and can be told to fail the way Slack does: 429 with
Retry-After, 500, a reply slower than the client's timeout after the message was stored ("slow") or without
storing it ("lost"), channel_not_found.
Tests drive it through the real slack_sdk client.
"""

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

TOKEN = "xoxb-local-test-token"
WRITES = ("chat.postMessage", "files.completeUploadExternal")
# Slack's limits on chat.postMessage (api.slack.com/reference/block-kit/blocks, /methods/chat.postMessage).
TEXT_LIMIT = 40_000
MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
MAX_CONTEXT_ELEMENTS = 10


class Fault(StrEnum):
    rate_limited = "rate_limited"  # 429, Retry-After; nothing stored
    server_error = "server_error"  # 500; nothing stored
    slow = "slow"  # stored, then the reply comes after the client gave up
    lost = "lost"  # not stored, and no reply in time
    channel_not_found = "channel_not_found"


FaultPlan = Callable[[str], Fault | None]


@dataclass
class RandomFaults:
    """Each request fails with these probabilities (seeded, so a failing run can be replayed)."""

    seed: int
    rate_limited: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    lost: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __call__(self, method: str) -> Fault | None:
        with self.lock:
            draw = self._rng.random()
        for fault, chance in (
            (Fault.rate_limited, self.rate_limited),
            (Fault.server_error, self.server_error),
            (Fault.slow, self.slow),
            (Fault.lost, self.lost),
        ):
            if draw < chance:
                return fault
            draw -= chance
        return None


@dataclass
class Message:
    channel: str  # the channel's name, without '#'
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    thread_ts: str | None = None
    files: list[str] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        return ((self.metadata or {}).get("event_payload") or {}).get("key")


@dataclass
class StoredFile:
    id: str
    name: str
    content: bytes = b""
    title: str | None = None
    shared_to: list[str] = field(default_factory=list)  # channel names, once per share


class FakeSlack:
    def __init__(
        self,
        channels: list[str],
        *,
        faults: FaultPlan | None = None,
        retry_after: int = 0,
        delay: float = 0.5,
        token: str = TOKEN,
    ) -> None:
        self.channel_ids = {name.removeprefix("#"): f"C{n:06d}" for n, name in enumerate(channels, start=1)}
        self.channel_names = {v: k for k, v in self.channel_ids.items()}
        self.faults = faults
        self.retry_after = retry_after
        self.delay = delay
        self.token = token
        self.messages: list[Message] = []
        self.files: dict[str, StoredFile] = {}
        self.requests: list[tuple[str, Fault | None]] = []
        self._scripted: dict[str, list[Fault]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._last_ts = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- running -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def start(self) -> "FakeSlack":
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests and the demo look at ------------------------------------------------------

    def fail_next(self, method: str, *faults: Fault) -> None:
        """The next calls of ``method`` fail with these faults, in order."""
        with self._lock:
            self._scripted.setdefault(method, []).extend(faults)

    def received(self) -> dict[str, list[Message]]:
        """Messages per channel name (with '#'), in the order they arrived."""
        with self._lock:
            result: dict[str, list[Message]] = {}
            for message in self.messages:
                result.setdefault(f"#{message.channel}", []).append(message)
            return result

    def shares(self) -> list[tuple[str, StoredFile]]:
        """(channel name with '#', file) once per time a file was shared to a channel."""
        with self._lock:
            return [(f"#{c}", f) for f in self.files.values() for c in f.shared_to]

    # --- the Web API ---------------------------------------------------------------------------

    def handle(self, method: str, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = self._fault(method)
        self.requests.append((method, fault))
        if fault is Fault.rate_limited:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self.retry_after)}
        if fault is Fault.server_error:
            return 500, {"ok": False, "error": "internal_error"}, {}
        if fault is Fault.lost:
            time.sleep(self.delay)
            return 500, {"ok": False, "error": "request_timeout"}, {}
        if fault is Fault.channel_not_found:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        with self._lock:
            reply = self._apply(method, args, body)
        if fault is Fault.slow:
            time.sleep(self.delay)
        return 200, reply, {}

    def _fault(self, method: str) -> Fault | None:
        with self._lock:
            scripted = self._scripted.get(method)
            if scripted:
                return scripted.pop(0)
        return self.faults(method) if self.faults else None

    def _apply(self, method: str, args: dict[str, Any], body: bytes) -> dict[str, Any]:
        if method == "conversations.list":
            return {
                "ok": True,
                "channels": [{"id": i, "name": n} for n, i in self.channel_ids.items()],
                "response_metadata": {"next_cursor": ""},
            }
        if method == "conversations.history":
            return self._history(args)
        if method == "chat.postMessage":
            channel = self.channel_names.get(str(args.get("channel")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            refused = beyond_limits(str(args.get("text", "")), _json(args.get("blocks")) or [])
            if refused is not None:
                return refused
            message = Message(
                channel=channel,
                ts=self._ts(),
                text=str(args.get("text", "")),
                blocks=_json(args.get("blocks")) or [],
                metadata=_json(args.get("metadata")),
                thread_ts=args.get("thread_ts"),
            )
            self.messages.append(message)
            return {"ok": True, "channel": args["channel"], "ts": message.ts}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            self.files[file_id] = StoredFile(id=file_id, name=str(args.get("filename")))
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}upload/{file_id}"}
        if method.startswith("upload/"):
            stored = self.files.get(method.removeprefix("upload/"))
            if stored is None:
                return {"ok": False, "error": "file_not_found"}
            stored.content = body
            return {"ok": True}
        if method == "files.completeUploadExternal":
            return self._share(args)
        if method == "files.info":
            return self._file_info(str(args.get("file")))
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "team": "local"}
        return {"ok": False, "error": "unknown_method"}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_names.get(str(args.get("channel")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        newest_first = [m for m in reversed(self.messages) if m.channel == channel and m.thread_ts is None]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = newest_first[start : start + limit]
        more = start + limit < len(newest_first)
        return {
            "ok": True,
            "messages": [
                {"ts": m.ts, "text": m.text} | ({"metadata": m.metadata} if with_metadata and m.metadata else {})
                for m in page
            ],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _share(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel_names.get(str(args.get("channel_id")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        shared = []
        for entry in _json(args.get("files")) or []:
            stored = self.files.get(str(entry.get("id")))
            if stored is None or not stored.content:
                return {"ok": False, "error": "file_not_found"}
            stored.title = entry.get("title")
            stored.shared_to.append(channel)
            shared.append({"id": stored.id, "name": stored.name, "title": stored.title})
            self.messages.append(
                Message(
                    channel=channel,
                    ts=self._ts(),
                    text="",
                    blocks=[],
                    metadata=None,
                    thread_ts=args.get("thread_ts"),
                    files=[stored.id],
                )
            )
        return {"ok": True, "files": shared}

    def _file_info(self, file_id: str) -> dict[str, Any]:
        stored = self.files.get(file_id)
        if stored is None:
            return {"ok": False, "error": "file_not_found"}
        shares = {self.channel_ids[c]: [{"ts": "0"}] for c in stored.shared_to}
        return {
            "ok": True,
            "file": {"id": stored.id, "name": stored.name, "channels": list(shares), "shares": {"public": shares}},
        }

    def _ts(self) -> str:
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"


def beyond_limits(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Slack's reply to a message it refuses for its size, or None when the message is within the limits."""
    if len(text) > TEXT_LIMIT:
        return {"ok": False, "error": "msg_too_long"}
    if not text and not blocks:
        return {"ok": False, "error": "no_text"}
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for n, block in enumerate(blocks):
        limit = {"section": SECTION_TEXT_LIMIT, "header": HEADER_TEXT_LIMIT}.get(str(block.get("type")))
        texts = [((block.get("text") or {}).get("text") or "", f"/blocks/{n}/text/text", limit)] if limit else []
        elements = block.get("elements") or [] if block.get("type") == "context" else []
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            problems.append(f"[ERROR] no more than {MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:/blocks/{n}]")
        texts += [
            (e.get("text") or "", f"/blocks/{n}/elements/{k}/text", SECTION_TEXT_LIMIT) for k, e in enumerate(elements)
        ]
        for value, pointer, most in texts:
            if not value:
                problems.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}]")
            elif len(value) > most:
                problems.append(f"[ERROR] must be less than {most + 1} characters [json-pointer:{pointer}]")
    if problems:
        return {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": problems}}
    return None


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        return json.loads(value)
    return value


def _handler(slack: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve()

        def do_POST(self) -> None:  # noqa: N802
            self._serve()

        def _serve(self) -> None:
            url = urlparse(self.path)
            method = url.path.removeprefix("/api/")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            args: dict[str, Any] = dict(parse_qsl(url.query))
            kind = self.headers.get("Content-Type", "")
            if not method.startswith("upload/"):
                if self.headers.get("Authorization") != f"Bearer {slack.token}":
                    self._reply(200, {"ok": False, "error": "invalid_auth"}, {})
                    return
                if "json" in kind and body:
                    args.update(json.loads(body))
                elif body:
                    args.update(parse_qsl(body.decode()))
            status, reply, headers = slack.handle(method, args, body)
            self._reply(status, reply, headers)

        def _reply(self, status: int, reply: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a slow fault): the reply is lost, as over a real network

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def running(channels: list[str], **options: Any) -> Iterator[FakeSlack]:
    slack = FakeSlack(channels, **options).start()
    try:
        yield slack
    finally:
        slack.stop()
