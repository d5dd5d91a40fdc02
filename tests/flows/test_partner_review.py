"""Flow partner-review end to end: review, flag, reply, the board's decision through the pause input, payment."""

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.flow_runs import resume_flow_run

from domain.money import apply_rate
from domain.payments import core_instalment
from domain.periods import Period
from flows.partner_review import ReviewReport, partner_review, resume_waiting_review
from models import repo, reviews
from models.db import session_scope
from services import board_decisions, review
from services.deps import Deps
from tests.services.review_helpers import REVIEW_AT, WEAK, Clock, core_paid, review_deps, seed_year

BOARD_DEADLINE = datetime(2027, 6, 3, 22, 59, 59, tzinfo=UTC)  # 23:59:59 London, 44 days after REVIEW_AT


class FlowThread(threading.Thread):
    def __init__(self, run: Callable[[], ReviewReport]) -> None:
        super().__init__(daemon=True)
        self.run_flow = run
        self.report: ReviewReport | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.report = self.run_flow()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self.error = exc


def paused_runs() -> list[FlowRun]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
            )
        )


def wait_for_pause(thread: FlowThread, key_prefix: str, seen: set[str], timeout: float = 60) -> FlowRun:
    """The paused run waiting under a pause key not answered yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert thread.error is None, thread.error
        for run in paused_runs():
            key = run.state.state_details.pause_key if run.state else None
            if key and key.startswith(key_prefix) and f"{run.id}/{key}" not in seen:
                seen.add(f"{run.id}/{key}")
                return run
        time.sleep(0.3)
    raise AssertionError(f"no run paused for {key_prefix} within {timeout} s")


def start_flow(deps: Deps) -> FlowThread:
    thread = FlowThread(lambda: partner_review(year=1, workspace=str(deps.workspace.root), deps=deps, poll_seconds=1))
    thread.start()
    return thread


def finished(thread: FlowThread) -> ReviewReport:
    thread.join(120)
    assert not thread.is_alive(), "the flow did not finish"
    assert thread.error is None, thread.error
    assert thread.report is not None
    return thread.report


@pytest.fixture
def clock() -> Clock:
    return Clock(REVIEW_AT)


@pytest.fixture
def deps(tmp_path: Path, clock: Clock) -> Deps:
    deps = review_deps(tmp_path / "ws", clock)
    seed_year(deps, quality={WEAK: 0.6})
    return deps


def test_review_flag_reply_board_decision_through_the_pause_and_next_core_payment_reduced(
    deps: Deps, clock: Clock
) -> None:
    review.start_review(deps, year=1)  # the review the flow will find (as if started earlier today)
    review.reply(deps, year=1, partner_id=WEAK, by="CEO", text="Our referrals were unusually complex this year.")
    seen: set[str] = set()
    thread = start_flow(deps)

    paused = wait_for_pause(thread, f"board-{WEAK}-", seen)
    description = _description(paused)
    assert "Our referrals were unusually complex" in description and "Flagged for review" in description
    bad: dict[str, Any] = {"decision": "step_down", "step_down_percent": 33, "effective_month": "2027-06"}
    resume_flow_run(paused.id, run_input=bad | {"decided_by": "Board", "reason": "Shortfall not explained."})
    again = wait_for_pause(thread, f"board-{WEAK}-", seen)  # refused: asked again, with why
    assert "one of 10, 25, 50, 100" in _description(again)
    good = bad | {"step_down_percent": 25, "decided_by": "Board (A. Khan, chair)", "reason": "Shortfall not explained."}
    resume_flow_run(again.id, run_input=good)
    report = finished(thread)

    assert report.flagged == [WEAK] and report.decisions == {WEAK: "step_down"} and report.timed_out == []
    assert len(report.refused) == 1
    partner = deps.contract.partner(WEAK)
    assert partner is not None
    instalment = core_instalment(partner.annual_core_pence, 3)  # 2027-06: month 3 of contract year 2
    assert core_paid(deps, Period(2027, 6), WEAK) == instalment - apply_rate(instalment, Decimal("0.25"))
    assert core_paid(deps, Period(2027, 5), WEAK) == core_instalment(partner.annual_core_pence, 2)
    with session_scope(deps.engine) as session:
        case = reviews.case_of(session, review_id=1, partner_id=WEAK)
        assert case is not None and case.id is not None
        [decision] = reviews.decisions_of(session, case_id=case.id)
    assert (decision.via, decision.decided_by) == ("prefect-ui", "Board (A. Khan, chair)")


def test_a_decision_given_with_the_cli_resumes_the_paused_run(deps: Deps, clock: Clock) -> None:
    seen: set[str] = set()
    thread = start_flow(deps)
    wait_for_pause(thread, f"board-{WEAK}-", seen)

    result = board_decisions.decide(
        deps, year=1, partner_id=WEAK, kind="improvement_plan", decided_by="Board", reason="Plan agreed", via="cli"
    )
    assert resume_waiting_review(year=1, partner_id=WEAK, record=result.record) is not None
    report = finished(thread)

    assert report.decisions == {WEAK: "improvement_plan"}
    with session_scope(deps.engine) as session:
        assert reviews.active_adjustments(session) == []


def test_with_roles_the_form_refuses_a_decider_not_on_the_board_and_asks_again(deps: Deps) -> None:
    from integrations.workspace import load_contract

    path = deps.workspace.contract_path
    path.write_text(path.read_text() + 'roles: {officers: ["Olive Officer"], board: [U0CHAIR, "Sam Chair"]}\n')
    deps.contract = load_contract(path)
    seen: set[str] = set()
    thread = start_flow(deps)
    paused = wait_for_pause(thread, f"board-{WEAK}-", seen)
    answer: dict[str, Any] = {"decision": "improvement_plan", "reason": "Plan agreed.", "decided_by": "Olive Officer"}
    resume_flow_run(paused.id, run_input=answer)
    again = wait_for_pause(thread, f"board-{WEAK}-", seen)
    assert "is for the board; Olive Officer is not listed under roles.board" in _description(again)
    resume_flow_run(again.id, run_input=answer | {"decided_by": "sam chair"})
    report = finished(thread)

    assert report.decisions == {WEAK: "improvement_plan"} and len(report.refused) == 1
    with session_scope(deps.engine) as session:
        case = reviews.case_of(session, review_id=1, partner_id=WEAK)
        assert case is not None and case.id is not None
        assert [d.decided_by for d in reviews.decisions_of(session, case_id=case.id)] == ["Sam Chair"]


class DeadlineClock(Clock):
    """Waiting out the right of reply lands three seconds before the board's deadline."""

    def sleep(self, seconds: float) -> None:
        self.now = BOARD_DEADLINE - timedelta(seconds=3)


def test_a_board_timeout_tells_the_chair_and_leaves_funding_unchanged(tmp_path: Path) -> None:
    clock = DeadlineClock(REVIEW_AT)
    deps = review_deps(tmp_path / "ws", clock)
    seed_year(deps, quality={WEAK: 0.6})

    report = partner_review(year=1, workspace=str(deps.workspace.root), deps=deps, poll_seconds=1)

    assert report.timed_out == [WEAK] and report.decisions == {}
    with session_scope(deps.engine) as session:
        assert reviews.active_adjustments(session) == []
        [chair] = [n for n in repo.notifications(session) if n.kind == "review_timeout"]
    assert chair.text.startswith("<@U0CHAIR>") and "Funding is unchanged" in chair.text
    partner = deps.contract.partner(WEAK)
    assert partner is not None
    assert core_paid(deps, Period(2027, 6), WEAK) == core_instalment(partner.annual_core_pence, 3)


def _description(run: FlowRun) -> str:
    from prefect.input.actions import read_flow_run_input
    from prefect.input.run_input import keyset_from_paused_state

    assert run.state is not None
    keyset = keyset_from_paused_state(run.state)
    text = read_flow_run_input(keyset["description"], flow_run_id=run.id)
    return str(text)


def test_a_cli_decision_resumes_only_the_run_paused_for_that_partner_not_one_whose_id_it_prefixes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`city` decided on the command line must not answer the pause of `city-review` (its id starts with `city-`)."""
    from types import SimpleNamespace

    import flows.partner_review as module
    from models.tables import BoardDecisionRecord

    resumed: list[object] = []
    paused = SimpleNamespace(
        id="run-1",
        parameters={"year": 1},
        state=SimpleNamespace(state_details=SimpleNamespace(pause_key="board-city-review-1")),
    )

    class Client:
        def __enter__(self) -> "Client":
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def read_flow_runs(self, **_: object) -> list[object]:
            return [paused]

    monkeypatch.setattr(module, "PREFECT_API_URL", SimpleNamespace(value=lambda: "http://prefect.test/api"))
    monkeypatch.setattr(module, "get_client", lambda sync_client: Client())
    monkeypatch.setattr(module, "resume_flow_run", lambda run_id, run_input: resumed.append((run_id, run_input)))
    record = BoardDecisionRecord(
        decision_key="1/city",
        case_id=1,
        partner_id="city",
        kind="step_down",
        step_down_percent=50,
        effective="2027-06",
        decided_by="Board",
        reason="r",
        decided_at=REVIEW_AT,
        via="cli",
    )

    assert resume_waiting_review(year=1, partner_id="city", record=record) is None
    assert resumed == []
    assert resume_waiting_review(year=1, partner_id="city-review", record=record) == "run-1"


def test_the_boards_form_says_who_has_confirmed_so_far_and_why_the_last_answer_was_refused() -> None:
    from datetime import date

    from flows.partner_review import _form_text
    from services.board_decisions import BoardCase

    case = BoardCase(1, WEAK, "Partner 03", date(2027, 5, 4), REVIEW_AT, False, "### Board decision")
    report = ReviewReport(year=1, confirmed={WEAK: "Ann Chair confirmed step_down/25/2027-06: 1 more board member(s)"})
    report.refused.append(f"{WEAK}: a step-down percentage must be one of 10, 25, 50, 100")

    text = _form_text(case, report)

    assert text.startswith("**Your last answer was refused**: a step-down percentage must be one of 10, 25, 50, 100")
    assert "**Confirmed so far**: Ann Chair confirmed step_down/25/2027-06" in text
    assert text.endswith("### Board decision")
