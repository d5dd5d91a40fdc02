"""The period's state (DESIGN.md section 7: open -> due -> closed) follows the cycle forward only,
is shown to officers, and a locked return cannot be accepted even by code that skips the service."""

from datetime import UTC, datetime

import pytest

from domain.errors import IntegrityError
from domain.periods import Period
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import Submission
from services.deps import Deps
from services.locks import unlock_return
from services.payment_approval import approve_run
from services.payment_reports import payment_report
from services.payments import run_payments
from tests.helpers import clean_rows, return_bytes
from tests.services.payments_helpers import ON_TIME, submit, with_approval

OCTOBER = Period(2026, 10)
AFTER_DUE = datetime(2026, 11, 16, 9, tzinfo=UTC)  # due 14 November


def state(deps: Deps) -> str | None:
    with session_scope(deps.engine) as session:
        return repo.period_state_of(session, period=str(OCTOBER))


def test_the_period_moves_open_due_closed_and_never_back(workspace: Workspace) -> None:
    deps = with_approval(workspace, ON_TIME)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    assert state(deps) == "open"

    deps.clock = lambda: AFTER_DUE
    run_payments(deps, OCTOBER)  # a draft: not paid yet
    assert state(deps) == "due"
    approve_run(deps, OCTOBER, by="Ada Officer")
    with session_scope(deps.engine) as session:
        assert payment_report(session, contract=deps.contract, period=OCTOBER)["period_state"] == "closed"

    # A correction after an unlock is a new run version; the period stays closed throughout.
    unlock_return(deps, OCTOBER, partner_id="harbour-trust", reason="two rows in the wrong month", by="Ada Officer")
    corrected = submit(deps, "b.xlsx", return_bytes(deps.contract, "harbour-trust", rows=clean_rows(6)), AFTER_DUE)
    assert corrected.status == "accepted"
    assert run_payments(deps, OCTOBER).run.version == 2
    assert state(deps) == "closed"


def test_a_final_run_closes_the_period_it_pays(deps: Deps) -> None:
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    assert state(deps) == "due"  # the services' clock is at the cycle, after the due date
    run_payments(deps, OCTOBER)
    assert state(deps) == "closed"


def test_accepting_a_locked_return_without_the_service_is_refused_plainly(workspace: Workspace) -> None:
    deps = with_approval(workspace, AFTER_DUE)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    approve_run(deps, OCTOBER, by="Ada Officer")

    # A code path that forgets the lock: the database refuses, in words, and nothing is written.
    forgot_the_lock = Submission(
        sha256="f" * 64,
        filename="forgot-the-lock.xlsx",
        stored_path="archive/x",
        received_at=AFTER_DUE,
        partner_id="harbour-trust",
        period=str(OCTOBER),
        version=2,
        status="accepted",
    )
    locked = "return for .* is locked: its payment run was approved"
    with pytest.raises(IntegrityError, match=locked), session_scope(deps.engine) as session:
        repo.add_submission(session, submission=forgot_the_lock, findings=[], rows=[])
    with session_scope(deps.engine) as session:
        versions = [(s.version, s.status) for s in repo.submissions_for_period(session, period=str(OCTOBER))]
    assert versions == [(1, "accepted")]  # v1 was not superseded either: the whole transaction was refused

    # Through the service, the same new version is recorded, rejected with RETURN_LOCKED, and officers told.
    refused = submit(deps, "b.xlsx", return_bytes(deps.contract, "harbour-trust", rows=clean_rows(6)), AFTER_DUE)
    assert (refused.status, refused.version) == ("rejected", 2)
    assert "RETURN_LOCKED" in [f.code for f in refused.findings]
