"""The append-only audit log: each entry holds the hash of the previous one.

The chain cannot fork: appends are serialised (BEGIN IMMEDIATE on SQLite, a transaction-level
advisory lock on PostgreSQL) and the database refuses two entries with the same previous hash.
"""

import hashlib
import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event, text
from sqlmodel import Session, col, func, select

from models.tables import AuditEntry

GENESIS = "0" * 64

# pg_advisory_xact_lock(int4, int4): the two-key space, which never meets the single-key locks
# that ledger.serialise_period takes on hashtext(period). 0x616C6C69 is "alli".
_AUDIT_LOCK = (0x616C6C69, 1)

# Told of the chain's new head after each commit that appended to it (services/deps.py writes it in the workspace,
# outside the database, so that `alliance audit verify` notices a chain cut short or emptied).
HeadListener = Callable[[int, str], None]
_HEAD_LISTENERS: "WeakKeyDictionary[Engine, HeadListener]" = WeakKeyDictionary()
_PENDING_HEAD = "alliance_audit_head"  # Session.info key: (listener, id, hash) of this transaction's last append


def on_new_head(engine: Engine, listener: HeadListener) -> None:
    """Call ``listener(entry_id, hash)`` once a transaction that appended to the chain through ``engine`` has
    committed (never for one rolled back). Several processes append: each tells its own newest entry, so a
    listener that keeps the last call it heard keeps an entry that is in the chain, if not always the newest."""
    _HEAD_LISTENERS[engine] = listener


@event.listens_for(Session, "after_commit")
def _tell_new_head(session: Session) -> None:
    pending = session.info.pop(_PENDING_HEAD, None)
    if pending is not None:
        listener, entry_id, digest = pending
        with suppress(OSError):  # committed already: a head not written down only weakens the later check
            listener(entry_id, digest)


@event.listens_for(Session, "after_rollback")
def _forget_new_head(session: Session) -> None:
    session.info.pop(_PENDING_HEAD, None)


def _digest(prev_hash: str, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    # UTC, whatever zone the caller's clock used: the stored value comes back as UTC.
    moment = at.astimezone(UTC).isoformat()
    canonical = json.dumps([prev_hash, moment, actor, action, subject, detail], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def serialise_appends(session: Session) -> None:
    """Hold the end of the chain until this transaction ends, so no other append reads the same last entry.

    An advisory lock rather than LOCK TABLE: it blocks nothing but other appends (readers, `audit show`,
    VACUUM are untouched), and it cannot deadlock with a ROW EXCLUSIVE lock a transaction already holds
    on audit_entry, which upgrading to SHARE ROW EXCLUSIVE could. It is held until commit, so callers
    append as the last thing their transaction does. SQLite needs nothing: BEGIN IMMEDIATE already
    serialises writers (models/db.py)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:a, :b)").bindparams(a=_AUDIT_LOCK[0], b=_AUDIT_LOCK[1]))  # type: ignore[call-overload]


def append_audit(
    session: Session, *, at: datetime, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None
) -> AuditEntry:
    serialise_appends(session)
    last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    prev_hash = last.hash if last else GENESIS
    text_detail = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=text_detail,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, at, actor, action, subject, text_detail),
    )
    session.add(entry)
    session.flush()
    bind = session.get_bind()
    listener = _HEAD_LISTENERS.get(getattr(bind, "engine", bind))  # type: ignore[arg-type]
    if listener is not None and entry.id is not None:
        session.info[_PENDING_HEAD] = (listener, entry.id, entry.hash)
    return entry


def chain_is_empty(session: Session) -> bool:
    return session.exec(select(AuditEntry.id).limit(1)).first() is None


def missing_head(session: Session, *, entry_id: int, digest: str) -> str | None:
    """Why the chain lacks the entry recorded elsewhere as its head (``entry_id`` with hash ``digest``), in words;
    None when the chain holds it. What no hash chain shows alone: its last entries removed, or all of them."""
    entry = session.get(AuditEntry, entry_id)
    if entry is not None and entry.hash == digest:
        return None
    count = session.exec(select(func.count()).select_from(AuditEntry)).one()
    if entry is None:
        last = session.exec(select(func.max(AuditEntry.id))).one()
        held = f"the chain ends at entry {last} ({count} entries)" if last is not None else "the chain is empty"
        return (
            f"entry {entry_id}, recorded in the workspace as the head of the chain, is missing: {held}; entries were "
            "removed, or the database was emptied or restored from an older backup"
        )
    return (
        f"entry {entry_id} is not the entry recorded in the workspace as the head of the chain (its hash differs): "
        "entries were removed and others written since, or this is another alliance's database"
    )


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
    entries: int  # entries read, up to and including the first bad one
    first_bad_id: int | None
    problem: str | None = None  # what is wrong with the first bad entry, in words
    head: str = GENESIS  # the hash of the last entry: write it down to detect a later truncation

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_chain(session: Session) -> ChainCheck:
    """Walk the log in order; the first entry that was edited, follows a removed entry, or was inserted.

    An entry whose hash is not that of its own content was edited (or forged without the key). An
    entry whose hash is right but whose previous hash is not the entry before it: if that previous
    hash belongs to an earlier entry, the entries in between were inserted and the first of them is
    reported; otherwise the entry it chained to was removed. What no hash chain detects alone is a
    well-formed entry added at the end, or the last entries removed: compare ``head`` with a copy.
    """
    prev_hash = GENESIS
    seen: dict[str, int] = {GENESIS: 0}  # hash -> position in the walk
    walked: list[AuditEntry] = []
    for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
        walked.append(entry)
        expected = _digest(entry.prev_hash, entry.at, entry.actor, entry.action, entry.subject, entry.detail)
        if entry.hash != expected:
            return ChainCheck(len(walked), entry.id, f"entry {entry.id} was edited: its hash does not match it")
        if entry.prev_hash != prev_hash:
            if entry.prev_hash in seen:
                inserted = walked[seen[entry.prev_hash]]
                return ChainCheck(
                    len(walked),
                    inserted.id,
                    f"entry {inserted.id} is not in the chain (inserted, or a fork): "
                    f"entry {entry.id} chains to the entry before it",
                )
            return ChainCheck(
                len(walked), entry.id, f"an entry before {entry.id} was removed: the entry it chains to is missing"
            )
        seen[entry.hash] = len(walked)
        prev_hash = entry.hash
    return ChainCheck(len(walked), None, None, prev_hash)
