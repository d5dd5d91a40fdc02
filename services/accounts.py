"""Accounts: officers invite people, people set their password through a signed single-use link, sign in, are
locked out after repeated failures, reset a forgotten password, are signed out when idle, and are disabled.

Only hashes are stored (Argon2id for passwords, SHA-256 for session tokens); a link's token is an HMAC, under
the workspace's secret key, of the link's id and a random nonce, so the database alone cannot make a link.
Every change to an account is in the audit chain. The rules (lengths, time-outs, lock-out) are domain.accounts.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session

from domain import accounts as rules
from domain.access import Principal, Role, authorise, for_account
from domain.accounts import LinkPurpose
from domain.errors import AllianceError, UsageError
from domain.notifications import email_channel
from integrations.passwords import decoy
from models import accounts as store
from models import repo
from models.audit import append_audit
from models.db import read_scope, session_scope
from models.portal_tables import Account, AccountLink, SignInAttempt, WebSession
from models.tables import Notification
from services.deps import Deps

RESET_EMAILS_EVERY = 300  # seconds: a second reset request sooner sends nothing more


class SignInRefused(AllianceError):
    """A sign-in that did not succeed, in words that do not tell whether the account exists."""

    exit_code = 4


class LinkInvalid(AllianceError):
    """An invitation or reset link that cannot be used (expired, used, replaced, forged)."""

    exit_code = 2


@dataclass(frozen=True)
class SignedIn:
    account: Account
    principal: Principal
    session_id: int


@dataclass(frozen=True)
class Invited:
    account: Account
    link: str  # the URL to set a password (also sent by email)
    again: bool  # the account existed without a password: a new link replaces the old


def who(account: Account) -> str:
    """How an account is named in the audit chain and on records: its name and its address."""
    return f"{account.name} ({account.email})"


def principal_of(account: Account) -> Principal:
    assert account.id is not None
    return for_account(
        account_id=account.id,
        who=who(account),
        role=Role(account.role),
        partner_id=account.partner_id,
        name=account.name,
    )


# --- Links ---------------------------------------------------------------------------------------


def _mac(deps: Deps, link: AccountLink) -> str:
    message = f"link|{link.id}|{link.purpose}|{link.account_id}|{link.nonce}".encode()
    digest = hmac.new(deps.workspace.signing_key(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def link_token(deps: Deps, link: AccountLink) -> str:
    return f"{link.id}.{_mac(deps, link)}"


def link_url(deps: Deps, link: AccountLink) -> str:
    base = deps.workspace.base_url or "http://127.0.0.1:8000"
    page = "set-password" if link.purpose == LinkPurpose.invitation else "reset-password"
    return f"{base}/account/{page}/{link_token(deps, link)}"


_EXPIRED = "This link has expired or has already been used. Ask the alliance office for a new one"


def open_link(deps: Deps, token: str, purpose: LinkPurpose) -> tuple[AccountLink, Account]:
    """The link and its account, if the token is genuine, of this purpose, unused and in date."""
    link_id, _, mac = token.partition(".")
    if not re.fullmatch(r"[0-9]{1,18}", link_id) or not mac:
        raise LinkInvalid(_EXPIRED)
    with session_scope(deps.engine) as session:
        link = store.link_by_id(session, link_id=int(link_id))
        if link is None or link.purpose != purpose or not hmac.compare_digest(_mac(deps, link), mac):
            raise LinkInvalid(_EXPIRED)
        account = store.account_by_id(session, account_id=link.account_id)
    if account is None or account.disabled_at is not None:
        raise LinkInvalid(_EXPIRED)
    if link.used_at is not None or link.expires_at <= deps.clock():
        raise LinkInvalid(_EXPIRED)
    return link, account


def _new_link(
    deps: Deps, session: Session, account: Account, purpose: LinkPurpose, by: str, *, replace: bool = True
) -> AccountLink:
    now = deps.clock()
    assert account.id is not None
    link = store.add_link(
        session,
        link=AccountLink(
            account_id=account.id,
            purpose=purpose,
            nonce=secrets.token_hex(16),
            created_at=now,
            expires_at=rules.link_expires(purpose, now),
            created_by=by,
        ),
        replace=replace,
    )
    repo.enqueue(
        session,
        dedup_key=f"account-link:{link.id}",
        channel=email_channel(account.email),
        kind=purpose.value,
        at=now,
        text=f"{purpose.value} for {account.email}",  # the words and the link are made when it is sent
        payload={"account_id": account.id, "link_id": link.id},
    )
    return link


def account_email_text(deps: Deps, row: Notification, address: str) -> str | None:
    """An account's email (an invitation, a reset) as it is sent, with its link; None if it may not go: the
    account is gone, disabled or has another address now, or the link was used or replaced or has expired."""
    payload = json.loads(row.payload or "{}")
    if row.kind not in {p.value for p in LinkPurpose} or "link_id" not in payload:
        return None
    with session_scope(deps.engine) as session:
        link = store.link_by_id(session, link_id=int(payload["link_id"]))
        account = store.account_by_id(session, account_id=int(payload.get("account_id", -1)))
    if link is None or account is None or link.account_id != account.id or account.email != address:
        return None
    if account.disabled_at is not None or link.used_at is not None or link.expires_at <= deps.clock():
        return None
    alliance = deps.contract.alliance.name
    hours = int(LinkPurpose(link.purpose).valid_for.total_seconds() // 3600)
    if link.purpose == LinkPurpose.invitation:
        opening = (
            f"Dear {account.name},\n\nYou have been given an account for {alliance}'s returns portal "
            f"({_role_words(deps, account)}). Set your password to start:"
        )
    else:
        opening = (
            f"Dear {account.name},\n\nSomeone (we hope you) asked to reset the password of your account for "
            f"{alliance}'s returns portal. Choose a new password here:"
        )
    return (
        f"{opening}\n\n{link_url(deps, link)}\n\nThe link works once and for {hours} hours. If you did not expect "
        "this email, you can ignore it: nothing changes until the link is used.\n"
    )


def _role_words(deps: Deps, account: Account) -> str:
    if account.role == Role.partner:
        partner = deps.contract.partner(account.partner_id or "")
        return f"for {partner.name if partner else account.partner_id}"
    return {"officer": "alliance office", "board": "alliance board"}.get(account.role, account.role)


# --- Officers' side ------------------------------------------------------------------------------


def invite(deps: Deps, *, email: str, name: str, role: str, partner_id: str | None, by: Principal) -> Invited:
    """An account for a person, with an invitation to set a password (emailed; the link is also returned)."""
    authorise(by, "users invite")
    address, name = rules.check_email(email), rules.check_name(name)
    try:
        kind = Role(role)
    except ValueError:
        raise UsageError(f"--role must be partner, officer or board, not {role!r}") from None
    if kind is Role.partner:
        if not partner_id:
            raise UsageError("a partner's account needs --partner (the partner's id)")
        deps.contract.known_partner(partner_id)
    elif partner_id:
        whose = "an officer's" if kind is Role.officer else "a board member's"
        raise UsageError(f"{whose} account acts for no partner: leave --partner out")
    actor, now = by.who or "operator", deps.clock()
    try:
        with session_scope(deps.engine) as session:
            repo.sync_partners(session, contract=deps.contract)
            account = store.account_by_email(session, email=address)
            again = account is not None
            if account is not None:
                same = (account.role, account.partner_id, account.name) == (kind.value, partner_id, name)
                if account.password_hash is not None or account.disabled_at is not None or not same:
                    raise UsageError(
                        f"{address} already has an account ({account.role}"
                        + (f" for {account.partner_id}" if account.partner_id else "")
                        + ("; disabled" if account.disabled_at else "")
                        + "): a person has one account"
                    )
            else:
                account = store.add_account(
                    session,
                    account=Account(
                        email=address,
                        name=name,
                        role=kind.value,
                        partner_id=partner_id if kind is Role.partner else None,
                        created_at=now,
                        created_by=actor,
                    ),
                )
            link = _new_link(deps, session, account, LinkPurpose.invitation, actor)
            append_audit(
                session,
                at=now,
                actor=actor,
                action="account.invited",
                subject=address,
                detail={"role": kind.value, "partner": partner_id, "again": again, "link_id": link.id},
            )
            url = link_url(deps, link)
    except DatabaseIntegrityError:
        raise UsageError(f"{address} already has an account: a person has one account") from None
    return Invited(account, url, again)


def create_with_password(
    deps: Deps, *, email: str, name: str, role: Role, partner_id: str | None, password: str, by: str
) -> Account:
    """An account whose password is given, not set through an emailed link: `alliance demo`'s accounts only (a
    real person gets an invitation, so that nobody else ever knows their password)."""
    problem = rules.password_problem(password, email=email)
    if problem is not None:
        raise UsageError(problem)
    now = deps.clock()
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
        account = store.add_account(
            session,
            account=Account(
                email=rules.check_email(email),
                name=rules.check_name(name),
                role=role.value,
                partner_id=partner_id,
                password_hash=deps.passwords.hash(password),
                password_set_at=now,
                created_at=now,
                created_by=by,
            ),
        )
        append_audit(
            session, at=now, actor=by, action="account.created", subject=account.email, detail={"role": role.value}
        )
        return account


def reset_link(deps: Deps, *, email: str, by: Principal) -> str:
    """An officer's reset of someone's password: a new link (emailed, and returned to give by hand)."""
    authorise(by, "users reset")
    address = rules.check_email(email)
    with session_scope(deps.engine) as session:
        account = store.account_by_email(session, email=address)
        if account is None or account.disabled_at is not None:
            raise UsageError(f"no active account for {address} (`alliance users list`)")
        purpose = LinkPurpose.reset if account.password_hash else LinkPurpose.invitation
        link = _new_link(deps, session, account, purpose, by.who or "operator")
        append_audit(
            session,
            at=deps.clock(),
            actor=by.who or "operator",
            action=f"account.{purpose.value}_link",
            subject=address,
            detail={"link_id": link.id},
        )
        return link_url(deps, link)


def disable(deps: Deps, *, email: str, by: Principal) -> int:
    """No more sign-ins for the account; its sessions end now and its links stop working. How many sessions."""
    authorise(by, "users disable")
    address, now = rules.check_email(email), deps.clock()
    with session_scope(deps.engine) as session:
        account = store.account_by_email(session, email=address)
        if account is None:
            raise UsageError(f"no account for {address} (`alliance users list`)")
        if account.disabled_at is not None:
            return 0
        assert account.id is not None
        if account.id == by.account_id:
            raise UsageError("you cannot disable your own account: another officer can")
        if account.role == Role.officer and store.active_officers(session) <= 1:
            raise UsageError(f"{address} is the last officer who can sign in: invite another officer first")
        account.disabled_at, account.disabled_by = now, by.who
        session.add(account)
        ended = store.revoke_sessions(session, account_id=account.id, now=now, why="account disabled")
        store.close_links(session, account_id=account.id, now=now)
        append_audit(
            session,
            at=now,
            actor=by.who or "operator",
            action="account.disabled",
            subject=address,
            detail={"sessions_ended": ended},
        )
        return ended


def list_accounts(deps: Deps, *, by: Principal) -> list[Account]:
    authorise(by, "users list")
    with session_scope(deps.engine) as session:
        return store.all_accounts(session)


# --- People's side -------------------------------------------------------------------------------


def set_password(deps: Deps, *, token: str, purpose: LinkPurpose, password: str, confirm: str) -> Account:
    """Use a link: the password is set (Argon2id), the link is spent, every session of the account ends."""
    link, account = open_link(deps, token, purpose)
    problem = rules.password_problem(password, email=account.email)
    if problem is None and password != confirm:
        problem = "The passwords do not match: type the same password twice"
    if problem is not None:
        raise UsageError(problem)
    hashed = deps.passwords.hash(password)
    now = deps.clock()
    with session_scope(deps.engine) as session:
        assert link.id is not None and account.id is not None
        if not store.use_link(session, link_id=link.id, now=now):
            raise LinkInvalid(_EXPIRED)
        fresh = store.account_by_id(session, account_id=account.id)
        assert fresh is not None
        fresh.password_hash, fresh.password_set_at = hashed, now
        session.add(fresh)
        store.revoke_sessions(session, account_id=account.id, now=now, why="password changed")
        store.close_links(session, account_id=account.id, now=now)
        append_audit(
            session,
            at=now,
            actor=who(fresh),
            action="account.password_set",
            subject=fresh.email,
            detail={"link_id": link.id, "by": purpose.value},
        )
        return fresh


def request_reset(deps: Deps, *, email: str) -> None:
    """A reset link for the address if it has an active account (sent by email); silent either way, so the page
    cannot be used to learn who has an account. At most one every RESET_EMAILS_EVERY seconds."""
    try:
        address = rules.check_email(email)
    except UsageError:
        return
    now = deps.clock()
    with session_scope(deps.engine) as session:
        account = store.account_by_email(session, email=address)
        if account is None or account.disabled_at is not None:
            return
        recent = store.latest_link(session, account_id=account.id or 0)
        if (
            recent is not None
            and recent.used_at is None
            and (now - recent.created_at).total_seconds() < RESET_EMAILS_EVERY
        ):
            return  # a link sent minutes ago is still unused: no second email (no mail-bombing through the page)
        purpose = LinkPurpose.reset if account.password_hash else LinkPurpose.invitation
        link = _new_link(deps, session, account, purpose, "self-service", replace=False)
        append_audit(
            session,
            at=now,
            actor="self-service",
            action=f"account.{purpose.value}_link",
            subject=address,
            detail={"link_id": link.id},
        )


_WRONG = "Enter a correct email address and password"


def sign_in(deps: Deps, *, email: str, password: str, client: str | None = None) -> tuple[str, SignedIn]:
    """A new session (its token for the cookie) for the right email and password. Refused in the same words
    whether the address is unknown, the account disabled or the password wrong; locked for a while after
    repeated failures (the lock is audited, and says until when).

    Each attempt is recorded as a failure, under a per-address lock, before the password is checked (and marked
    a success after): attempts sent at once are counted one after another, so no burst gets more guesses in."""
    address = rules.normalise_email(email)[: rules.EMAIL_MAX]
    if not address or not password:
        raise SignInRefused(_WRONG)
    password = password[: rules.PASSWORD_MAX + 1]
    now = deps.clock()
    with session_scope(deps.engine) as session:
        store.serialise_sign_in(session, email=address)
        account = store.account_by_email(session, email=address)
        since = now - rules.FAILURE_WINDOW - rules.LOCKED_FOR
        failures = store.failures_since_success(session, email=address, since=since)
        until = rules.locked_until(failures, now)
        if until is None:
            attempt = store.add_attempt(
                session,
                attempt=SignInAttempt(
                    email=address,
                    account_id=account.id if account else None,
                    at=now,
                    ok=False,
                    client=(client or "")[:64],
                ),
            )
    if until is not None:
        raise SignInRefused(_locked_words(until))
    usable = account is not None and account.disabled_at is None and account.password_hash is not None
    stored = account.password_hash if usable and account is not None and account.password_hash else _decoy(deps)
    ok = deps.passwords.verify(stored, password) and usable
    with session_scope(deps.engine) as session:
        if not ok:
            until = rules.locked_until([*failures, now], now)
            if until is not None:
                append_audit(
                    session,
                    at=now,
                    actor="portal",
                    action="account.locked",
                    subject=address,
                    detail={"until": until.isoformat(), "failures": len(failures) + 1, "client": client},
                )
        else:
            assert account is not None and account.id is not None and account.password_hash is not None
            assert attempt.id is not None
            store.attempt_succeeded(session, attempt_id=attempt.id)
            if deps.passwords.needs_rehash(account.password_hash):
                fresh = store.account_by_id(session, account_id=account.id)
                if fresh is not None:
                    fresh.password_hash = deps.passwords.hash(password)
                    session.add(fresh)
            token = secrets.token_urlsafe(32)
            web_session = store.add_session(
                session,
                web_session=WebSession(
                    token_hash=token_hash(token), account_id=account.id, created_at=now, last_seen_at=now
                ),
            )
            append_audit(
                session,
                at=now,
                actor=who(account),
                action="account.signed_in",
                subject=address,
                detail={"session_id": web_session.id, "client": client},
            )
    if not ok:
        raise SignInRefused(_locked_words(until) if until is not None else _WRONG)
    assert web_session.id is not None and account is not None
    return token, SignedIn(account, principal_of(account), web_session.id)


def _locked_words(until: datetime) -> str:
    from domain.periods import LONDON

    return (
        f"Too many failed attempts: this account is locked until {until.astimezone(LONDON):%H:%M} (UK time). "
        "Try again then, or reset your password"
    )


_DECOYS: dict[int, str] = {}


def _decoy(deps: Deps) -> str:
    key = id(deps.passwords)
    if key not in _DECOYS:
        _DECOYS[key] = decoy(deps.passwords)
    return _DECOYS[key]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current(deps: Deps, token: str | None) -> SignedIn | None:
    """Who a session cookie signs in, if it still does: not revoked, not idle too long, not too old, and its
    account active. Seeing it keeps it alive (written at most once a minute: most pages only read)."""
    if not token or len(token) > 128:
        return None
    now = deps.clock()
    with read_scope(deps.engine) as session:
        web_session = store.session_by_token_hash(session, token_hash=token_hash(token))
        account = store.account_by_id(session, account_id=web_session.account_id) if web_session else None
    if web_session is None or web_session.id is None:
        return None
    times = rules.SessionTimes(web_session.created_at, web_session.last_seen_at, web_session.revoked_at)
    ended = rules.session_ended(times, now)
    if ended is not None:
        if web_session.revoked_at is None:
            with session_scope(deps.engine) as session:
                store.revoke_session(session, session_id=web_session.id, now=now, why=ended)
        return None
    if account is None or account.disabled_at is not None or account.password_hash is None:
        return None
    if rules.needs_touch(times, now):
        with session_scope(deps.engine) as session:
            store.touch_session(session, session_id=web_session.id, now=now)
    return SignedIn(account, principal_of(account), web_session.id)


def sign_out(deps: Deps, token: str | None) -> None:
    if not token:
        return
    with session_scope(deps.engine) as session:
        web_session = store.session_by_token_hash(session, token_hash=token_hash(token))
        if web_session is not None and web_session.id is not None:
            store.revoke_session(session, session_id=web_session.id, now=deps.clock(), why="signed out")
