"""Every route of the portal, asked by every kind of visitor, with the ids of another partner's objects.

The routes are read from the app itself: a route that does not declare who may use it (web.access) fails here,
and a new route is tried by every visitor without anyone writing a case for it. What is expected follows from
domain.access (the same table the CLI obeys) and from who owns the object:
- signed out: a page for people signed in sends them to sign in (303), a form refuses (401);
- signed in, a role the action is not for: 403;
- a partner asking for another partner's version, upload, statement, feedback or review: 404, byte for byte the
  page a made-up id gets.
Nothing of harbour-trust's (its file names, its participant ids) may appear in what another partner or someone
signed out is shown (officers see every partner's, as on the command line).
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from domain.access import may
from domain.periods import Period
from models.db import session_scope
from models.portal_tables import PortalUpload
from services.accounts import principal_of
from services.statements import pay_period
from tests.web.conftest import (
    BOARD,
    CITY,
    HARBOUR,
    OFFICER,
    Person,
    Portal,
    bad_return,
    flag_for_review,
    good_return,
    start_portal,
    upload,
)
from web.access import Public, Require, SignedInOnly, routes_of

SECRET_NAME = "harbour-secret-return.xlsx"  # harbour's file name: must never reach another visitor
SECRET_IDS = "HARB"  # harbour's participant ids start so
UNKNOWN = 987654


@dataclass(frozen=True)
class World:
    portal: Portal
    visitors: dict[str, Person]
    objects: dict[str, str]  # path parameter -> harbour's object
    submission_ids: list[int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    portal = start_portal(tmp_path_factory.mktemp("matrix"))
    harbour, city = portal.person(HARBOUR), portal.person(CITY)
    upload(harbour, portal, SECRET_NAME, bad_return(portal.deps))
    upload(harbour, portal, SECRET_NAME.replace(".xlsx", "-2.xlsx"), good_return(portal.deps, ids=SECRET_IDS))
    upload(city, portal, "city.xlsx", good_return(portal.deps, "city-mind", ids="CITY"))
    pay_period(portal.deps, Period(2026, 10))
    flag_for_review(portal.deps, "harbour-trust")
    with session_scope(portal.deps.engine) as session:
        uploads = [
            u for u in session.exec(__import__("sqlmodel").select(PortalUpload)) if u.partner_id == "harbour-trust"
        ]
    submission_ids = [u.submission_id for u in uploads if u.submission_id]
    officer = portal.person(OFFICER)
    started = officer.post("/office/runs/cycle", {"period": "2026-10"}, page="/home")
    assert started.status_code == 303
    objects = {
        "run_id": started.headers["location"].rsplit("/", 1)[-1],  # a cycle run started from the grid
        "submission_id": str(submission_ids[0]),
        "upload_id": str(uploads[0].id),
        "period": "2026-10",
        "version_number": "1",
        "year": "1",
        "partner_id": "harbour-trust",  # flagged in year 1: its case is the board's to see
        "token": "1.not-a-genuine-signature",
    }
    visitors = {
        "signed out": portal.person(),
        "officer": officer,
        "board": portal.person(BOARD),
        "harbour": harbour,
        "city": city,
    }
    yield World(portal, visitors, objects, submission_ids)
    portal.close()


def access_of(route: APIRoute) -> Any:
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Public | SignedInOnly)]
    return found[0] if len(found) == 1 else None


def portal_routes(app: Any) -> list[APIRoute]:
    return routes_of(app)


def test_every_route_declares_who_may_use_it(world: World) -> None:
    routes = portal_routes(world.portal.app)
    assert len(routes) >= 20
    undeclared = [r.path for r in routes if access_of(r) is None]
    assert undeclared == [], "a route without Public(), SignedInOnly() or Require(action)"
    for route in routes:
        access = access_of(route)
        if isinstance(access, Require):
            may(principal_of_any(), access.action)  # an action domain.access knows, or KeyError


def principal_of_any() -> Any:
    from tests.web.conftest import OPERATOR

    return OPERATOR


OWNED = {"submission_id", "upload_id", "year"}  # objects that are one partner's (a statement URL is each partner's own)


def url_for(route: APIRoute, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], route.path)


def expected(route: APIRoute, method: str, who: str, world: World) -> set[int]:
    access = access_of(route)
    owned = bool(OWNED & set(re.findall(r"{(\w+)}", route.path)))
    if isinstance(access, Public):
        if "{token}" in route.path:
            return {410}
        if route.path == "/account/sign-out":
            return {303}
        return {200, 303} if method == "GET" else {200, 303, 400}
    if who == "signed out":
        return {303} if method == "GET" else {401}
    person = world.visitors[who]
    with session_scope(world.portal.deps.engine) as session:
        from models.accounts import account_by_email

        account = account_by_email(session, email=person.email or "")
    assert account is not None
    if isinstance(access, Require) and not may(principal_of(account), access.action):
        return {403}
    if who == "city" and owned:
        return {404}
    if method == "POST":
        return {303, 400}  # forms sent empty: a form error, or done (signing out)
    return {200, 303}


def pairs(world: World) -> Iterator[tuple[APIRoute, str, str]]:
    for route in portal_routes(world.portal.app):
        for method in sorted(route.methods - {"HEAD"}):
            for who in world.visitors:
                yield route, method, who


def test_every_route_answers_every_visitor_as_domain_access_says_and_leaks_nothing(world: World) -> None:
    tried, leaks, wrong = 0, [], []
    for route, method, who in pairs(world):
        if route.path == "/account/sign-out" and who != "signed out":
            continue  # signing out is tried last, below: it would end the session the rest of the matrix uses
        person = world.visitors[who]
        url = url_for(route, world.objects)
        if method == "GET":
            response = person.get(url, follow_redirects=False)
        else:
            page = "/returns" if who in ("harbour", "city") else ("/home" if person.email else "/account/sign-in")
            response = person.post(url, {}, page=page)
        tried += 1
        if response.status_code not in expected(route, method, who, world):
            wrong.append(
                f"{method} {url} as {who}: {response.status_code}, expected {expected(route, method, who, world)}"
            )
        # Officers see every partner's returns (domain.access); the board sees the review's figures, not the returns.
        outsider = who in ("signed out", "city", "board")
        if outsider and (SECRET_NAME in response.text or f"{SECRET_IDS}0" in response.text):
            leaks.append(f"{method} {url} as {who}")
    print(f"access matrix: {tried} route x method x visitor pairs tried, {len(leaks)} leaks")
    assert wrong == []
    assert leaks == []
    assert tried >= 100


def test_another_partners_object_is_answered_exactly_as_one_that_does_not_exist(world: World) -> None:
    city = world.visitors["city"]
    compared = 0
    for route in portal_routes(world.portal.app):
        names = set(re.findall(r"{(\w+)}", route.path))
        if "GET" not in route.methods or not names & OWNED or "{token}" in route.path:
            continue
        if route.path.startswith(("/office/", "/board/")):
            continue  # not a partner's page at all: refused (403) by role, in the matrix above
        theirs = city.get(url_for(route, world.objects), follow_redirects=False)
        made_up = city.get(url_for(route, {**world.objects, **{n: str(UNKNOWN) for n in names & OWNED}}))
        assert (theirs.status_code, theirs.text) == (made_up.status_code, made_up.text), route.path
        assert theirs.status_code == 404
        compared += 1
    for submission_id in world.submission_ids:  # every version of harbour's, and its feedback workbook
        for suffix in ("", "/feedback"):
            theirs = city.get(f"/versions/{submission_id}{suffix}")
            assert (theirs.status_code, theirs.text) == (404, city.get(f"/versions/{UNKNOWN}{suffix}").text)
            compared += 1
    assert compared >= 8


def test_the_owner_sees_its_objects(world: World) -> None:
    harbour = world.visitors["harbour"]
    version = harbour.get(f"/versions/{world.submission_ids[0]}")
    assert version.status_code == 200 and SECRET_NAME in version.text
    assert harbour.get(f"/versions/{world.submission_ids[0]}/feedback").content[:2] == b"PK"
    assert harbour.get("/statements/2026-10/v1").content[:2] == b"PK"
    assert harbour.get("/review/1/evidence").content == b"evidence pack of harbour-trust"
    city = world.visitors["city"]
    assert city.get("/statements/2026-10/v1").content != harbour.get("/statements/2026-10/v1").content  # each its own


def test_the_board_sees_the_cases_it_decides_and_nothing_of_partners_under_no_review(world: World) -> None:
    board, officer = world.visitors["board"], world.visitors["officer"]
    assert board.get("/board/review/1/harbour-trust").status_code == 200
    assert board.get("/board/review/1/harbour-trust/evidence").content == b"evidence pack of harbour-trust"
    for path in ("/board/review/1/city-mind", "/board/review/1/city-mind/evidence", "/board/review/2/harbour-trust"):
        theirs, made_up = board.get(path), board.get(path.replace("city-mind", "no-such-partner").replace("/2/", "/9/"))
        assert (theirs.status_code, theirs.text) == (404, made_up.text)
    assert board.get("/office/payments/2026-10").status_code == 403  # each partner's return beside its lines
    for path in ("/office/returns", f"/office/versions/{world.submission_ids[0]}", "/office/payments/2026-10"):
        assert board.get(path).status_code == 403  # the returns are the office's
        assert officer.get(path).status_code == 200


def test_signing_out_is_refused_without_a_session_and_ends_one_with_it(world: World, tmp_path: Path) -> None:
    person = world.portal.person(HARBOUR)
    assert person.get("/returns").status_code == 200
    assert person.post("/account/sign-out", {}, page="/returns").status_code == 303
    assert person.get("/returns", follow_redirects=False).status_code == 303
