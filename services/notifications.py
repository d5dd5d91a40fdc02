"""The outbox relay: deliver what is due, exactly once, to the channel it belongs to (Slack or email).

A message is claimed by a single UPDATE (two relays never hold it together) and its attempt is
counted then. Any attempt after the first starts by looking in the channel for the message's
metadata key, so a message whose delivery was unknown (timeout, 5xx, a relay that died after
Slack took it) is recorded, not sent again. Statement files are uploaded, recorded, then shared
in the message's thread; a share whose outcome is unknown is checked with files.info.

An email (channel ``email:<address>``) is claimed the same way and handed to the mail server with a
Message-ID made from its key; SMTP cannot be asked whether a dropped connection delivered, so that is
the one case a second copy can arrive (services.outbox, integrations.email).
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from domain.notifications import EMAIL, Refused, RouteProblem, check_route, next_attempt
from integrations.delivery import DeliveryError
from integrations.email.mailer import ATTACHMENT_LIMIT, Attachment, Email, Mailer
from integrations.email.plain import plain_text
from integrations.slack.blocks import fallback_text, message_blocks, title_of
from integrations.slack.mrkdwn import escape
from integrations.slack.notifier import Notifier
from models import repo
from models.db import session_scope
from models.tables import Notification
from services.deps import Deps

LEASE = timedelta(minutes=10)  # a relay that dies holding a message frees it after this
GIVE_UP_AFTER = 5  # transient failures in a row: Slack is down, the rest waits for the next pass


@dataclass
class DeliveryReport:
    outbox_only: bool = False  # no Slack configured: nothing was tried
    sent: list[int] = field(default_factory=list)
    found: list[int] = field(default_factory=list)  # already in Slack from an attempt whose reply was lost
    retrying: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    held_elsewhere: int = 0
    paused: bool = False  # stopped early: Slack kept failing
    pending: int = 0  # still waiting after this pass

    def summary(self) -> str:
        if self.outbox_only:
            return (
                "neither Slack (SLACK_BOT_TOKEN) nor email (ALLIANCE_SMTP_HOST) is configured: "
                f"{self.pending} notification(s) wait in the outbox"
            )
        parts = [f"sent {len(self.sent)}"]
        if self.found:
            parts.append(f"{len(self.found)} of them found already delivered")
        parts += [f"to retry {len(self.retrying)}", f"failed {len(self.failed)}", f"still pending {self.pending}"]
        if self.paused:
            parts.append(f"stopped after {GIVE_UP_AFTER} failures in a row (Slack unavailable?)")
        return ", ".join(parts)


class _Refusal(Exception):
    def __init__(self, refused: Refused) -> None:
        super().__init__(str(refused))


def deliver_notifications(deps: Deps, *, limit: int | None = None) -> DeliveryReport:
    """One pass over the due messages; what fails waits for a later pass (backoff) or an officer."""
    report = DeliveryReport()
    now = deps.clock()
    if deps.notifier is None and deps.mailer is None:
        report.outbox_only = True
    else:
        with session_scope(deps.engine) as session:
            due = repo.due_notifications(
                session, now=now, limit=limit, slack=deps.notifier is not None, email=deps.mailer is not None
            )
        failing = 0
        for notification_id in due:
            retrying = len(report.retrying)
            _deliver_one(deps, notification_id, report)
            failing = failing + 1 if len(report.retrying) > retrying else 0
            if failing >= GIVE_UP_AFTER:
                report.paused = True
                break
    with session_scope(deps.engine) as session:
        report.pending = repo.count_notifications(session, status="pending")
    return report


@dataclass
class _Claim:
    notification_id: int
    held_until: datetime


class _LostClaim(Exception):
    """The lease ran out and another relay holds the message now: this one must not write."""


def _deliver_one(deps: Deps, notification_id: int, report: DeliveryReport) -> None:
    now = deps.clock()
    with session_scope(deps.engine) as session:
        row = repo.claim_notification(session, notification_id=notification_id, now=now, until=now + LEASE)
    if row is None:
        report.held_elsewhere += 1
        return
    claim = _Claim(notification_id, now + LEASE)
    status, error, retry_at, ts = "sent", None, None, None
    try:
        if row.channel.startswith(EMAIL):
            assert deps.mailer is not None, "emails are claimed only when a mailer is configured"
            _send_email(deps, deps.mailer, row)
            ts, already = None, False
        else:
            assert deps.notifier is not None, "Slack messages are claimed only when Slack is configured"
            ts, already = _send(deps, deps.notifier, row, claim)
        if already:
            report.found.append(notification_id)
        report.sent.append(notification_id)
    except _LostClaim:
        report.held_elsewhere += 1
        return
    except _Refusal as refusal:
        status, error = "failed", str(refusal)
        report.failed.append((notification_id, error))
    except DeliveryError as exc:
        error = exc.code
        if exc.permanent:
            status = "failed"
            report.failed.append((notification_id, error))
        else:
            status, retry_at = "pending", next_attempt(now=now, attempts=row.attempts, retry_after=exc.retry_after)
            report.retrying.append((notification_id, error))
    except Exception as exc:  # noqa: BLE001 (one broken message must not hold up the rest of the outbox)
        error = f"unexpected: {type(exc).__name__}: {exc}"[:500]
        status, retry_at = "pending", next_attempt(now=now, attempts=row.attempts)
        report.retrying.append((notification_id, error))
    with session_scope(deps.engine) as session:
        repo.finish_delivery(
            session,
            notification_id=notification_id,
            status=status,
            at=now,
            error=error,
            next_attempt_at=retry_at,
            slack_ts=ts,
            held_until=claim.held_until,
        )


def _routed(deps: Deps, row: Notification) -> Path | None:
    """The file the message carries, if any, once its route is checked against the contract as it is now."""
    payload = json.loads(row.payload or "{}")
    relative = payload.get("file")
    file_name = relative.rsplit("/", 1)[-1] if relative else None
    refused = check_route(deps.contract, partner_id=row.partner_id, channel=row.channel, file_name=file_name)
    if refused is not None:
        raise _Refusal(refused)
    if not relative:
        return None
    folders = {
        "reviews": deps.workspace.reviews_dir,
        "feedback": deps.workspace.feedback_dir,
        "templates": deps.workspace.templates_dir,
    }
    folder = folders.get(payload.get("folder", ""), deps.workspace.statements_dir)
    return folder / relative


def _send(deps: Deps, notifier: Notifier, row: Notification, claim: _Claim) -> tuple[str, bool]:
    """Deliver one claimed message: its Slack timestamp, and whether it turned out to be there already."""
    assert row.id is not None
    file = _routed(deps, row)
    already = False
    ts = row.slack_ts
    if ts is None:
        ts = notifier.find(channel=row.channel, key=row.dedup_key) if row.attempts > 1 else None
        already = ts is not None
        if ts is None:
            blocks = message_blocks(kind=row.kind, text=row.text, context=_context(deps, row))
            _still_held(deps, claim)
            ts = notifier.post(channel=row.channel, text=fallback_text(row.text), blocks=blocks, key=row.dedup_key)
        if file is not None:  # saved before the file's steps; a plain message's is saved when it is released
            _save(deps, row.id, slack_ts=ts)
    if file is not None:
        _send_file(deps, notifier, row, file, thread_ts=ts, claim=claim)
    return ts, already


def _send_email(deps: Deps, mailer: Mailer, row: Notification) -> None:
    """Hand one claimed email to the mail server; a statement or evidence pack goes as an attachment."""
    from services.accounts import account_email_text  # the accounts' messages carry a link made at sending

    assert row.id is not None
    path = _routed(deps, row)
    address = row.channel.removeprefix(EMAIL)
    if row.partner_id is None:
        text = account_email_text(deps, row, address)
        if text is None:
            problem = f"{address} is not the email of an account that may receive {row.kind}"
            raise _Refusal(Refused(RouteProblem.not_a_person_of_the_alliance, problem))
    else:
        text = plain_text(row.text) + _portal_footer(deps)
    attachments: tuple[Attachment, ...] = ()
    if path is not None:
        if not path.is_file():  # written just after the run commits: the next pass will find it
            raise DeliveryError("statement_file_not_written_yet", permanent=False)
        if path.stat().st_size <= ATTACHMENT_LIMIT:
            attachments = (Attachment(path.name, path.read_bytes()),)
    subject = f"{title_of(row.kind)}: {deps.contract.alliance.name}"
    mailer.send(Email(to=address, subject=subject, text=text, key=row.dedup_key, attachments=attachments))


def _portal_footer(deps: Deps) -> str:
    base = deps.workspace.base_url
    if not base:
        return ""
    return f"\n\nSign in to see your returns, every finding and your statements: {base}/\n"


def _send_file(deps: Deps, notifier: Notifier, row: Notification, path: Path, *, thread_ts: str, claim: _Claim) -> None:
    assert row.id is not None
    file_id = row.file_id
    if file_id is not None and notifier.is_shared(file_id=file_id, channel=row.channel):
        return
    if file_id is None:
        if not path.is_file():  # written just after the run commits: the next pass will find it
            raise DeliveryError("statement_file_not_written_yet", permanent=False)
        file_id = notifier.upload(name=path.name, content=path.read_bytes())
        _save(deps, row.id, file_id=file_id)
    _still_held(deps, claim)
    notifier.share(file_id=file_id, channel=row.channel, title=title_of(row.kind), thread_ts=thread_ts)


def _still_held(deps: Deps, claim: _Claim) -> None:
    """Renew the lease just before a write, or stop: a relay that stalled past it must not post."""
    now = deps.clock()
    with session_scope(deps.engine) as session:
        held = repo.renew_claim(
            session, notification_id=claim.notification_id, held_until=claim.held_until, until=now + LEASE
        )
    if not held:
        raise _LostClaim
    claim.held_until = now + LEASE


def _save(deps: Deps, notification_id: int, *, slack_ts: str | None = None, file_id: str | None = None) -> None:
    with session_scope(deps.engine) as session:
        repo.record_progress(session, notification_id=notification_id, slack_ts=slack_ts, file_id=file_id)


def _context(deps: Deps, row: Notification) -> str:
    return f"{escape(deps.contract.alliance.name)} · notification {row.id} · {row.created_at:%d %b %Y %H:%M} UTC"
