"""What runs paid, read back: per kind, per partner, per period (`alliance payments show`, the demo, the report)."""

import json
from typing import Any

from sqlmodel import Session

from domain.contract import Contract
from domain.payments import ENTITLEMENT_KINDS, LINE_KINDS
from domain.periods import Period
from domain.settlement import BROUGHT_FORWARD, CARRIED, RECOVERY, SETTLEMENT_KINDS
from models import ledger, repo
from models.tables import PaymentLine
from services.payments import is_provisional, posted_runs, step_downs_in_force
from services.settlements import debts, partners_told


def paid_by_kind(lines: list[PaymentLine], partner_id: str) -> dict[str, int]:
    """What a version pays a partner for core and for outcome: its lines of the kind plus the
    adjustment lines taking off what earlier versions paid for that kind (the net change); and under "settled"
    what it carried, recovered or brought forward (domain.settlement)."""
    paid = {kind: 0 for kind in (*ENTITLEMENT_KINDS, "settled")}
    for line in lines:
        if line.partner_id != partner_id:
            continue
        if line.kind in SETTLEMENT_KINDS:
            kind = "settled"
        else:
            kind = json.loads(line.working).get("of_kind", "core") if line.kind == "adjustment" else line.kind
        paid[kind] += line.amount_pence
    return paid


def _partner_amounts(lines: list[PaymentLine], partner_id: str) -> dict[str, int]:
    own = [line for line in lines if line.partner_id == partner_id]
    return {kind: sum(line.amount_pence for line in own if line.kind == kind) for kind in LINE_KINDS}


def payment_report(session: Session, *, contract: Contract, period: Period) -> dict[str, Any]:
    """The latest run for a period, as ``alliance payments show --json`` prints it."""
    states = posted_runs(session, period=period)
    state = states[-1]
    run = state.run
    assert run.id is not None
    lines = repo.lines_of(session, run_id=run.id)
    paid_versions = {r[0]: r[2] for r in json.loads(run.inputs).get("returns", [])}
    told = set(partners_told(run, lines))
    provisional = is_provisional(run)
    partners = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        amounts = _partner_amounts(lines, partner.id)
        points = next((line.points for line in lines if line.partner_id == partner.id and line.kind == "outcome"), None)
        partners.append(
            {
                "partner": partner.id,
                "name": partner.name,
                "core_pence": amounts["core"],
                "outcome_pence": amounts["outcome"],
                "adjustment_pence": amounts["adjustment"],
                "carried_pence": amounts[CARRIED],
                "recovery_pence": amounts[RECOVERY],
                "brought_forward_pence": amounts[BROUGHT_FORWARD],
                "total_pence": sum(amounts.values()),
                "provisional_outcome_pence": _provisional(lines, partner.id) if provisional else None,
                "statement_sent": partner.id in told and state.payable,
                "points": points or "0",
                "return_version": paid_versions.get(partner.id),  # the accepted version the run counted
            }
        )
    return {
        "period": run.period,
        "period_state": repo.period_state_of(session, period=run.period),  # open | due | closed
        "run_id": run.id,
        "version": run.version,
        "status": state.status,
        "approved_by": state.approval.approved_by if state.approval else None,
        "approved_at": state.approval.approved_at.isoformat() if state.approval else None,
        "base_version": run.base_version,
        "created_at": run.created_at.isoformat(),
        "idempotency_key": run.idempotency_key,
        "inputs_hash": run.inputs_hash,
        "contract_fingerprint": run.contract_fingerprint,
        "framework_version": run.framework_version,
        "alliance_factor": run.alliance_factor,
        "alliance_points": run.alliance_points,
        "target_points": run.target_points,
        "pool_pence": run.pool_pence,
        "payable_pence": run.payable_pence,
        "outcome": "provisional" if provisional else "paid",
        "not_returned": [p.id for p in sorted(contract.partners, key=lambda p: p.id) if p.id not in paid_versions],
        "partners": partners,
        "debts": [
            {
                "partner": d.partner_id,
                "owed_pence": d.owed_pence,
                "recoverable_pence": d.check.recoverable_pence,
                "invoice": d.check.invoice,
            }
            for d in debts(session, contract=contract, period=period, step_downs=step_downs_in_force(session))
        ],
    }


def _provisional(lines: list[PaymentLine], partner_id: str) -> int:
    for line in lines:
        if line.partner_id == partner_id and line.kind == "outcome":
            return int(json.loads(line.working).get("provisional_pence", 0))
    return 0


def due_by_partner(session: Session, *, contract: Contract, periods: list[Period]) -> dict[str, dict[str, int]]:
    """Per partner over ``periods``: core and outcome due under each period's last payable run, and how
    much of that was paid by correcting versions (the net of every payable version after the first)."""
    totals = {p.id: {"core": 0, "outcome": 0, "corrections": 0, "settled": 0} for p in contract.partners}
    for period in periods:
        payable = [s for s in ledger.run_states(session, period=str(period)) if s.payable]
        # The month's first payment is its first version paying the outcome pool (core-only versions before it
        # are its advance): only versions after that one are corrections.
        first = next((n for n, s in enumerate(payable) if not is_provisional(s.run)), len(payable))
        for position, state in enumerate(payable):
            assert state.run.id is not None
            for line in repo.lines_of(session, run_id=state.run.id):
                if state is payable[-1] and line.kind in ENTITLEMENT_KINDS:
                    totals[line.partner_id][line.kind] += line.amount_pence
                if line.kind in SETTLEMENT_KINDS:
                    totals[line.partner_id]["settled"] += line.amount_pence
                elif position > first:
                    totals[line.partner_id]["corrections"] += line.amount_pence
    return totals
