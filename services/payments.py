"""Payment runs: computed by domain.payments, posted once, approved, corrected by new versions.

A run is identified by an idempotency key. Running again with the inputs of the latest run
returns that run; a key already used for other inputs is refused. The database's unique
constraints (key, period and version) are what make a run posted once, even under races.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session

from domain.access import Principal, authorise_person
from domain.contract import Contract
from domain.errors import IntegrityError, UsageError
from domain.payments import (
    ENTITLEMENT_KINDS,
    LINE_KINDS,
    LineDraft,
    PaidBefore,
    StepDown,
    Withdrawn,
    adjustment_lines,
    calculate_payments,
    entitlement_lines,
)
from domain.period_states import PeriodState, period_state
from domain.periods import Period
from domain.returns import points_from_counts
from domain.spot_checks import without_withdrawn
from models import checks, ledger, repo, reviews
from models.audit import append_audit
from models.db import session_scope
from models.tables import PaymentLine, PaymentRun, Submission
from services import messages, outbox
from services.deps import Deps
from services.spot_checks import Withdrawal, withdrawals, withdrawn_rows


@dataclass(frozen=True)
class RunResult:
    run: PaymentRun
    created: bool  # False: these inputs were already posted by this run


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _step_downs(session: Session) -> list[StepDown]:
    """Board step-downs in force (an appeal's reversal removes one from its first month)."""
    return [StepDown(a.partner_id, Period.parse(a.from_period), a.percent) for a in reviews.active_adjustments(session)]


@dataclass(frozen=True)
class RunInputs:
    accepted: list[Submission]
    step_downs: list[StepDown]
    withdrawn: list[Withdrawal]  # claims not verified by spot checks that the accepted returns make
    document: dict[str, Any]

    @property
    def text(self) -> str:
        return canonical_json(self.document)

    @property
    def digest(self) -> str:
        return _sha(self.text)


def current_inputs(session: Session, *, contract: Contract, period: Period) -> RunInputs:
    """What a run for ``period`` is computed from now: accepted returns, step-downs in force, claims withdrawn."""
    accepted = repo.accepted_submissions(session, period=str(period))
    step_downs = [s for s in _step_downs(session) if s.from_period <= period]
    withdrawn = withdrawals(session, period=str(period), accepted=accepted)
    document: dict[str, Any] = {
        "period": str(period),
        "contract": contract.fingerprint(),
        "framework_version": contract.framework.version,
        "returns": [[s.partner_id, s.sha256, s.version] for s in accepted],
        "step_downs": [[s.partner_id, str(s.from_period), s.percent] for s in step_downs],
    }
    if withdrawn:  # only then: the inputs (and hash) of a period without withdrawals stay as they always were
        document["withdrawn"] = [[w.partner_id, w.claim.participant_id, w.claim.measure] for w in withdrawn]
    return RunInputs(accepted, step_downs, withdrawn, document)


def run_payments(deps: Deps, period: Period, *, key: str | None = None) -> RunResult:
    """The period's run for the current inputs: the existing one, or a new version.

    ``key`` defaults to ``<period>/v<next version>``: two processes racing to post the same
    correction share it, so exactly one row is written and the other gets that run back.
    """
    try:
        return _run_payments(deps, period, key)
    except DatabaseIntegrityError:
        # Another process posted the same key or version first: same inputs, same run; else refuse.
        with session_scope(deps.engine) as session:
            inputs = current_inputs(session, contract=deps.contract, period=period)
            latest = repo.latest_run(session, period=str(period))
            if latest is not None and latest.inputs_hash == inputs.digest:
                return RunResult(latest, created=False)
        raise IntegrityError(
            f"another payment run for {period} was posted at the same time with different inputs; "
            "run the payments again to post a new version"
        ) from None


def _run_payments(deps: Deps, period: Period, key: str | None) -> RunResult:
    contract = deps.contract
    now = deps.clock()
    with session_scope(deps.engine) as session:
        ledger.serialise_period(session, period=str(period))
        inputs = current_inputs(session, contract=contract, period=period)
        if key is not None:
            keyed = repo.run_by_key(session, idempotency_key=key)
            if keyed is not None:
                if keyed.inputs_hash != inputs.digest:
                    raise IntegrityError(
                        f"payment run key {key!r} was used for {keyed.period} v{keyed.version} with other inputs: "
                        "a key is never reused for different inputs"
                    )
                return RunResult(keyed, created=False)
        states = ledger.run_states(session, period=str(period))
        latest = states[-1].run if states else None
        if latest is not None and latest.inputs_hash == inputs.digest:
            return RunResult(latest, created=False)
        version = latest.version + 1 if latest else 1
        key = key or f"{period}/v{version}"

        counts = repo.achievement_counts(session, submission_ids=[s.id for s in inputs.accepted if s.id])
        counts = _without_withdrawn(inputs, counts)
        cells = {
            s.partner_id: points_from_counts(counts[s.id], contract.framework)
            for s in inputs.accepted
            if s.partner_id and s.id
        }
        calculation = calculate_payments(
            contract, period, {pid: b.total for pid, b in cells.items()}, inputs.step_downs
        )
        drafts = entitlement_lines(
            contract,
            calculation,
            {pid: b.by_measure_band for pid, b in cells.items()},
            _withdrawn_by_partner(contract, inputs.withdrawn),
        )
        base = ledger.last_payable(states)
        if base is not None and base.run.id is not None:
            paid = [
                PaidBefore(line.partner_id, line.kind, line.amount_pence)
                for line in repo.lines_of(session, run_id=base.run.id)
            ]
            reasons = _newly_withdrawn(base.run, inputs.withdrawn)
            changed = base.run.contract_fingerprint != contract.fingerprint()
            drafts += adjustment_lines(period, drafts, paid, base.run.version, reasons, terms_changed=changed)
        run = PaymentRun(
            period=str(period),
            version=version,
            idempotency_key=key,
            inputs_hash=inputs.digest,
            inputs=inputs.text,
            contract_fingerprint=contract.fingerprint(),
            framework_version=contract.framework.version,
            target_points=str(calculation.target_points),
            alliance_points=str(calculation.alliance_points),
            alliance_factor=str(calculation.alliance_factor),
            pool_pence=calculation.pool_pence,
            payable_pence=calculation.payable_pence,
            created_at=now,
            requires_approval=contract.payments.require_officer_approval,
            base_version=base.run.version if base else None,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        session.add_all(_line_rows(run.id, drafts))
        session.flush()
        # A final run closes the period; a draft leaves it open or due until it is approved.
        state = period_state(period, due_day=contract.deadlines.due_day, now=now, paid=not run.requires_approval)
        repo.advance_period(session, period=str(period), to=state)
        append_audit(
            session,
            at=now,
            actor="monthly-cycle",
            action="payment_run.created",
            subject=f"{period}/v{version}",
            detail={
                "inputs_hash": inputs.digest,
                "payable_pence": calculation.payable_pence,
                "status": "draft" if run.requires_approval else "final",
            },
        )
        if run.requires_approval:
            _tell_officers_a_draft_waits(deps, session, run)
        else:
            enqueue_statements(deps, session, run)
        return RunResult(run, created=True)


def _without_withdrawn(
    inputs: RunInputs, counts: dict[int, list[tuple[str, frozenset[str], int]]]
) -> dict[int, list[tuple[str, frozenset[str], int]]]:
    """Each accepted version's (band, achieved, rows) groups with the withdrawn claims taken out."""
    rows = withdrawn_rows(inputs.withdrawn)
    return {
        s.id: without_withdrawn(counts[s.id], rows[s.partner_id or ""])
        if (s.partner_id or "") in rows
        else counts[s.id]
        for s in inputs.accepted
        if s.id is not None
    }


def _withdrawn_by_partner(contract: Contract, withdrawn: list[Withdrawal]) -> dict[str, list[Withdrawn]]:
    weights = {m.id: m.weight for m in contract.framework.measures}
    found: dict[str, list[Withdrawn]] = {}
    for w in withdrawn:
        points = weights[w.claim.measure] * contract.framework.bands[w.band]
        found.setdefault(w.partner_id, []).append(Withdrawn(w.claim.participant_id, w.claim.measure, w.band, points))
    return found


def _newly_withdrawn(base: PaymentRun, withdrawn: list[Withdrawal]) -> dict[str, str]:
    """Per partner: the claims withdrawn since the version adjusted against, in words for its adjustment line."""
    before = {tuple(item) for item in json.loads(base.inputs).get("withdrawn", [])}
    new: dict[str, int] = {}
    for w in withdrawn:
        if (w.partner_id, w.claim.participant_id, w.claim.measure) not in before:
            new[w.partner_id] = new.get(w.partner_id, 0) + 1
    return {pid: f"{n} claim(s) withdrawn after spot checks found them not verified" for pid, n in new.items()}


def periods_with_new_withdrawals(session: Session, *, contract: Contract) -> list[Period]:
    """Periods already paid whose claims withdrawn since their last run are not yet recovered."""
    periods = sorted({period for period, _, _ in checks.not_verified(session)})
    due = []
    for period in periods:
        latest = repo.latest_run(session, period=period)
        if latest is None:
            continue  # never paid: its first run leaves the claims out anyway
        current = current_inputs(session, contract=contract, period=Period.parse(period))
        if current.document.get("withdrawn", []) != json.loads(latest.inputs).get("withdrawn", []):
            due.append(Period.parse(period))
    return due


def periods_with_new_returns(session: Session) -> list[Period]:
    """Periods already paid whose accepted returns changed since their last run: a return filed outside the cycle
    (uploaded in the portal) after its month was paid. The cycle pays them, as the corrections they are."""
    due = []
    for period in repo.periods_with_runs(session):
        latest = repo.latest_run(session, period=period)
        if latest is None:
            continue
        paid = {tuple(r) for r in json.loads(latest.inputs).get("returns", [])}
        now = {(s.partner_id, s.sha256, s.version) for s in repo.accepted_submissions(session, period=period)}
        if now != paid:
            due.append(Period.parse(period))
    return due


def changed_since(session: Session, *, contract: Contract, period: Period, run: PaymentRun) -> str | None:
    """What ``run`` was computed from that has changed since (in words), or None: it is up to date."""
    inputs = current_inputs(session, contract=contract, period=period)
    return None if inputs.digest == run.inputs_hash else what_changed(json.loads(run.inputs), inputs.document)


def what_changed(before: dict[str, Any], now: dict[str, Any]) -> str:
    """The inputs that differ between two runs' documents, in words."""
    names = {
        "returns": "accepted returns",
        "step_downs": "board step-downs",
        "withdrawn": "claims withdrawn after spot checks",
        "contract": "contract",
    }
    changed = [words for key, words in names.items() if before.get(key) != now.get(key)]
    return " and ".join(changed) if changed else "inputs"


def _line_rows(run_id: int, drafts: list[LineDraft]) -> list[PaymentLine]:
    return [
        PaymentLine(
            run_id=run_id,
            partner_id=d.partner_id,
            kind=d.kind,
            amount_pence=d.amount_pence,
            points=str(d.points) if d.points is not None else None,
            explanation=d.explanation,
            working=canonical_json(d.working),
        )
        for d in sorted(drafts, key=lambda d: (d.partner_id, LINE_KINDS.index(d.kind)))
    ]


def enqueue_statements(deps: Deps, session: Session, run: PaymentRun) -> None:
    """One message per partner that its statement for a payable run is ready (same transaction)."""
    assert run.id is not None
    totals: dict[str, int] = {}
    for line in repo.lines_of(session, run_id=run.id):
        totals[line.partner_id] = totals.get(line.partner_id, 0) + line.amount_pence
    for partner in sorted(deps.contract.partners, key=lambda p: p.id):
        outbox.tell_partner(
            session,
            partner,
            dedup_key=f"statement:{run.id}:{partner.id}",
            kind="statement_issued",
            at=deps.clock(),
            text=messages.statement_issued(
                partner_name=partner.name, period=run.period, version=run.version, total_pence=totals.get(partner.id, 0)
            ),
            payload={
                "run_id": run.id,
                "statement": statement_name(partner.id, run),
                "file": f"{run.period}/v{run.version}/{statement_name(partner.id, run)}",  # under statements/
            },
        )


def statement_name(partner_id: str, run: PaymentRun) -> str:
    return f"{partner_id}-{run.period}-v{run.version}.xlsx"


def _tell_officers_a_draft_waits(deps: Deps, session: Session, run: PaymentRun) -> None:
    repo.enqueue(
        session,
        dedup_key=f"run-draft:{run.id}",
        channel=deps.contract.alliance.officers_channel,
        kind="payment_run_draft",
        at=deps.clock(),
        text=messages.payment_run_draft(period=run.period, version=run.version, payable_pence=run.payable_pence),
        payload={"run_id": run.id},
    )


def bring_period_state_up_to_date(deps: Deps, period: Period) -> str:
    """Move the period to where it stands now (due once its due date passed, closed once paid); its state."""
    with session_scope(deps.engine) as session:
        paid = ledger.last_payable(ledger.run_states(session, period=str(period))) is not None
        state = period_state(period, due_day=deps.contract.deadlines.due_day, now=deps.clock(), paid=paid)
        return repo.advance_period(session, period=str(period), to=state).state


def posted_runs(session: Session, *, period: Period) -> list[ledger.RunState]:
    """Every version of the period's run, oldest first; refused when there is none yet."""
    states = ledger.run_states(session, period=str(period))
    if not states:
        raise UsageError(f"no payment run for {period} yet: run `alliance cycle run --period {period}` first")
    return states


# --- Approval and locks -----------------------------------------------------------------------


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
        inputs = current_inputs(session, contract=deps.contract, period=period)
        if inputs.digest != run.inputs_hash:
            raise UsageError(
                f"the {what_changed(json.loads(run.inputs), inputs.document)} for {period} changed after run "
                f"v{run.version} was computed: "
                f"run `alliance cycle run --period {period}` for a new version, then approve that"
            )
        ledger.add_approval(session, run_id=run.id, by=by, at=now)
        locked = []
        for partner_id in sorted({s.partner_id for s in inputs.accepted if s.partner_id}):
            if ledger.current_lock(session, period=str(period), partner_id=partner_id) is None:
                ledger.add_lock_event(
                    session, period=str(period), partner_id=partner_id, action="lock", by=by, at=now, run_id=run.id
                )
                locked.append(partner_id)
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


# --- Reports ------------------------------------------------------------------------------------


def paid_by_kind(lines: list[PaymentLine], partner_id: str) -> dict[str, int]:
    """What a version pays a partner for core and for outcome: its lines of the kind plus the
    adjustment lines taking off what earlier versions paid for that kind (the net change)."""
    paid = {kind: 0 for kind in ENTITLEMENT_KINDS}
    for line in lines:
        if line.partner_id != partner_id:
            continue
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
                "total_pence": sum(amounts.values()),
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
        "partners": partners,
    }


def due_by_partner(session: Session, *, contract: Contract, periods: list[Period]) -> dict[str, dict[str, int]]:
    """Per partner over ``periods``: core and outcome due under each period's last payable run, and how
    much of that was paid by correcting versions (the net of every payable version after the first)."""
    totals = {p.id: {"core": 0, "outcome": 0, "corrections": 0} for p in contract.partners}
    for period in periods:
        payable = [s for s in ledger.run_states(session, period=str(period)) if s.payable]
        for position, state in enumerate(payable):
            assert state.run.id is not None
            for line in repo.lines_of(session, run_id=state.run.id):
                if state is payable[-1] and line.kind in ENTITLEMENT_KINDS:
                    totals[line.partner_id][line.kind] += line.amount_pence
                if position > 0:
                    totals[line.partner_id]["corrections"] += line.amount_pence
    return totals
