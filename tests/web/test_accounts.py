"""Accounts, for real: invitations, passwords, sessions, lock-out and reset, through the pages and the services,
on SQLite and PostgreSQL."""

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from domain.accounts import FAILURES_BEFORE_LOCK, LOCKED_FOR, SESSION_ABSOLUTE, SESSION_IDLE, LinkPurpose
from domain.errors import UsageError
from models.audit import entries, verify_chain
from models.db import session_scope
from models.portal_tables import Account, WebSession
from models.tables import Notification
from services import accounts
from services.accounts import LinkInvalid
from tests.web.conftest import (
    CITY,
    HARBOUR,
    OPERATOR,
    PASSWORD,
    Portal,
    start_portal,
)

NEW_PASSWORD = "a brand new long passphrase"


@pytest.fixture
def anywhere(engine: Engine, tmp_path: Path) -> Iterator[Portal]:
    """The portal on each database."""
    started = start_portal(tmp_path / "ws", engine)
    yield started
    started.close()


def outbox(portal: Portal, kind: str) -> list[Notification]:
    with session_scope(portal.deps.engine) as session:
        return list(session.exec(select(Notification).where(Notification.kind == kind)))


def link_in(portal: Portal, email: str, kind: str) -> str:
    """The link the latest email of ``kind`` to ``email`` carries, as the relay writes it when sending."""
    [*_, note] = [n for n in outbox(portal, kind) if n.channel == f"email:{email}"]
    text = accounts.account_email_text(portal.deps, note, email)
    assert text is not None
    found = re.search(r"https?://\S+/account/\S+", text)
    assert found
    return found.group(0).split(".test", 1)[1]


def test_a_password_is_stored_only_as_an_argon2id_hash_and_a_session_only_as_a_digest(anywhere: Portal) -> None:
    person = anywhere.person(HARBOUR)
    token = person.client.cookies.get("alliance_session")
    assert token
    with session_scope(anywhere.deps.engine) as session:
        account = session.exec(select(Account).where(Account.email == HARBOUR)).one()
        sessions = list(session.exec(select(WebSession).where(WebSession.account_id == account.id)))
    assert account.password_hash is not None and account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert [s.token_hash for s in sessions] == [accounts.token_hash(token)] and token not in sessions[0].token_hash


def test_an_invitation_link_works_once_within_48_hours_and_a_forged_one_never(anywhere: Portal) -> None:
    deps = anywhere.deps
    invited = accounts.invite(
        deps, email="new@harbour.org", name="New Person", role="partner", partner_id="harbour-trust", by=OPERATOR
    )
    path = invited.link.split(".test", 1)[1]
    person = anywhere.person()
    assert person.get(path).status_code == 200
    forged = path[:-4] + ("AAAA" if not path.endswith("AAAA") else "BBBB")
    assert person.get(forged).status_code == 410
    assert person.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=path).status_code == 303
    assert (
        person.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page="/account/sign-in").status_code
        == 410
    )
    assert person.sign_in("new@harbour.org", NEW_PASSWORD).status_code == 303
    late = accounts.invite(
        deps, email="late@harbour.org", name="Late", role="partner", partner_id="harbour-trust", by=OPERATOR
    )
    anywhere.clock.advance(hours=48, seconds=1)
    with pytest.raises(LinkInvalid):
        accounts.open_link(deps, late.link.rsplit("/", 1)[-1], LinkPurpose.invitation)


def test_a_new_invitation_replaces_the_old_one(anywhere: Portal) -> None:
    deps = anywhere.deps
    first = accounts.invite(
        deps, email="twice@harbour.org", name="Twice", role="partner", partner_id="harbour-trust", by=OPERATOR
    )
    second = accounts.invite(
        deps, email="twice@harbour.org", name="Twice", role="partner", partner_id="harbour-trust", by=OPERATOR
    )
    assert second.again
    with pytest.raises(LinkInvalid):
        accounts.open_link(deps, first.link.rsplit("/", 1)[-1], LinkPurpose.invitation)
    accounts.open_link(deps, second.link.rsplit("/", 1)[-1], LinkPurpose.invitation)
    with pytest.raises(UsageError, match="already has an account"):
        accounts.invite(
            deps, email=HARBOUR, name="Ann Harbour", role="partner", partner_id="harbour-trust", by=OPERATOR
        )


def test_a_weak_or_mismatched_password_is_refused_with_the_reason(anywhere: Portal) -> None:
    invited = accounts.invite(
        anywhere.deps, email="weak@harbour.org", name="Weak", role="partner", partner_id="harbour-trust", by=OPERATOR
    )
    path = invited.link.split(".test", 1)[1]
    person = anywhere.person()
    for password, confirm, words in [
        ("short", "short", "at least 10 characters"),
        ("password123", "password123", "too easy to guess"),
        ("weak@harbour.org", "weak@harbour.org", "must not be your email"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "do not match"),
    ]:
        response = person.post(path, {"password": password, "confirm": confirm}, page=path)
        assert response.status_code == 400 and words in response.text
    assert person.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=path).status_code == 303


def test_a_wrong_password_and_an_unknown_address_get_the_same_words(anywhere: Portal) -> None:
    person = anywhere.person()
    wrong = person.sign_in(HARBOUR, "not the password at all")
    unknown = person.sign_in("nobody@nowhere.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    assert "Enter a correct email address and password" in wrong.text
    assert wrong.text.replace(HARBOUR, "X") == unknown.text.replace("nobody@nowhere.org", "X")


def test_repeated_failures_lock_the_account_for_a_while_and_the_lock_is_audited(anywhere: Portal) -> None:
    person = anywhere.person()
    for _ in range(FAILURES_BEFORE_LOCK - 1):
        assert "Enter a correct email" in person.sign_in(HARBOUR, "wrong guess number").text
    locked = person.sign_in(HARBOUR, "wrong guess number")
    assert "locked until" in locked.text
    assert "locked until" in person.sign_in(HARBOUR).text  # even the right password, while locked
    assert person.client.cookies.get("alliance_session") is None
    with session_scope(anywhere.deps.engine) as session:
        assert [e.subject for e in entries(session, action_prefix="account.locked")] == [HARBOUR]
        assert verify_chain(session).ok
    assert anywhere.person().sign_in(CITY).status_code == 303  # another account is not affected
    anywhere.clock.advance(seconds=LOCKED_FOR.total_seconds() + 1)
    assert person.sign_in(HARBOUR).status_code == 303


def test_a_session_ends_when_idle_too_long_and_after_twelve_hours_however_busy(anywhere: Portal) -> None:
    person = anywhere.person(HARBOUR)
    anywhere.clock.advance(seconds=SESSION_IDLE.total_seconds() - 60)
    assert person.get("/returns").status_code == 200  # seen: kept alive
    anywhere.clock.advance(seconds=SESSION_IDLE.total_seconds() - 60)
    assert person.get("/returns").status_code == 200
    anywhere.clock.advance(seconds=SESSION_IDLE.total_seconds() + 1)
    response = person.get("/returns", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/account/sign-in")
    busy = anywhere.person(CITY)
    for _ in range(int(SESSION_ABSOLUTE / timedelta(minutes=20))):
        anywhere.clock.advance(minutes=20)
        if busy.get("/returns", follow_redirects=False).status_code != 200:
            break
    assert busy.get("/returns", follow_redirects=False).status_code == 303
    with session_scope(anywhere.deps.engine) as session:
        ended = {s.revoked_why for s in session.exec(select(WebSession))}
    assert {"inactive too long", "signed in too long ago"} <= ended


def test_signing_out_and_disabling_revoke_sessions_a_copied_cookie_included(anywhere: Portal) -> None:
    person = anywhere.person(HARBOUR)
    stolen = person.client.cookies.get("alliance_session")
    assert person.post("/account/sign-out", {}, page="/returns").status_code == 303
    thief = anywhere.person()
    thief.client.cookies.set("alliance_session", stolen or "")
    assert thief.get("/returns", follow_redirects=False).status_code == 303
    city = anywhere.person(CITY)
    assert accounts.disable(anywhere.deps, email=CITY, by=OPERATOR) == 1
    assert city.get("/returns", follow_redirects=False).status_code == 303
    assert anywhere.person().sign_in(CITY).status_code == 400
    with session_scope(anywhere.deps.engine) as session:
        assert [e.subject for e in entries(session, action_prefix="account.disabled")] == [CITY]


def test_a_forgotten_password_is_reset_by_an_emailed_link_that_ends_every_session(anywhere: Portal) -> None:
    signed_in = anywhere.person(HARBOUR)
    person = anywhere.person()
    page = person.post("/account/forgotten-password", {"email": HARBOUR}, page="/account/forgotten-password")
    unknown = person.post("/account/forgotten-password", {"email": "nobody@x.org"}, page="/account/forgotten-password")
    assert "Check your email" in page.text and "Check your email" in unknown.text  # the same for anyone
    assert [n.channel for n in outbox(anywhere, "reset")] == [f"email:{HARBOUR}"]
    link = link_in(anywhere, HARBOUR, "reset")
    assert person.post(link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, page=link).status_code == 303
    assert signed_in.get("/returns", follow_redirects=False).status_code == 303  # the old session ended
    assert person.sign_in(HARBOUR).status_code == 400
    assert person.sign_in(HARBOUR, NEW_PASSWORD).status_code == 303
    assert person.post(link, {"password": PASSWORD, "confirm": PASSWORD}, page="/account/sign-in").status_code == 410
    # A second request at once sends nothing more (no mail-bombing through the page).
    person.post("/account/forgotten-password", {"email": HARBOUR}, page="/account/forgotten-password")
    person.post("/account/forgotten-password", {"email": HARBOUR}, page="/account/forgotten-password")
    assert len(outbox(anywhere, "reset")) == 2


def test_an_email_link_is_not_sent_once_used_or_to_an_address_the_account_no_longer_has(anywhere: Portal) -> None:
    invited = accounts.invite(
        anywhere.deps, email="once@harbour.org", name="Once", role="partner", partner_id="harbour-trust", by=OPERATOR
    )
    [note] = [n for n in outbox(anywhere, "invitation") if n.channel == "email:once@harbour.org"]
    assert accounts.account_email_text(anywhere.deps, note, "someone@else.org") is None
    accounts.set_password(
        anywhere.deps,
        token=invited.link.rsplit("/", 1)[-1],
        purpose=LinkPurpose.invitation,
        password=NEW_PASSWORD,
        confirm=NEW_PASSWORD,
    )
    assert accounts.account_email_text(anywhere.deps, note, "once@harbour.org") is None


def test_after_signing_in_the_visitor_goes_where_they_were_going_on_this_site_only(portal: Portal) -> None:
    person = portal.person()
    asked = person.get("/statements", follow_redirects=False)
    assert asked.headers["location"] == "/account/sign-in?next=%2Fstatements"
    response = person.post("/account/sign-in", {"email": HARBOUR, "password": PASSWORD, "next": "/statements"})
    assert response.headers["location"] == "/statements"
    other = portal.person()
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = other.post("/account/sign-in", {"email": HARBOUR, "password": PASSWORD, "next": target})
        assert response.headers["location"] == "/"
        other = portal.person()


def test_guesses_sent_all_at_once_get_no_more_tries_than_one_at_a_time(anywhere: Portal) -> None:
    """Each attempt is counted, under a per-address lock, before its password is checked: a burst of 20 gets the
    same five checks as five guesses in a row, then the lock."""
    import threading

    from integrations.passwords import Passwords

    checked: list[str] = []

    class Counting(Passwords):
        def verify(self, stored: str, password: str) -> bool:
            checked.append(password)
            return super().verify(stored, password)

    deps = replace(anywhere.deps, passwords=Counting(time_cost=1, memory_cost=8, parallelism=1))
    outcomes: list[str] = []

    def guess(n: int) -> None:
        try:
            accounts.sign_in(deps, email=HARBOUR, password=f"guess number {n}")
            outcomes.append("in")
        except accounts.SignInRefused as refused:
            outcomes.append("locked" if "locked until" in str(refused) else "wrong")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(checked) == FAILURES_BEFORE_LOCK
    assert outcomes.count("in") == 0 and outcomes.count("locked") == 20 - FAILURES_BEFORE_LOCK + 1


def test_asking_for_a_reset_does_not_cancel_an_officers_invitation(anywhere: Portal) -> None:
    invited = accounts.invite(
        anywhere.deps,
        email="pending@harbour.org",
        name="Pending",
        role="partner",
        partner_id="harbour-trust",
        by=OPERATOR,
    )
    anywhere.clock.advance(minutes=10)
    anywhere.person().post(
        "/account/forgotten-password", {"email": "pending@harbour.org"}, page="/account/forgotten-password"
    )
    accounts.open_link(anywhere.deps, invited.link.rsplit("/", 1)[-1], LinkPurpose.invitation)  # still good
    assert len([n for n in outbox(anywhere, "invitation") if n.channel == "email:pending@harbour.org"]) == 2


def test_odd_link_tokens_and_ids_are_not_found_never_an_error(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    for path in ("/account/set-password/\u00b2.x", "/account/reset-password/99999999999999999999.x"):
        assert person.get(path).status_code == 410
    for path in (
        "/versions/99999999999999999999",
        "/versions/abc",
        "/uploads/1.5/state",
        "/review/abc/evidence",
        "/statements/2026-10/vabc",
        "/versions/0",
        "/versions/-1/feedback",
    ):
        response = person.get(path)
        assert response.status_code == 404 and "Page not found" in response.text, path
        assert "abc" not in response.text.split("<main", 1)[1]  # the input is not echoed back
