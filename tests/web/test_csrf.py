"""Every state-changing request of the portal needs the visitor's own CSRF token; a form from another site is
refused before anything happens. The POST routes are read from the app, so a new one is tried here too."""

import re

import pytest
from sqlalchemy import func
from sqlmodel import select

from models.db import session_scope
from models.portal_tables import PortalUpload, SignInAttempt, WebSession
from models.tables import AuditEntry, Notification, ReviewReply, Submission
from tests.web.conftest import BASE, BOARD, HARBOUR, OFFICER, PASSWORD, Portal, flag_for_review, good_return
from web.access import routes_of

VALUES = {"token": "1.x", "year": "1", "submission_id": "1", "period": "2026-10", "partner_id": "harbour-trust"}


def counts(portal: Portal) -> tuple[int, ...]:
    with session_scope(portal.deps.engine) as session:
        tables = (PortalUpload, Submission, WebSession, SignInAttempt, ReviewReply, Notification, AuditEntry)
        totals = tuple(session.exec(select(func.count()).select_from(t)).one() for t in tables)
    staged = portal.deps.workspace.uploads
    inbox = portal.deps.workspace.inbox
    files = sum(1 for _ in staged.rglob("*")) if staged.exists() else 0
    files += sum(1 for p in inbox.rglob("*") if p.is_file()) if inbox.exists() else 0
    return (*totals, files)


def post_routes(portal: Portal) -> list[str]:
    paths = [r.path for r in routes_of(portal.app) if "POST" in r.methods]
    return [re.sub(r"{(\w+)}", lambda m: VALUES[m.group(1)], p) for p in paths]


def form_for(path: str) -> dict[str, object]:
    """What a real form on the page would send (a file where the form takes one)."""
    if path in ("/upload", "/check"):
        return {"files": {"return": ("r.xlsx", b"PK\x03\x04 a workbook")}}
    if path.endswith("/reply"):
        return {"data": {"text": "our reply"}, "files": {"document": ("letter.pdf", b"%PDF-1.4")}}
    if path == "/account/sign-in":
        return {"data": {"email": HARBOUR, "password": PASSWORD}}
    return {"data": {"email": HARBOUR, "password": PASSWORD, "confirm": PASSWORD}}


@pytest.mark.parametrize("token", ["missing", "wrong", "another visitor's"])
def test_every_post_route_refuses_a_form_without_the_visitors_token_and_changes_nothing(
    portal: Portal, token: str
) -> None:
    flag_for_review(portal.deps, "harbour-trust")
    harbour, officer, board = portal.person(HARBOUR), portal.person(OFFICER), portal.person(BOARD)
    other = portal.person()
    routes = post_routes(portal)
    assert {"/upload", "/check", "/account/sign-in", "/account/sign-out", "/review/1/reply"} <= set(routes)
    assert {"/office/payments/2026-10/approve", "/board/review/1/harbour-trust/decide"} <= set(routes)
    before = counts(portal)
    for path in routes:
        # Someone whose role may use the route: a role that may not is refused before the form is read.
        person = officer if path.startswith("/office/") else board if path.startswith("/board/") else harbour
        form = form_for(path)
        data = dict(form.get("data", {}))  # type: ignore[call-overload]
        if token == "wrong":
            data["csrf_token"] = "forged-" + "x" * 40
        elif token == "another visitor's":
            data["csrf_token"] = other.token()
        files = {k: (n, c, "application/octet-stream") for k, (n, c) in form.get("files", {}).items()}  # type: ignore[attr-defined]
        response = person.client.post(path, data=data, files=files or None, follow_redirects=False)
        assert response.status_code == 403, f"{path} answered {response.status_code} to a form with a {token} token"
        assert "This form has expired" in response.text
    assert counts(portal) == before, "a refused form changed something"
    assert harbour.get("/returns").status_code == 200  # still signed in: signing out was refused too


def test_a_form_posted_from_another_site_is_refused_even_with_a_token(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    before = counts(portal)
    response = person.client.post(
        "/account/sign-out",
        data={"csrf_token": person.token("/returns")},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "another site" in response.text
    same_site = person.client.post(
        "/account/sign-out",
        data={"csrf_token": person.token("/returns")},
        headers={"Origin": BASE},
        follow_redirects=False,
    )
    assert same_site.status_code == 303
    assert counts(portal)[:2] == before[:2]


def test_a_file_sent_before_the_token_is_not_written_at_all(portal: Portal) -> None:
    """The upload form puts its token first; a body with the file first is refused before a byte is kept."""
    person = portal.person(HARBOUR)
    token = person.token("/upload")
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="return"; filename="r.xlsx"\r\n\r\n'.encode()
        + good_return(portal.deps)
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'.encode()
        + f"{token}\r\n--{boundary}--\r\n".encode()
    )
    response = person.client.post(
        "/upload", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert response.status_code == 403
    staged = portal.deps.workspace.uploads
    assert not staged.exists() or list(staged.iterdir()) == []


def test_signing_in_needs_the_token_of_the_sign_in_page(portal: Portal) -> None:
    person = portal.person()
    refused = person.post("/account/sign-in", {"email": HARBOUR, "password": PASSWORD}, csrf=False)
    assert refused.status_code == 403
    assert person.sign_in(HARBOUR).status_code == 303
