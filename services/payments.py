"""Payment runs: computed by domain.payments, stored once, corrected by new versions."""

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from domain.contract import Contract
from domain.errors import UsageError
from domain.money import format_pounds
from domain.payments import ENTITLEMENT_KINDS, LINE_KINDS, PaymentCalculation, StepDown, calculate_payments
from domain.periods import Period
from domain.returns import points_breakdown
from integrations.spreadsheets.statements import (
    PartnerStatement,
    StatementLine,
    write_officer_summary,
    write_partner_statement,
)
from models import repo
from models.audit import append_audit
from models.db import session_scope
from models.tables import PaymentLine, PaymentRun
from services import messages
from services.deps import Deps


@dataclass(frozen=True)
class RunResult:
    run: PaymentRun
    created: bool  # False: the same inputs were already paid by this run


def _step_downs(session: Session) -> list[StepDown]:
    return [StepDown(a.partner_id, Period.parse(a.from_period), a.percent) for a in repo.funding_adjustments(session)]


def _canonical_hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def run_payments(deps: Deps, period: Period) -> RunResult:
    """The period's payment run for the current inputs: the existing one, or a new version."""
    contract = deps.contract
    now = deps.clock()
    with session_scope(deps.engine) as session:
        accepted = repo.accepted_submissions(session, period=str(period))
        step_downs = _step_downs(session)
        inputs = {
            "period": str(period),
            "contract": contract.fingerprint(),
            "returns": [[s.partner_id, s.sha256, s.version] for s in accepted],
            "step_downs": [
                [s.partner_id, str(s.from_period), s.percent] for s in step_downs if s.from_period <= period
            ],
        }
        inputs_hash = _canonical_hash(inputs)
        previous = repo.latest_run(session, period=str(period))
        if previous is not None and previous.inputs_hash == inputs_hash:
            return RunResult(previous, created=False)

        breakdowns = {
            s.partner_id: points_breakdown(repo.rows_of(session, submission_id=s.id or 0), contract.framework)
            for s in accepted
            if s.partner_id
        }
        calculation = calculate_payments(contract, period, {pid: b.total for pid, b in breakdowns.items()}, step_downs)
        version = previous.version + 1 if previous else 1
        run = PaymentRun(
            period=str(period),
            version=version,
            idempotency_key=_canonical_hash([str(period), inputs_hash, previous.id if previous else None]),
            inputs_hash=inputs_hash,
            contract_fingerprint=contract.fingerprint(),
            framework_version=contract.framework.version,
            target_points=str(calculation.target_points),
            alliance_points=str(calculation.alliance_points),
            alliance_factor=str(calculation.alliance_factor),
            pool_pence=calculation.pool_pence,
            payable_pence=calculation.payable_pence,
            created_at=now,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        previous_lines = repo.lines_of(session, run_id=previous.id) if previous and previous.id else []
        session.add_all(_lines(run.id, contract, calculation, breakdowns, previous, previous_lines))
        session.flush()
        append_audit(
            session,
            at=now,
            actor="monthly-cycle",
            action="payment_run.created",
            subject=f"{period}/v{version}",
            detail={"inputs_hash": inputs_hash, "payable_pence": calculation.payable_pence},
        )
        return RunResult(run, created=True)


def _lines(
    run_id: int,
    contract: Contract,
    calculation: PaymentCalculation,
    breakdowns: dict[str, Any],
    previous: PaymentRun | None,
    previous_lines: list[PaymentLine],
) -> list[PaymentLine]:
    lines = []
    for payment in calculation.partners:
        partner = contract.partner(payment.partner_id)
        assert partner is not None
        core_text = (
            f"Core instalment {calculation.month_of_year} of 12 of annual core "
            f"{format_pounds(partner.annual_core_pence)}: {format_pounds(payment.core_instalment_pence)}"
        )
        if payment.step_down_percent:
            core_text += f", less the board-approved {payment.step_down_percent}% step-down"
        lines.append(
            PaymentLine(
                run_id=run_id,
                partner_id=payment.partner_id,
                kind="core",
                amount_pence=payment.core_pence,
                explanation=core_text,
            )
        )
        lines.append(
            PaymentLine(
                run_id=run_id,
                partner_id=payment.partner_id,
                kind="outcome",
                amount_pence=payment.outcome_pence,
                points=str(payment.points),
                explanation=_outcome_text(calculation, payment.points, breakdowns.get(payment.partner_id)),
            )
        )
        if previous is not None:
            paid_before = sum(
                line.amount_pence
                for line in previous_lines
                if line.partner_id == payment.partner_id and line.kind in ENTITLEMENT_KINDS
            )
            lines.append(
                PaymentLine(
                    run_id=run_id,
                    partner_id=payment.partner_id,
                    kind="adjustment",
                    amount_pence=-paid_before,
                    explanation=(
                        f"Less {format_pounds(paid_before)} already due under version {previous.version} "
                        f"of {calculation.period}"
                    ),
                )
            )
    return lines


def _outcome_text(calculation: PaymentCalculation, points: Decimal, breakdown: Any) -> str:
    if breakdown is None:
        return "No accepted return for this period yet: no outcome payment (a late return is paid as a correction)"
    parts = "; ".join(
        f"{measure} x {band}: {count} achieved = {sub} points"
        for (measure, band), (count, sub) in breakdown.by_measure_band.items()
    )
    return (
        f"{points} of {calculation.alliance_points} alliance points, share of payable "
        f"{format_pounds(calculation.payable_pence)} (pool {format_pounds(calculation.pool_pence)} x alliance factor "
        f"{calculation.alliance_factor:.4f}; target {calculation.target_points} points). {parts}"
    )


def statements_for(session: Session, *, contract: Contract, run: PaymentRun) -> list[PartnerStatement]:
    assert run.id is not None
    lines = repo.lines_of(session, run_id=run.id)
    statements = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = [
            StatementLine(line.kind, line.amount_pence, line.explanation)
            for line in lines
            if line.partner_id == partner.id
        ]
        statements.append(PartnerStatement(partner.id, partner.name, own))
    return statements


def issue_statements(deps: Deps, run: PaymentRun) -> Path:
    """Write the statement workbooks for a run and queue one message per partner."""
    contract = deps.contract
    folder = deps.workspace.statements_dir / run.period / f"v{run.version}"
    title = f"{contract.alliance.name}: payment statement {run.period}, run version {run.version}"
    now = deps.clock()
    with session_scope(deps.engine) as session:
        statements = statements_for(session, contract=contract, run=run)
        for statement in statements:
            write_partner_statement(
                folder / f"{statement.partner_id}-{run.period}-v{run.version}.xlsx", title=title, statement=statement
            )
        facts = [
            ("alliance factor", run.alliance_factor),
            ("alliance points / target", f"{run.alliance_points} / {run.target_points}"),
            ("monthly pool", format_pounds(run.pool_pence)),
            ("outcome payable", format_pounds(run.payable_pence)),
            ("inputs hash", run.inputs_hash),
        ]
        write_officer_summary(
            folder / f"officers-summary-{run.period}-v{run.version}.xlsx",
            title=title,
            statements=statements,
            facts=facts,
        )
        for statement in statements:
            partner = contract.partner(statement.partner_id)
            assert partner is not None
            repo.enqueue(
                session,
                dedup_key=f"statement:{run.id}:{partner.id}",
                channel=partner.slack_channel,
                partner_id=partner.id,
                kind="statement_issued",
                at=now,
                text=messages.statement_issued(
                    partner_name=partner.name, period=run.period, version=run.version, total_pence=statement.total_pence
                ),
                payload={"run_id": run.id},
            )
    return folder


def payment_report(session: Session, *, contract: Contract, period: Period) -> dict[str, Any]:
    """The latest run for a period, as ``alliance payments show --json`` prints it."""
    run = repo.latest_run(session, period=str(period))
    if run is None or run.id is None:
        raise UsageError(f"no payment run for {period} yet: run `alliance cycle run --period {period}` first")
    lines = repo.lines_of(session, run_id=run.id)
    partners = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = [line for line in lines if line.partner_id == partner.id]
        amounts = {kind: sum(line.amount_pence for line in own if line.kind == kind) for kind in LINE_KINDS}
        points = next((line.points for line in own if line.kind == "outcome"), None) or "0"
        partners.append(
            {
                "partner": partner.id,
                "name": partner.name,
                "core_pence": amounts["core"],
                "outcome_pence": amounts["outcome"],
                "adjustment_pence": amounts["adjustment"],
                "total_pence": sum(amounts.values()),
                "points": points,
            }
        )
    return {
        "period": run.period,
        "run_id": run.id,
        "version": run.version,
        "created_at": run.created_at.isoformat(),
        "inputs_hash": run.inputs_hash,
        "alliance_factor": run.alliance_factor,
        "alliance_points": run.alliance_points,
        "target_points": run.target_points,
        "pool_pence": run.pool_pence,
        "payable_pence": run.payable_pence,
        "partners": partners,
    }


def due_by_partner(session: Session, *, contract: Contract, periods: list[Period]) -> dict[str, dict[str, int]]:
    """Per partner over ``periods``: core and outcome due under each period's latest run, and how
    much of that was paid by correcting versions (the net of every version after the first)."""
    totals = {p.id: {"core": 0, "outcome": 0, "corrections": 0} for p in contract.partners}
    for period in periods:
        runs = repo.runs_of(session, period=str(period))
        for run in runs:
            assert run.id is not None
            latest = run is runs[-1]
            for line in repo.lines_of(session, run_id=run.id):
                if latest and line.kind in ENTITLEMENT_KINDS:
                    totals[line.partner_id][line.kind] += line.amount_pence
                if run.version > 1:
                    totals[line.partner_id]["corrections"] += line.amount_pence
    return totals
