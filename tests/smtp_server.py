"""A local SMTP server (aiosmtpd) that keeps what it receives and refuses on cue: the email channel is tested
against it as the Slack channel is against integrations/slack/fake_server.py."""

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from integrations.workspace import Smtp


@dataclass
class Mailbox:
    """What the server took, and how it should answer next."""

    received: list[EmailMessage] = field(default_factory=list)
    refuse_recipients: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply, e.g. "550 no such user"
    data_replies: list[str] = field(default_factory=list)  # replies to the next DATA commands, e.g. "451 try later"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, Smtp]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, Smtp(host="127.0.0.1", port=port, security="none", sender="returns@alliance.test")
    finally:
        controller.stop()
