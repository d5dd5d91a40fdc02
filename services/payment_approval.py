"""An officer's approval of a period's draft run: it becomes payable, the returns it paid are locked and the
statements go out (the same for `alliance payments approve`, the office's page and the demo's officer)."""

import json
from dataclasses import dataclass

from domain.access import Principal, authorise_person
from domain.errors import UsageError
from domain.period_states import PeriodState, period_state
from domain.periods import Period
from models import ledger, repo
from models.audit import append_audit
from models.db import session_scope
from models.tables import PaymentRun
from services.deps import Deps
from services.payments import current_inputs, enqueue_statements, is_provisional, posted_runs, what_changed
from services.settlements import stale_settlements


@dataclass(frozen=True)
class ApprovalResult:
    run: PaymentRun
    approved_by: str
    new: bool  # False: it had been approved already
    locked: list[str]  # partners whose returns this approval locked


def approve_run(deps: Deps, period: Period, *, by: "str | Principal", version: int | None = None) -> ApprovalResult:
    """An officer approves the period's latest run: it becomes payable and the returns it paid are locked.
    ``by``: a signed-in account, or a name (with roles, an officer's)."""
    if isinstance(by, str) and not by.strip():
        raise UsageError("say who approves the run: --by NAME")
    by = authorise_person(deps.contract.roles, by.strip() if isinstance(by, str) else by, "payments approve")
    now = deps.clock()
    with session_scope(deps.engine) as session:
        ledger.serialise_period(session, period=str(period))
        ledger.serialise_payments(session)
        states = posted_runs(session, period=period)
        state = states[-1]
        run = state.run
        assert run.id is not None
        if version is not None and version != run.version:  # the version the officer read, not one made since
            raise UsageError(
                f"version {version} of {period}'s run is not the latest: version {run.version} was made since; "
                "read it, then approve that"
            )
        if not run.requires_approval:
            raise UsageError(
                f"run v{run.version} of {period} is final already: it was made without officer approval "
                "(payments.require_officer_approval is off)"
            )
        if state.approval is not None:
            return ApprovalResult(run, state.approval.approved_by, new=False, locked=[])
        last_paid = ledger.last_payable(states)
        paid = last_paid.run.version if last_paid else None
        if run.base_version != paid:
            raise UsageError(
                f"run v{run.version} of {period} adjusts against v{run.base_version} but v{paid} was approved since: "
                f"run `alliance cycle run --period {period}` for a new version, then approve that"
            )
        inputs = current_inputs(session, contract=deps.contract, period=period, now=now)
        if inputs.digest != run.inputs_hash:
            raise UsageError(
                f"the {what_changed(json.loads(run.inputs), inputs.document)} for {period} changed after run "
                f"v{run.version} was computed: "
                f"run `alliance cycle run --period {period}` for a new version, then approve that"
            )
        stale = stale_settlements(session, run)
        if stale:
            raise UsageError(
                f"what {', '.join(stale)} owe(s) or is owed from earlier runs changed after run v{run.version} of "
                f"{period} was computed (another run was paid since): "
                f"run `alliance cycle run --period {period}` for a new version, then approve that"
            )
        ledger.add_approval(session, run_id=run.id, by=by, at=now)
        locked = []
        provisional = is_provisional(run)
        paid_returns = set() if provisional else {s.partner_id for s in inputs.accepted if s.partner_id}
        for partner_id in sorted(paid_returns):  # a run paying core only pays no return: none is locked
            if ledger.current_lock(session, period=str(period), partner_id=partner_id) is None:
                ledger.add_lock_event(
                    session, period=str(period), partner_id=partner_id, action="lock", by=by, at=now, run_id=run.id
                )
                locked.append(partner_id)
        if provisional:
            repo.advance_period(
                session,
                period=str(period),
                to=period_state(period, due_day=deps.contract.deadlines.due_day, now=now, paid=False),
            )
        else:
            repo.advance_period(session, period=str(period), to=PeriodState.closed)
        append_audit(
            session,
            at=now,
            actor=by,
            action="payment_run.approved",
            subject=f"{period}/v{run.version}",
            detail={"run_id": run.id, "inputs_hash": run.inputs_hash, "locked": locked},
        )
        enqueue_statements(deps, session, run)
        return ApprovalResult(run, by, new=True, locked=locked)
