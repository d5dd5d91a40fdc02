"""With `roles:` in the contract the services themselves refuse a person outside the role, so the rule
holds however the action arrives: the command line, the board's form in the Prefect UI, a script."""

from datetime import timedelta
from pathlib import Path

import pytest

from domain.errors import AccessDenied
from domain.periods import Period
from integrations.workspace import load_contract
from models import reviews
from models.db import session_scope
from services import board_decisions, review
from services.deps import Deps
from services.locks import unlock_return
from services.payment_approval import approve_run
from tests.services.review_helpers import REVIEW_AT, WEAK, Clock, review_deps, seed_year

AFTER_REPLY = REVIEW_AT + timedelta(days=15)
ROLES = f"""
roles:
  officers: ["Olive Officer"]
  board: [U0CHAIR, "Sam Chair", "Dual Role"]
  partners: {{{WEAK}: ["Pat Three", "Dual Role"], partner-01: ["Una One"]}}
"""


@pytest.fixture
def clock() -> Clock:
    return Clock(REVIEW_AT)


@pytest.fixture
def deps(tmp_path: Path, clock: Clock) -> Deps:
    deps = review_deps(tmp_path / "ws", clock)
    seed_year(deps, quality={WEAK: 0.6})
    path = deps.workspace.contract_path
    path.write_text(path.read_text() + ROLES)
    deps.contract = load_contract(path)
    review.start_review(deps, year=1)
    return deps


def decide(deps: Deps, decided_by: str) -> board_decisions.DecisionResult:
    return board_decisions.decide(
        deps, year=1, partner_id=WEAK, kind="improvement_plan", decided_by=decided_by, reason="Shortfall unexplained."
    )


def decided_by(deps: Deps) -> list[str]:
    with session_scope(deps.engine) as session:
        case = reviews.case_of(session, review_id=1, partner_id=WEAK)
        assert case is not None and case.id is not None
        return [d.decided_by for d in reviews.decisions_of(session, case_id=case.id)]


def test_only_a_board_member_decides_and_is_recorded_as_listed(deps: Deps, clock: Clock) -> None:
    clock.now = AFTER_REPLY
    for outsider in ("Board (chair)", "Olive Officer", "Pat Three"):
        with pytest.raises(AccessDenied, match=f"is for the board; {outsider.replace('(', '.').replace(')', '.')} is"):
            decide(deps, outsider)
    assert decided_by(deps) == []
    assert decide(deps, "  sam   chair ").created
    assert decided_by(deps) == ["Sam Chair"]


def test_a_board_member_who_acts_for_the_partner_does_not_decide_its_case(deps: Deps, clock: Clock) -> None:
    clock.now = AFTER_REPLY
    with pytest.raises(AccessDenied, match=f"Dual Role acts for {WEAK} .roles.partners. and so cannot decide its case"):
        decide(deps, "Dual Role")
    assert decided_by(deps) == []


def test_a_reply_is_taken_only_from_someone_acting_for_that_partner(deps: Deps) -> None:
    with pytest.raises(AccessDenied, match=f"^Una One acts for partner-01 only; this reply is for {WEAK}$"):
        review.reply(deps, year=1, partner_id=WEAK, by="Una One", text="we object on their behalf")
    with pytest.raises(AccessDenied, match="is for partners; Sam Chair is not listed under roles.partners"):
        review.reply(deps, year=1, partner_id=WEAK, by="Sam Chair", text="x")
    saved = review.reply(deps, year=1, partner_id=WEAK, by="pat three", text="Our cases were harder.")
    assert saved.by == "Pat Three"


def test_approving_a_run_and_unlocking_a_return_are_for_officers(deps: Deps) -> None:
    # Refused before anything is read: the same check whatever the run's state.
    with pytest.raises(AccessDenied, match="`alliance payments approve` is for officers; Pat Three is not listed"):
        approve_run(deps, Period(2027, 4), by="Pat Three")
    with pytest.raises(AccessDenied, match="`alliance period unlock` is for officers; Sam Chair is not listed"):
        unlock_return(deps, Period(2027, 4), partner_id=WEAK, reason="correction", by="Sam Chair")
