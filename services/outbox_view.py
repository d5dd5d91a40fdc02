"""The outbox as an officer or a partner reads it (`alliance notifications`): whose each message is, which month it
is about, filtered by status, partner and month; a partner sees the messages to its own channel only."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from domain.access import Principal
from domain.errors import UsageError
from domain.periods import Period
from models import repo
from models.db import session_scope
from models.tables import Notification, PaymentRun, Submission
from services.deps import Deps

STATUSES = ("pending", "sent", "failed")
_MONTH = re.compile(r"(?<![\d-])(\d{4}-\d{2})(?![\d-])")  # 2026-04, not the month of a day 2026-04-16


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    status: str  # pending | sent | failed
    attempts: int
    channel: str
    kind: str
    partner: str | None
    period: str | None  # the month the message is about, where it is about one
    text: str
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    next_attempt_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "attempts": self.attempts,
            "channel": self.channel,
            "kind": self.kind,
            "partner": self.partner,
            "period": self.period,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
        }


def outbox_entries(
    deps: Deps,
    principal: Principal,
    *,
    status: str | None = None,
    partner_id: str | None = None,
    period: Period | None = None,
) -> list[OutboxEntry]:
    """The messages the caller may see, oldest first; ``partner_id`` (refused if the contract has no such partner)
    and ``period`` narrow them."""
    if status is not None and status not in STATUSES:
        raise UsageError(f"--status must be pending, sent or failed, not {status!r}")
    if partner_id is not None:
        deps.contract.known_partner(partner_id)
    with session_scope(deps.engine) as session:
        found = []
        for n in repo.notifications(session, status=status):
            # A partner sees the messages to its own channel only (routing puts only its own in them).
            if not principal.sees(n.partner_id or ""):
                continue
            if partner_id is not None and n.partner_id != partner_id:
                continue
            month = _period_of(session, n)
            if period is not None and month != str(period):
                continue
            found.append(_entry(n, month))
    return found


def _entry(n: Notification, month: str | None) -> OutboxEntry:
    return OutboxEntry(
        id=n.id or 0,
        status=n.status,
        attempts=n.attempts,
        channel=n.channel,
        kind=n.kind,
        partner=n.partner_id,
        period=month,
        text=n.text,
        created_at=n.created_at,
        sent_at=n.sent_at,
        last_error=n.last_error,
        next_attempt_at=n.next_attempt_at,
    )


def _period_of(session: Session, n: Notification) -> str | None:
    """The month a message is about: its payload's, else its key's, else its return's or its payment run's."""
    try:
        payload = json.loads(n.payload or "{}")
    except ValueError:
        payload = {}
    if isinstance(payload.get("period"), str):
        return str(payload["period"])
    key = _MONTH.search(n.dedup_key)
    if key:
        return key.group(1)
    if isinstance(payload.get("submission_id"), int):
        submission = session.get(Submission, payload["submission_id"])
        return submission.period if submission else None
    if isinstance(payload.get("run_id"), int):
        run = session.get(PaymentRun, payload["run_id"])
        return run.period if run else None
    return None
