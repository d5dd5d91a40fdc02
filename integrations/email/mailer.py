"""Email through SMTP (smtplib), behind one small interface the outbox relay depends on.

A message carries a Message-ID made from its outbox key, the same on every attempt: SMTP has no way to ask
whether a message was taken when the connection dropped after the data was sent, so a retry then may deliver
a second copy, which mail programs recognise by that id. Every other failure is sorted into "try again later"
(4xx replies, timeouts, a server that cannot be reached) and "will not work" (5xx: the address or the
message refused, authentication failed).
"""

import hashlib
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Protocol, runtime_checkable

from integrations.delivery import DeliveryError
from integrations.workspace import Smtp

ATTACHMENT_LIMIT = 10 * 1024 * 1024  # larger files are not attached: the message says where to find them


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    mime: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    key: str  # the outbox key: the Message-ID is made from it
    attachments: tuple[Attachment, ...] = field(default=())


@runtime_checkable
class Mailer(Protocol):
    def send(self, email: Email) -> None:
        """Hand the message to the mail server; raises DeliveryError when it was not taken."""
        ...


def message_id(key: str, domain: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build(email: Email, *, sender: str, sender_name: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((sender_name, sender))
    message["To"] = email.to
    message["Subject"] = " ".join(email.subject.split())[:200]
    message["Date"] = formatdate(localtime=False)
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    message["Message-ID"] = message_id(email.key, domain) if email.key else make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    for attachment in email.attachments:
        main, sub = attachment.mime.split("/", 1)
        message.add_attachment(attachment.content, maintype=main, subtype=sub, filename=attachment.name)
    return message


@dataclass
class SmtpMailer:
    settings: Smtp
    sender_name: str = "Alliance returns"
    timeout: float = 20

    def send(self, email: Email) -> None:
        message = build(email, sender=self.settings.sender, sender_name=self.sender_name)
        try:
            with self._connect() as server:
                if self.settings.username:
                    server.login(self.settings.username, self.settings.password or "")
                refused = server.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code = min((c for c, _ in exc.recipients.values()), default=550)
            raise DeliveryError(f"smtp_recipient_refused_{code}", permanent=code >= 500) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"smtp_auth_failed_{exc.smtp_code}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp_{exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp_no_reply: {type(exc).__name__}", permanent=False) from None
        if refused:
            raise DeliveryError("smtp_recipient_refused", permanent=True)

    def _connect(self) -> smtplib.SMTP:
        host, port = self.settings.host, self.settings.port
        if self.settings.security == "tls":
            return smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=ssl.create_default_context())
        server = smtplib.SMTP(host, port, timeout=self.timeout)
        if self.settings.security == "starttls":
            server.starttls(context=ssl.create_default_context())
        return server
