"""The append-only audit log: each entry holds the hash of the previous one."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.tables import AuditEntry

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    # UTC, whatever zone the caller's clock used: the stored value comes back as UTC.
    moment = at.astimezone(UTC).isoformat()
    canonical = json.dumps([prev_hash, moment, actor, action, subject, detail], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append_audit(
    session: Session, *, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> AuditEntry:
    last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    prev_hash = last.hash if last else GENESIS
    text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=text,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, at, actor, action, subject, text),
    )
    session.add(entry)
    session.flush()
    return entry


def entries(session: Session, *, action_prefix: str | None = None, limit: int | None = None) -> list[AuditEntry]:
    """The newest entries first (``action_prefix`` e.g. "review." keeps one kind of action)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc())
    if action_prefix:
        query = query.where(col(AuditEntry.action).startswith(action_prefix))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    first_bad_id: int | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(session: Session) -> ChainCheck:
    prev_hash = GENESIS
    count = 0
    for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
        count += 1
        expected = _digest(prev_hash, entry.at, entry.actor, entry.action, entry.subject, entry.detail)
        if entry.prev_hash != prev_hash or entry.hash != expected:
            return ChainCheck(count, entry.id)
        prev_hash = entry.hash
    return ChainCheck(count, None)
