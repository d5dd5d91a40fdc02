"""People who sign in to the portal: accounts, their links, sessions and sign-in throttling. Pure rules.

An account is a person (an email address) with one role: a partner's (with its partner id), an officer's or a
board member's. An officer creates it; the person sets a password through a signed, single-use link that
expires. The same kind of link resets a forgotten password. Time is always passed in.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import UsageError

INVITATION_VALID = timedelta(hours=48)
RESET_VALID = timedelta(hours=2)
SESSION_IDLE = timedelta(minutes=30)  # no request for this long: signed out
SESSION_ABSOLUTE = timedelta(hours=12)  # however busy: signed out this long after signing in
SESSION_TOUCH_EVERY = timedelta(minutes=1)  # last-seen is written at most this often
FAILURES_BEFORE_LOCK = 5  # failed sign-ins in a row (within FAILURE_WINDOW) lock the account
FAILURE_WINDOW = timedelta(minutes=15)
LOCKED_FOR = timedelta(minutes=15)
PASSWORD_MIN = 10
PASSWORD_MAX = 256  # Argon2 hashes anything; a megabyte "password" is a denial of service, not a secret
EMAIL_MAX = 254
NAME_MAX = 120

_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
# Passwords people choose first (and those a sign-in page invites); each refused whatever its case.
_COMMON = frozenset(
    [
        "password",
        "password1",
        "password12",
        "password123",
        "passw0rd123",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "iloveyou123",
        "letmein123",
        "welcome123",
        "welcome1234",
        "abc1234567",
        "changeme123",
        "administrator",
        "football123",
        "baseball123",
        "1q2w3e4r5t",
        "0987654321",
        "1111111111",
        "0000000000",
        "aaaaaaaaaa",
        "monkey1234",
        "dragon1234",
        "sunshine123",
        "princess123",
        "trustno1234",
        "alliance123",
        "alliance2026",
        "charity123",
        "northfield1",
    ]
)


class LinkPurpose(StrEnum):
    invitation = "invitation"  # set a first password
    reset = "reset"  # set a new password

    @property
    def valid_for(self) -> timedelta:
        return INVITATION_VALID if self is LinkPurpose.invitation else RESET_VALID


def normalise_email(text: str) -> str:
    """How an address is stored and matched: no surrounding spaces, lower case."""
    return text.strip().casefold()


def check_email(text: str) -> str:
    """The address, normalised; refused in words a person can act on if it is not one."""
    email = normalise_email(text)
    if not email:
        raise UsageError("enter an email address")
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise UsageError(f"{text.strip()[:80]!r} is not an email address (like name@example.org)")
    return email


def check_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise UsageError("enter the person's name")
    if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UsageError(f"a name is at most {NAME_MAX} characters, without control characters")
    return name


def password_problem(password: str, *, email: str) -> str | None:
    """Why a new password is refused, or None. Length over rules (NCSC): no forced mix of characters."""
    if len(password) < PASSWORD_MIN:
        return f"Your password must be at least {PASSWORD_MIN} characters long"
    if len(password) > PASSWORD_MAX:
        return f"Your password must be at most {PASSWORD_MAX} characters long"
    if password.strip() != password:
        return "Your password must not start or end with a space"
    lowered = password.casefold()
    if lowered in _COMMON or len(set(lowered)) < 4:
        return "Your password is too easy to guess: choose three or more random words"
    if lowered == email.casefold() or lowered == email.split("@")[0].casefold():
        return "Your password must not be your email address"
    return None


def link_expires(purpose: LinkPurpose, created_at: datetime) -> datetime:
    return created_at + purpose.valid_for


@dataclass(frozen=True)
class SessionTimes:
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


def session_ended(session: SessionTimes, now: datetime) -> str | None:
    """Why a session no longer signs anyone in, or None while it does."""
    if session.revoked_at is not None:
        return "signed out"
    if now - session.created_at >= SESSION_ABSOLUTE:
        return "signed in too long ago"
    if now - session.last_seen_at >= SESSION_IDLE:
        return "inactive too long"
    return None


def needs_touch(session: SessionTimes, now: datetime) -> bool:
    return now - session.last_seen_at >= SESSION_TOUCH_EVERY


def locked_until(failures: Sequence[datetime], now: datetime) -> datetime | None:
    """When a lock from failed sign-ins ends, if the account is locked at ``now``.

    ``failures``: the account's failed attempts since its last successful sign-in (or since its last lock
    began, whichever is later), oldest first. FAILURES_BEFORE_LOCK of them inside FAILURE_WINDOW lock it
    for LOCKED_FOR from the last of them."""
    recent = sorted(failures)
    for i in range(len(recent) - FAILURES_BEFORE_LOCK + 1):
        window = recent[i : i + FAILURES_BEFORE_LOCK]
        if window[-1] - window[0] <= FAILURE_WINDOW:
            until = window[-1] + LOCKED_FOR
            if until > now:
                return until
    return None
