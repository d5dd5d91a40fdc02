"""Flow `partner-review`: compute, publish, notify, hear replies, then pause for the board. Orchestration only.

Re-runnable: the review is stored once per year, messages are queued once, and a decision
already recorded (from the Prefect form or `alliance review decide`) is never asked for again.
"""

import base64
import re
import threading
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, resume_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run as current_run
from prefect.settings import PREFECT_API_URL
from pydantic import Field

from domain.board import REVIEW_DECISIONS
from domain.errors import AccessDenied, UsageError
from domain.periods import LONDON
from flows.delivery import deliver
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import BoardDecisionRecord
from services import board_decisions, review
from services.deps import Deps, production_deps
from services.schedule import year_to_review

BoardChoice = StrEnum("BoardChoice", {k.value: k.value for k in REVIEW_DECISIONS})  # type: ignore[misc]


class BoardDecisionInput(RunInput):
    """The board's form in the Prefect UI (checked again by the same rules as `alliance review decide`)."""

    decision: BoardChoice  # type: ignore[valid-type]
    step_down_percent: int | None = Field(default=None, description="For step_down: one of the contract's options")
    effective_month: str | None = Field(default=None, description="For step_down or withdraw: YYYY-MM")
    decided_by: str = Field(description="Who decided for the board")
    reason: str = Field(description="Why: this is sent to the partner and kept in the audit log")


@dataclass
class ReviewReport:
    year: int
    flagged: list[str] = field(default_factory=list)
    watch: list[str] = field(default_factory=list)
    decisions: dict[str, str] = field(default_factory=dict)  # partner -> decision kind
    timed_out: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # board inputs that were refused, with why
    confirmed: dict[str, str] = field(default_factory=dict)  # partner -> who confirmed what, short of the quorum


@task(cache_policy=NONE)
def prepare(deps: Deps) -> None:
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)


@task(cache_policy=NONE, task_run_name="review year {year}")
def start(deps: Deps, year: int) -> review.ReviewStart:
    return review.start_review(deps, year=year)


@task(cache_policy=NONE)
def publish(deps: Deps, started: review.ReviewStart) -> None:
    year = started.review.year
    _, rows = review.review_table(deps, year=year)
    create_table_artifact(key=f"review-{year}", table=rows, description=review.year_label(deps.contract, year))
    funnel = deps.workspace.reviews_dir / str(year) / "funnel.png"
    image = base64.b64encode(funnel.read_bytes()).decode() if funnel.is_file() else ""
    flagged = ", ".join(c.partner_id for c in started.flagged) or "none"
    create_markdown_artifact(
        key=f"review-{year}-funnel",
        markdown=f"## Funnel plot, {review.year_label(deps.contract, year)}\n\nFlagged: {flagged}\n\n"
        f"![funnel plot](data:image/png;base64,{image})\n\nFile: `{funnel}`",
        description="O/E by expected outcomes with 95% and 99.8% limits",
    )


@task(cache_policy=NONE)
def wait_for_replies(deps: Deps, until: datetime, step_seconds: float) -> None:
    """The right of reply runs to the end of its last day; the board is asked only after it."""
    while (left := (until - deps.clock()).total_seconds()) > 0:
        deps.sleep(min(left, step_seconds))


@flow(name="partner-review", validate_parameters=False)
def partner_review(
    year: int | None = None,
    workspace: str | None = None,
    deps: Deps | None = None,
    poll_seconds: int = 10,
    reply_wait_step: float = 3600,
) -> ReviewReport:
    """A contract year's review; a scheduled run (no year) reviews the latest year that has ended."""
    deps = deps or production_deps(Workspace.for_run(workspace))
    logger = get_run_logger()
    if year is None:
        year = year_to_review(deps, scheduled_for=current_run.scheduled_start_time)
        if year is None:
            logger.info(
                "No contract year has ended yet (the first began %s): nothing to review", deps.contract.alliance.start
            )
            return ReviewReport(year=0)
    prepare(deps)
    started = start(deps, year)
    report = ReviewReport(
        year=year,
        flagged=[c.partner_id for c in started.flagged],
        watch=[c.partner_id for c in started.cases if c.standing == "watch"],
    )
    logger.info("Flagged: %s; watch list: %s", report.flagged or "none", report.watch or "none")
    publish(deps, started)
    deliver(deps)
    if not report.flagged:
        return report
    reply_closed = datetime.combine(started.review.reply_closes + timedelta(days=1), time(0), LONDON)
    wait_for_replies(deps, reply_closed, reply_wait_step)
    for case in board_decisions.board_cases(deps, year=year):
        if not case.decided:
            ask_board(deps, case, report, poll_seconds)
        deliver(deps)
    return report


def ask_board(deps: Deps, case: board_decisions.BoardCase, report: ReviewReport, poll_seconds: int) -> None:
    """Pause until the board decides on this partner, refusing invalid input, until the board's deadline."""
    logger = get_run_logger()
    attempt = 0
    while True:
        if _decided(deps, case):
            report.decisions[case.partner_id] = "recorded elsewhere (alliance review decide)"
            return
        left = int((case.board_deadline - deps.clock()).total_seconds())
        if left <= 0:
            break
        attempt += 1
        form = BoardDecisionInput.with_initial_data(description=_form_text(case, report))
        try:
            answer = pause_flow_run(
                wait_for_input=form, timeout=left, poll_interval=poll_seconds, key=f"board-{case.partner_id}-{attempt}"
            )
        except FlowPauseTimeout:
            break
        try:
            result = board_decisions.decide(
                deps,
                year=case.year,
                partner_id=case.partner_id,
                kind=str(answer.decision.value),
                step_down_percent=answer.step_down_percent,
                effective=answer.effective_month or None,
                decided_by=answer.decided_by,
                reason=answer.reason,
                via="prefect-ui",
            )
        except (UsageError, AccessDenied) as refused:  # shown in the form, which is asked again
            logger.warning("Board input for %s refused: %s", case.partner_id, refused)
            report.refused.append(f"{case.partner_id}: {refused}")
            continue
        if result.record is None:  # a quorum is needed: asked again until enough members confirm
            confirmed = result.confirmations
            assert confirmed is not None
            report.confirmed[case.partner_id] = (
                f"{', '.join(confirmed.members)} confirmed {confirmed.proposal.replace('/None', '')}: "
                f"{confirmed.needed - len(confirmed.members)} more board member(s) must confirm the same decision"
            )
            logger.info("Board confirmation for %s: %s", case.partner_id, report.confirmed[case.partner_id])
            continue
        report.decisions[case.partner_id] = result.record.kind
        logger.info("Board decision for %s: %s", case.partner_id, result.record.kind)
        return
    if board_decisions.record_timeout(deps, year=case.year, partner_id=case.partner_id):
        report.timed_out.append(case.partner_id)
        logger.warning("No board decision for %s by the deadline: chair told, funding unchanged", case.partner_id)
    else:
        report.decisions[case.partner_id] = "recorded elsewhere (alliance review decide)"


def resume_waiting_review(*, year: int, partner_id: str, record: BoardDecisionRecord) -> str | None:
    """Resume a partner-review run paused for this partner's decision, giving it the recorded decision.

    Only when a Prefect API is configured: without one there is no long-running server to hold a
    paused run, and a run paused elsewhere finds the decision in the database at its deadline.
    """
    if not PREFECT_API_URL.value():
        return None
    answer = {
        "decision": record.kind,
        "step_down_percent": record.step_down_percent if record.kind == "step_down" else None,
        "effective_month": record.effective,
        "decided_by": record.decided_by,
        "reason": record.reason,
    }
    # The pause key is "board-<partner>-<attempt>": match it whole, or `city` would answer `city-review`'s pause.
    pause_key = re.compile(rf"board-{re.escape(partner_id)}-\d+")
    for run in _paused_runs():
        key = run.state.state_details.pause_key if run.state else None
        if run.parameters.get("year") == year and key and pause_key.fullmatch(key):
            resume_flow_run(run.id, run_input=answer)
            return str(run.id)
    return None


def _decided(deps: Deps, case: board_decisions.BoardCase) -> bool:
    return any(c.decided for c in board_decisions.board_cases(deps, year=case.year) if c.partner_id == case.partner_id)


def _form_text(case: board_decisions.BoardCase, report: ReviewReport) -> str:
    refused = [r for r in report.refused if r.startswith(f"{case.partner_id}:")]
    confirmed = report.confirmed.get(case.partner_id)
    text = case.brief
    if confirmed:
        text = f"**Confirmed so far**: {confirmed}.\n\n{text}"
    if refused:
        text = f"**Your last answer was refused**: {refused[-1].split(': ', 1)[1]}\n\n{text}"
    return text


def run_with_board(
    deps: Deps, *, year: int, answer: Callable[[str], dict[str, object]], poll_seconds: int = 1, timeout: float = 600
) -> ReviewReport:
    """Run the review in a thread and answer each board pause with ``answer(partner_id)`` (the demo's board).

    The answer goes through the same pause input as the Prefect UI's form.
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["report"] = partner_review(year=year, deps=deps, poll_seconds=poll_seconds)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    answered: set[str] = set()
    deadline = _time.monotonic() + timeout
    while thread.is_alive() and _time.monotonic() < deadline:
        for run in _paused_runs():
            key = run.state.state_details.pause_key if run.state else None
            if key and key.startswith("board-") and f"{run.id}/{key}" not in answered:
                answered.add(f"{run.id}/{key}")
                partner_id = key.removeprefix("board-").rsplit("-", 1)[0]
                resume_flow_run(run.id, run_input=answer(partner_id))
        thread.join(0.5)
    if thread.is_alive():
        raise TimeoutError(f"the review did not finish within {timeout:.0f} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    report = outcome["report"]
    assert isinstance(report, ReviewReport)
    return report


def _paused_runs() -> list[FlowRun]:
    paused = FlowRunFilterStateType(any_=[StateType.PAUSED])
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["partner-review"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=paused)),
        )
