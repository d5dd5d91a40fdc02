"""Session functions for accounts, their links, sessions and sign-in attempts."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import text, update
from sqlmodel import Session, col, func, select

from models.portal_tables import Account, AccountLink, SignInAttempt, WebSession


def account_by_email(session: Session, *, email: str) -> Account | None:
    return session.exec(select(Account).where(Account.email == email)).first()


def account_by_id(session: Session, *, account_id: int) -> Account | None:
    return session.get(Account, account_id)


def all_accounts(session: Session) -> list[Account]:
    return list(session.exec(select(Account).order_by(col(Account.role), col(Account.partner_id), col(Account.email))))


def add_account(session: Session, *, account: Account) -> Account:
    session.add(account)
    session.flush()
    return account


def add_link(session: Session, *, link: AccountLink, replace: bool = True) -> AccountLink:
    """A new link for the account and purpose. ``replace``: any earlier one still open for that purpose is closed
    (an officer's new invitation: the older must not outlive it). A link asked for on the sign-in page closes none,
    or anyone could cancel someone's invitation by asking; using any link closes them all."""
    if replace:
        session.execute(
            update(AccountLink)
            .where(
                col(AccountLink.account_id) == link.account_id,
                col(AccountLink.purpose) == link.purpose,
                col(AccountLink.used_at).is_(None),
            )
            .values(used_at=link.created_at)
        )
    session.add(link)
    session.flush()
    return link


def link_by_id(session: Session, *, link_id: int) -> AccountLink | None:
    return session.get(AccountLink, link_id)


def latest_link(session: Session, *, account_id: int) -> AccountLink | None:
    query = select(AccountLink).where(AccountLink.account_id == account_id).order_by(col(AccountLink.id).desc())
    return session.exec(query.limit(1)).first()


def use_link(session: Session, *, link_id: int, now: datetime) -> bool:
    """Mark a link used, once: False if it was used (or replaced) already, or has expired."""
    result = session.execute(
        update(AccountLink)
        .where(
            col(AccountLink.id) == link_id,
            col(AccountLink.used_at).is_(None),
            col(AccountLink.expires_at) > now,
        )
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def close_links(session: Session, *, account_id: int, now: datetime) -> None:
    session.execute(
        update(AccountLink)
        .where(col(AccountLink.account_id) == account_id, col(AccountLink.used_at).is_(None))
        .values(used_at=now)
    )


def add_session(session: Session, *, web_session: WebSession) -> WebSession:
    session.add(web_session)
    session.flush()
    return web_session


def session_by_token_hash(session: Session, *, token_hash: str) -> WebSession | None:
    return session.exec(select(WebSession).where(WebSession.token_hash == token_hash)).first()


def touch_session(session: Session, *, session_id: int, now: datetime) -> None:
    session.execute(
        update(WebSession)
        .where(col(WebSession.id) == session_id, col(WebSession.revoked_at).is_(None))
        .values(last_seen_at=now)
    )


def revoke_session(session: Session, *, session_id: int, now: datetime, why: str) -> None:
    session.execute(
        update(WebSession)
        .where(col(WebSession.id) == session_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=now, revoked_why=why)
    )


def revoke_sessions(session: Session, *, account_id: int, now: datetime, why: str) -> int:
    """Sign the account out everywhere; how many sessions were open."""
    result = session.execute(
        update(WebSession)
        .where(col(WebSession.account_id) == account_id, col(WebSession.revoked_at).is_(None))
        .values(revoked_at=now, revoked_why=why)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# pg_advisory_xact_lock(int4, int4) in a key space of its own ("sign"), apart from the audit chain's and the periods'.
_SIGN_IN_LOCK = 0x7369676E


def serialise_sign_in(session: Session, *, email: str) -> None:
    """Hold the address's sign-in attempts until this transaction ends, so that attempts arriving at once are
    counted one after another (SQLite's BEGIN IMMEDIATE already serialises every writer)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = text("SELECT pg_advisory_xact_lock(:space, hashtext(:email))")
        session.exec(statement.bindparams(space=_SIGN_IN_LOCK, email=email))  # type: ignore[call-overload]


def add_attempt(session: Session, *, attempt: SignInAttempt) -> SignInAttempt:
    session.add(attempt)
    session.flush()
    return attempt


def attempt_succeeded(session: Session, *, attempt_id: int) -> None:
    session.execute(update(SignInAttempt).where(col(SignInAttempt.id) == attempt_id).values(ok=True))


def failures_since_success(session: Session, *, email: str, since: datetime) -> Sequence[datetime]:
    """The failed sign-ins for ``email`` after its last successful one, and not before ``since``, oldest first."""
    last_ok = session.exec(
        select(SignInAttempt.at)
        .where(SignInAttempt.email == email, col(SignInAttempt.ok).is_(True))
        .order_by(col(SignInAttempt.at).desc())
        .limit(1)
    ).first()
    start = max(since, last_ok) if last_ok is not None else since
    query = (
        select(SignInAttempt.at)
        .where(SignInAttempt.email == email, col(SignInAttempt.ok).is_(False), col(SignInAttempt.at) > start)
        .order_by(col(SignInAttempt.at))
    )
    return list(session.exec(query))


def active_officers(session: Session) -> int:
    """Officers' accounts that are not disabled (invited or signed up)."""
    query = (
        select(func.count()).select_from(Account).where(Account.role == "officer", col(Account.disabled_at).is_(None))
    )
    return int(session.exec(query).one())
