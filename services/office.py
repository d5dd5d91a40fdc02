"""What the officers' and the board's pages show, on the same rules as the commands: a payment run with what changed,
the spot checks of a period, the outbox, the audit chain, the review's cases. Each function authorises the action the
matching command needs (domain.access) and returns data; the pages decide nothing."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from domain.access import Principal, authorise
from domain.errors import NotFound, UsageError
from domain.periods import Period, latest_due_period, latest_ended_year, london_date, payable_period
from domain.review import Standing
from integrations.spreadsheets.evidence import read_tables
from models import checks, ledger, repo, reviews
from models.audit import append_audit, verify_chain
from models.db import read_scope, session_scope
from models.tables import (
    AuditEntry,
    BoardDecisionRecord,
    Notification,
    ReviewCase,
    ReviewRecord,
    ReviewReply,
    SpotCheckDraw,
    Submission,
)
from services import board_quorum
from services.deps import Deps
from services.payment_reports import payment_report
from services.payments import changed_since, posted_runs, run_payments, what_changed
from services.spot_checks import checks_table
from services.status import Cell, period_cells

NOTHING_HERE = "There is nothing here: the address may be mistyped"


def period_of(text: str) -> Period:
    """A period from an address: anything that is not one (of this millennium or the next) is "not found"."""
    try:
        period = Period.parse(text)
    except UsageError:
        raise NotFound(NOTHING_HERE) from None
    if not 2000 <= period.year <= 2999 or text != str(period):
        raise NotFound(NOTHING_HERE)
    return period


# --- A payment run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerLines:
    partner: str
    name: str
    core_pence: int
    outcome_pence: int
    adjustment_pence: int
    total_pence: int
    before_pence: int | None  # the previous version's total for the partner (None: the first version)
    cell: Cell  # the partner's return for the month
    settled_pence: int = 0  # held back to recover later, recovered, or brought forward (domain.settlement)
    provisional_pence: int | None = None  # the outcome it would be paid, while the pool is provisional


@dataclass(frozen=True)
class RunView:
    period: Period
    report: dict[str, Any]  # as `alliance payments show --json`
    partners: list[PartnerLines]
    changed: str | None  # what differs from the previous version's inputs, in words
    not_returned: list[str]  # partners' names with no accepted return
    approvable: bool
    stale: str | None  # what changed since this version was computed (a new version is needed), in words


def run_view(deps: Deps, principal: Principal, period: Period) -> RunView:
    authorise(principal, "office payments")
    with read_scope(deps.engine) as session:
        try:
            report = payment_report(session, contract=deps.contract, period=period)
        except UsageError:
            raise NotFound(f"There is no payment run for {period} yet: the monthly cycle makes it") from None
        states = posted_runs(session, period=period)
        before: dict[str, int] | None = None
        changed = None
        if len(states) > 1:
            previous = states[-2].run
            assert previous.id is not None
            before = {}
            for line in repo.lines_of(session, run_id=previous.id):
                before[line.partner_id] = before.get(line.partner_id, 0) + line.amount_pence
            changed = what_changed(json.loads(previous.inputs), json.loads(states[-1].run.inputs))
        now = deps.clock()
        cells = {c.partner_id: c for c in period_cells(session, contract=deps.contract, period=period, now=now)}
        stale = changed_since(session, contract=deps.contract, period=period, run=states[-1].run, now=now)
    partners = [
        PartnerLines(
            partner=p["partner"],
            name=p["name"],
            core_pence=p["core_pence"],
            outcome_pence=p["outcome_pence"],
            adjustment_pence=p["adjustment_pence"],
            total_pence=p["total_pence"],
            before_pence=None if before is None else before.get(p["partner"], 0),
            cell=cells[p["partner"]],
            settled_pence=p["carried_pence"] + p["recovery_pence"] + p["brought_forward_pence"],
            provisional_pence=p["provisional_outcome_pence"],
        )
        for p in report["partners"]
    ]
    not_returned = [p.name for p in partners if p.cell.accepted_version is None]
    approvable = report["status"] == "draft" and stale is None
    return RunView(period, report, partners, changed, not_returned, approvable=approvable, stale=stale)


def make_new_version(deps: Deps, principal: Principal, period: Period) -> int:
    """The period's run made again from what it is computed from now (the cycle's paying step), when what it is
    computed from moved since its latest version; its version. A month without a run gets one from the cycle."""
    authorise(principal, "cycle run")
    with read_scope(deps.engine) as session:
        runs = ledger.run_states(session, period=str(period))
        if not runs:
            raise NotFound(f"There is no payment run for {period} yet: the monthly cycle makes it")
        stale = changed_since(session, contract=deps.contract, period=period, run=runs[-1].run, now=deps.clock())
    if stale is None:
        raise UsageError(f"nothing {period}'s run is computed from has changed since its latest version")
    return run_payments(deps, period).run.version


def is_locked(deps: Deps, submission: Submission) -> bool:
    """Whether the version's partner's return for its month is locked by an approved run."""
    with read_scope(deps.engine) as session:
        lock = ledger.current_lock(session, period=submission.period or "", partner_id=submission.partner_id or "")
    return lock is not None


def paid_periods(deps: Deps, principal: Principal) -> list[tuple[str, str, int]]:
    """(period, status of its latest version, version), newest first."""
    authorise(principal, "office payments")
    with read_scope(deps.engine) as session:
        found = []
        for period in sorted(repo.periods_with_runs(session), reverse=True):
            state = ledger.run_states(session, period=period)[-1]
            found.append((period, state.status, state.run.version))
    return found


# --- Spot checks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodChecks:
    claims: list[dict[str, object]]  # as `alliance checks list --json`
    risks: dict[str, list[str]]  # partner -> why its sample is as large as it is


def checks_of(deps: Deps, principal: Principal, period: Period) -> PeriodChecks:
    authorise(principal, "checks list")
    with read_scope(deps.engine) as session:
        claims = checks_table(session, periods=[period])
        risks: dict[str, list[str]] = {}
        for draw in checks.draws_in(session, periods=[str(period)]):
            risks.setdefault(draw.partner_id, []).extend(f"{risk}: {why}" for risk, why in json.loads(draw.risks))
    return PeriodChecks(claims, risks)


# --- The outbox and the audit chain --------------------------------------------------------------


def outbox(deps: Deps, principal: Principal) -> dict[str, list[Notification]]:
    authorise(principal, "notifications")
    with read_scope(deps.engine) as session:
        return {status: repo.notifications(session, status=status)[-200:] for status in ("pending", "failed")}


def retry_failed(deps: Deps, principal: Principal) -> list[int]:
    authorise(principal, "notifications retry")
    with session_scope(deps.engine) as session:
        return repo.requeue_failed(session)


def audit_check(deps: Deps, principal: Principal) -> Any:
    authorise(principal, "audit verify")
    with read_scope(deps.engine) as session:
        return verify_chain(session)


# --- The board's review ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    review: ReviewRecord
    case: ReviewCase
    name: str
    replies: list[ReviewReply]
    decisions: list[BoardDecisionRecord]
    pending: list[board_quorum.Confirmations]
    evidence: Path | None
    tables: dict[str, list[list[object]]]  # the evidence pack's monthly trend, case mix and data-quality record


def review_of(deps: Deps, principal: Principal, year: int) -> tuple[ReviewRecord, list[ReviewCase]]:
    authorise(principal, "board review")
    with read_scope(deps.engine) as session:
        review = reviews.review_of(session, year=year)
        if review is None or review.id is None:
            raise NotFound(f"There is no review of contract year {year} yet")
        return review, reviews.cases_of(session, review_id=review.id)


def case_of(deps: Deps, principal: Principal, year: int, partner_id: str) -> CaseView:
    """A flagged partner's case; any other partner's (or none) is "not found": the board sees the cases it decides."""
    review, cases = review_of(deps, principal, year)
    case = next((c for c in cases if c.partner_id == partner_id and c.standing == Standing.flagged), None)
    if case is None or case.id is None:
        raise NotFound(NOTHING_HERE)
    with read_scope(deps.engine) as session:
        replies = reviews.replies_of(session, case_id=case.id)
        decisions = reviews.decisions_of(session, case_id=case.id)
        pending = board_quorum.pending(session, case_id=case.id, needed=deps.contract.review.decision_quorum)
    partner = deps.contract.partner(partner_id)
    folder = deps.workspace.reviews_dir / str(year)
    evidence = folder / Path(case.evidence_path).name if case.evidence_path else None  # never outside the folder
    return CaseView(
        review,
        case,
        partner.name if partner else partner_id,
        replies,
        decisions,
        pending if not decisions else [],
        evidence if evidence is not None and evidence.is_file() else None,
        read_tables(evidence) if evidence is not None and evidence.is_file() else {},
    )


def latest_checked_period(deps: Deps, principal: Principal) -> Period:
    authorise(principal, "checks list")
    with read_scope(deps.engine) as session:
        latest = session.exec(select(func.max(SpotCheckDraw.period))).one()
    return Period.parse(latest) if latest else latest_due_period(deps.clock(), deps.contract.deadlines.due_day)


def latest_review_year(deps: Deps, principal: Principal) -> int | None:
    authorise(principal, "board review")
    with read_scope(deps.engine) as session:
        year = session.exec(select(func.max(ReviewRecord.year))).one()
    return int(year) if year is not None else None


# --- Long work started from a page: runs of the Prefect deployments --------------------------------

LAUNCHES = {"cycle": "cycle run", "review": "review run"}  # what -> the command's action


def launch_parameters(deps: Deps, principal: Principal, what: str, value: str) -> dict[str, Any]:
    """The run's parameters, once the principal may start it and ``value`` (a period, a year) is one."""
    if what not in LAUNCHES:
        raise NotFound(NOTHING_HERE)
    authorise(principal, LAUNCHES[what])
    workspace, today = str(deps.workspace.root), london_date(deps.clock())
    if what == "cycle":
        try:
            period = payable_period(Period.parse(value), deps.contract.alliance.start, deps.clock())
        except UsageError as wrong:
            raise UsageError(f"Choose the month to run the cycle for ({wrong})") from None
        return {"period": str(period), "workspace": workspace}
    ended = latest_ended_year(deps.contract.alliance.start, today)
    try:
        year = int(value.strip())
    except ValueError:
        year = 0
    if ended is None or not 1 <= year <= ended:
        raise UsageError(
            f"Contract year {year or value!r} cannot be reviewed yet: a year is reviewed once it has ended"
            + (f" (the latest that has: {ended})" if ended else "")
        )
    return {"year": year, "workspace": workspace}


def record_launch(deps: Deps, principal: Principal, *, what: str, flow_run_id: str, parameters: dict[str, Any]) -> None:
    """Who started which run: in the audit chain (the run's own log is Prefect's)."""
    authorise(principal, LAUNCHES[what])
    with session_scope(deps.engine) as session:
        append_audit(
            session,
            at=deps.clock(),
            actor=principal.who or "",
            action="flow_run.started",
            subject=flow_run_id,
            detail={"what": what, **{k: v for k, v in parameters.items() if k != "workspace"}},
        )


def launch_of(deps: Deps, principal: Principal, flow_run_id: str) -> dict[str, Any]:
    """What a run started from the portal was for (and who started it); any other id is "not found"."""
    authorise(principal, "cycle run")
    with read_scope(deps.engine) as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "flow_run.started", AuditEntry.subject == flow_run_id)
        ).first()
    if entry is None:
        raise NotFound(NOTHING_HERE)
    return {"by": entry.actor, "at": entry.at, **json.loads(entry.detail)}
