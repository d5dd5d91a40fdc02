"""The portal's tables: people's accounts, their single-use links, sessions, sign-in attempts and uploads.

No secret is stored: a password only as its Argon2id hash, a session only as the SHA-256 of its token, a link
only as a random nonce that the link's signature (under the workspace's secret key) covers.
"""

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _utc(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(UTCDateTime(), nullable=nullable)


class Account(SQLModel, table=True):
    """A person who signs in: one role (partner, with its partner id; officer; board)."""

    __tablename__ = "account"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)  # normalised (domain.accounts.normalise_email)
    name: str = Field(max_length=120)
    role: str = Field(max_length=16)  # domain.access.Role
    partner_id: str | None = Field(default=None, max_length=64, foreign_key="partner.id")
    password_hash: str | None = Field(default=None, max_length=255)  # Argon2id; None until the invitation is used
    password_set_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    created_at: datetime = Field(sa_column=_utc())
    created_by: str
    disabled_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    disabled_by: str | None = None


class AccountLink(SQLModel, table=True):
    """An invitation (set a first password) or a reset link: signed, single use, expiring."""

    __tablename__ = "account_link"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    purpose: str = Field(max_length=16)  # domain.accounts.LinkPurpose
    nonce: str = Field(max_length=64)  # random; the link's signature covers it, so a link cannot be forged
    created_at: datetime = Field(sa_column=_utc())
    expires_at: datetime = Field(sa_column=_utc())
    used_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))  # used, or replaced by a newer one
    created_by: str


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    created_at: datetime = Field(sa_column=_utc())
    last_seen_at: datetime = Field(sa_column=_utc())
    revoked_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
    revoked_why: str | None = Field(default=None, max_length=64)


class SignInAttempt(SQLModel, table=True):
    """Every attempt to sign in (throttling counts the failures; officers can see who tried)."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (Index("ix_sign_in_attempt_email_at", "email", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)  # as typed, normalised (an unknown address is recorded too)
    account_id: int | None = Field(default=None, foreign_key="account.id")
    at: datetime = Field(sa_column=_utc())
    ok: bool
    client: str | None = Field(default=None, max_length=64)  # the address the request came from


class PortalUpload(SQLModel, table=True):
    """A return uploaded in the portal: placed in its partner's inbox folder, then filed by the intake path.

    ``busy`` is 1 while it is being checked and NULL after: the unique index on (partner_id, busy) lets a partner
    have one return being checked at a time, whatever the number of web processes."""

    __tablename__ = "portal_upload"
    __table_args__ = (Index("uq_portal_upload_busy", "partner_id", "busy", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(max_length=64, foreign_key="partner.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    filename: str = Field(max_length=255)  # as the partner named it (cleaned of path parts and control characters)
    inbox_path: str = Field(sa_type=Text)  # where it was placed in the partner's inbox folder
    sha256: str = Field(max_length=64)
    size_bytes: int
    received_at: datetime = Field(sa_column=_utc())
    state: str = Field(default="checking", max_length=16)  # checking -> (checked ->) done | failed
    busy: int | None = 1
    outcome: str | None = Field(default=None, max_length=16)  # accepted | rejected | quarantined | duplicate
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    problem: str | None = Field(default=None, sa_type=Text)  # why checking failed (the file waits for the next cycle)
    # The findings as soon as the checks have run (JSON), shown while the version is being recorded.
    findings: str | None = Field(default=None, sa_type=Text)
    finished_at: datetime | None = Field(default=None, sa_column=_utc(nullable=True))
