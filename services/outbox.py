"""Queueing a message for a partner: to its Slack channel and to each of its email addresses, one outbox row per
destination (each delivered, retried and never duplicated on its own), in the caller's transaction."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from domain.contract import Partner
from domain.notifications import EMAIL, email_channel
from models import repo
from models.tables import Notification


def tell_partner(
    session: Session,
    partner: Partner,
    *,
    dedup_key: str,
    kind: str,
    text: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
) -> list[Notification]:
    """The same message to every place the contract says the partner is told things."""
    queued = []
    if partner.slack_channel:
        queued.append(
            repo.enqueue(
                session,
                dedup_key=dedup_key,
                channel=partner.slack_channel,
                partner_id=partner.id,
                kind=kind,
                text=text,
                at=at,
                payload=payload,
            )
        )
    for address in partner.email:
        queued.append(
            repo.enqueue(
                session,
                dedup_key=f"{dedup_key}|{EMAIL}{address}",
                channel=email_channel(address),
                partner_id=partner.id,
                kind=kind,
                text=text,
                at=at,
                payload=payload,
            )
        )
    return queued


def told(session: Session, partner: Partner, *, dedup_key: str) -> bool:
    """Whether the message with this key was queued for the partner already (on any of its channels)."""
    keys = [dedup_key] if partner.slack_channel else []
    keys += [f"{dedup_key}|{EMAIL}{address}" for address in partner.email]
    return any(repo.has_notification(session, dedup_key=key) for key in keys)
