"""The portal in process: a workspace of the example contract, one account per role, a clock the test moves, and a
client per person that signs in through the real pages (cookies, CSRF tokens and all)."""

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select
from starlette.testclient import TestClient

from domain.access import Role, for_account
from domain.accounts import LinkPurpose
from integrations.passwords import cheap
from integrations.workspace import Workspace
from models import repo
from models.db import read_scope, session_scope
from models.portal_tables import Account, PortalUpload
from services import accounts
from services.deps import Deps, production_deps
from services.uploads import IN_PROGRESS
from tests.conftest import EXAMPLE

# Early November: October's returns are due by the 14th, so an upload now is on time.
NOW = datetime(2026, 11, 5, 10, tzinfo=UTC)
BASE = "http://portal.test"
PASSWORD = "correct horse battery staple"
OFFICER, BOARD, HARBOUR, CITY = "olive@office.org", "sam@board.org", "ann@harbour.org", "raj@citymind.org"
PEOPLE = {
    OFFICER: ("Olive Officer", Role.officer, None),
    BOARD: ("Sam Chair", Role.board, None),
    HARBOUR: ("Ann Harbour", Role.partner, "harbour-trust"),
    CITY: ("Raj Patel", Role.partner, "city-mind"),
}
OPERATOR = for_account(account_id=0, who="Test operator", role=Role.officer, partner_id=None)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_account(deps: Deps, email: str, password: str = PASSWORD) -> Account:
    """An account as an officer invites it and its person sets the password through the link."""
    name, role, partner = PEOPLE.get(email, (email.split("@")[0].title(), Role.partner, "harbour-trust"))
    invited = accounts.invite(deps, email=email, name=name, role=role.value, partner_id=partner, by=OPERATOR)
    token = invited.link.rsplit("/", 1)[-1]
    return accounts.set_password(deps, token=token, purpose=LinkPurpose.invitation, password=password, confirm=password)


def portal_deps(root: Path, clock: Clock, engine: Engine | None = None, base_url: str = BASE) -> Deps:
    root.mkdir(parents=True, exist_ok=True)
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    url = (
        engine.url.render_as_string(hide_password=False) if engine is not None else f"sqlite:///{root / 'alliance.db'}"
    )
    deps = production_deps(Workspace(root=root, database_url=url, base_url=base_url), clock=clock)
    deps = replace(deps, passwords=cheap())
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


@dataclass
class Person:
    """One browser: its own cookies, signing in through the pages."""

    client: TestClient
    email: str | None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def token(self, page: str = "/account/sign-in") -> str:
        found = CSRF.search(self.client.get(page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def post(
        self,
        path: str,
        data: dict[str, str] | None = None,
        *,
        page: str | None = None,
        csrf: bool = True,
        files: dict[str, tuple[str, bytes]] | None = None,
        **kwargs: Any,
    ) -> Any:
        fields = dict(data or {})
        if csrf:
            fields = {"csrf_token": self.token(page or ("/returns" if self.email else "/account/sign-in")), **fields}
        kwargs.setdefault("follow_redirects", False)
        if files:
            return self.client.post(
                path,
                data=fields,
                files={k: (n, c, "application/octet-stream") for k, (n, c) in files.items()},
                **kwargs,
            )
        return self.client.post(path, data=fields, **kwargs)

    def sign_in(self, email: str, password: str = PASSWORD) -> Any:
        response = self.post(
            "/account/sign-in", {"email": email, "password": password, "next": "/"}, page="/account/sign-in"
        )
        if response.status_code == 303:
            self.email = email
        return response


@dataclass
class Portal:
    deps: Deps
    clock: Clock
    app: Any
    clients: list[TestClient]

    def person(self, email: str | None = None) -> Person:
        client = TestClient(self.app, base_url=self.deps.workspace.base_url or BASE)  # not entered: no lifespan
        self.clients.append(client)
        person = Person(client, None)
        if email is not None:
            assert person.sign_in(email).status_code == 303
        return person

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.app.state.checker.pool.shutdown(wait=True)
        self.deps.engine.dispose()

    def wait_for_uploads(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with read_scope(self.deps.engine) as session:
                busy = session.exec(select(PortalUpload).where(col(PortalUpload.state).in_(IN_PROGRESS))).all()
            if not busy:
                return
            time.sleep(0.05)
        raise TimeoutError("uploads still being checked")


class FakeRuns:
    """Runs of the Prefect deployments, as the portal starts them, without a Prefect server (flows/launch.py's
    PrefectRuns is tested against one in tests/flows/test_launch.py)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, dict[str, Any], str]] = []
        self.states: dict[str, Any] = {}

    def start(self, what: str, parameters: dict[str, Any]) -> str:
        from uuid import uuid4

        from services.runs import RunState

        run_id = str(uuid4())
        self.started.append((what, parameters, run_id))
        self.states[run_id] = RunState("Scheduled", False, None)
        return run_id

    def state(self, flow_run_id: str) -> Any:
        from domain.errors import NotFound

        if flow_run_id not in self.states:
            raise NotFound("There is no such run")
        return self.states[flow_run_id]

    def resume_review(self, *, year: int, partner_id: str, record: Any) -> str | None:
        return None


def start_portal(root: Path, engine: Engine | None = None, base_url: str = BASE, **options: Any) -> Portal:
    from web.app import create_app

    options.setdefault("runs", FakeRuns())
    clock = Clock(NOW)
    deps = portal_deps(root, clock, engine, base_url)
    for email in PEOPLE:
        make_account(deps, email)
    return Portal(deps, clock, create_app(deps=deps, **options), [])


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    started = start_portal(tmp_path / "ws")
    yield started
    started.close()


def bad_rows() -> list[dict[str, Any]]:
    """A return with the mistakes partners make: an unknown band and a Yes/No cell with something else."""
    from tests.helpers import clean_rows

    rows = clean_rows(6)
    rows[1]["complexity_band"] = "super complex"
    rows[3]["into_work"] = "N/A"
    return rows


def good_return(deps: Deps, partner_id: str = "harbour-trust", ids: str = "P") -> bytes:
    from tests.helpers import clean_rows, return_bytes

    rows = clean_rows(6)
    for row in rows:
        row["participant_id"] = str(row["participant_id"]).replace("P", ids, 1)
    return return_bytes(deps.contract, partner_id, rows=rows)


def bad_return(deps: Deps, partner_id: str = "harbour-trust") -> bytes:
    from tests.helpers import return_bytes

    return return_bytes(deps.contract, partner_id, rows=bad_rows())


def upload(person: Person, portal: "Portal", name: str, content: bytes) -> Any:
    """Upload through the page and wait for the check; the final page (following redirects)."""
    response = person.post("/upload", files={"return": (name, content)}, page="/upload")
    assert response.status_code == 303, response.text[-2000:]
    portal.wait_for_uploads()
    return person.get(response.headers["location"], follow_redirects=True)


def flag_for_review(deps: Deps, partner_id: str, year: int = 1) -> Path:
    """A stored review of ``year`` that flags the partner, its reply window open, with an evidence pack."""
    from datetime import date

    from models.tables import ReviewCase, ReviewRecord

    folder = deps.workspace.reviews_dir / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    pack = folder / f"{partner_id}-review-{year}.xlsx"
    pack.write_bytes(b"evidence pack of " + partner_id.encode())
    (folder / "funnel.png").write_bytes(b"\x89PNG\r\n\x1a\n funnel of year " + str(year).encode())
    now = deps.clock()
    with session_scope(deps.engine) as session:
        review = ReviewRecord(
            year=year,
            first_period="2026-04",
            last_period="2027-03",
            computed_at=now,
            reply_closes=date(2026, 11, 30),
            board_deadline=now + timedelta(days=60),
            phi=1.0,
            tau2=0.0,
            overdispersion_applied=False,
            variance_per_expected=1.0,
        )
        session.add(review)
        session.flush()
        assert review.id is not None
        session.add(
            ReviewCase(
                review_id=review.id,
                partner_id=partner_id,
                standing="flagged",
                basis="REVIEW_FLAGGED",
                reason=f"{partner_id} achieved well below what its case mix predicts",
                rank=1,
                ranked=3,
                bottom=1,
                accepted_months=9,
                rows=300,
                observed=50.0,
                expected=100.0,
                variance=25.0,
                ratio=0.5,
                z=-10.0,
                evidence_path=pack.name,
            )
        )
    return pack
