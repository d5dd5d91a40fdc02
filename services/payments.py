"""Payment runs: computed by domain.payments, posted once, approved, corrected by new versions.

A run is identified by an idempotency key. Running again with the inputs of the latest run
returns that run; a key already used for other inputs is refused. The database's unique
constraints (key, period and version) are what make a run posted once, even under races.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session

from domain.contract import Contract
from domain.errors import IntegrityError, UsageError
from domain.payments import (
    LINE_KINDS,
    LineDraft,
    PaidBefore,
    StepDown,
    Withdrawn,
    adjustment_lines,
    calculate_payments,
    entitlement_lines,
)
from domain.period_states import period_state
from domain.periods import LONDON, Period, due_at, payable_period
from domain.returns import points_from_counts
from domain.settlement import CARRIED, RECOVERY
from domain.spot_checks import without_withdrawn
from models import checks, ledger, repo, reviews
from models.audit import append_audit
from models.db import session_scope
from models.tables import PaymentLine, PaymentRun, Submission
from services import messages, outbox
from services.deps import Deps
from services.settlements import partners_told, settlement_lines, stale_settlements
from services.spot_checks import Withdrawal, withdrawals, withdrawn_rows


@dataclass(frozen=True)
class RunResult:
    run: PaymentRun
    created: bool  # False: these inputs were already posted by this run


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def step_downs_in_force(session: Session) -> list[StepDown]:
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


def outcome_due(contract: Contract, period: Period, accepted: list[Submission], now: datetime) -> bool:
    """The month's outcome pool is paid once every partner's return is accepted or the due date has passed."""
    returned = {s.partner_id for s in accepted}
    return now > due_at(period, contract.deadlines.due_day) or all(p in returned for p in contract.partner_ids)


def current_inputs(session: Session, *, contract: Contract, period: Period, now: datetime) -> RunInputs:
    """What a run for ``period`` is computed from now: accepted returns, step-downs in force, claims withdrawn,
    and whether the outcome pool is due yet."""
    accepted = repo.accepted_submissions(session, period=str(period))
    step_downs = [s for s in step_downs_in_force(session) if s.from_period <= period]
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
    if not outcome_due(contract, period, accepted, now) and not _outcome_paid(session, period):
        document["outcome"] = PROVISIONAL  # only then, likewise: a period paid when due keeps its hash
    return RunInputs(accepted, step_downs, withdrawn, document)


PROVISIONAL = "provisional"


def _outcome_paid(session: Session, period: Period) -> bool:
    """A payable version has paid the month's outcome pool: no later version makes it provisional again (a return
    sent back before the due date must not take back every partner's outcome)."""
    paid = [s.run for s in ledger.run_states(session, period=str(period)) if s.payable]
    return any(not is_provisional(run) for run in paid)


def is_provisional(run: PaymentRun) -> bool:
    """The run paid core only: the month's outcome pool was not due when it was made."""
    return bool(json.loads(run.inputs).get("outcome") == PROVISIONAL)


def when_outcome_paid(contract: Contract, period: Period) -> str:
    due = due_at(period, contract.deadlines.due_day).astimezone(LONDON)
    return f"once every partner's return is accepted, or after the due date ({due:%-d %B %Y})"


def run_payments(deps: Deps, period: Period, *, key: str | None = None) -> RunResult:
    """The period's run for the current inputs: the existing one, or a new version.

    ``key`` defaults to ``<period>/v<next version>``: two processes racing to post the same
    correction share it, so exactly one row is written and the other gets that run back.
    """
    payable_period(period, deps.contract.alliance.start, deps.clock())  # never core for a month still to come
    try:
        return _run_payments(deps, period, key)
    except DatabaseIntegrityError:
        # Another process posted the same key or version first: same inputs, same run; else refuse.
        with session_scope(deps.engine) as session:
            inputs = current_inputs(session, contract=deps.contract, period=period, now=deps.clock())
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
        ledger.serialise_payments(session)  # balances carried between runs are read and settled one run at a time
        inputs = current_inputs(session, contract=contract, period=period, now=now)
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
        # The same inputs give the same run; except a draft that settled against balances another run paid since.
        same = latest is not None and latest.inputs_hash == inputs.digest
        if latest is not None and same and (states[-1].payable or not stale_settlements(session, latest)):
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
        provisional = inputs.document.get("outcome") == PROVISIONAL
        drafts = entitlement_lines(
            contract,
            calculation,
            {pid: b.by_measure_band for pid, b in cells.items()},
            _withdrawn_by_partner(contract, inputs.withdrawn),
            provisional=when_outcome_paid(contract, period) if provisional else None,
        )
        base = ledger.last_payable(states)
        if base is not None and base.run.id is not None:
            paid = [
                PaidBefore(line.partner_id, line.kind, line.amount_pence)
                for line in repo.lines_of(session, run_id=base.run.id)
            ]
            reasons = _newly_withdrawn(base.run, inputs.withdrawn)
            changed = base.run.contract_fingerprint != contract.fingerprint()
            drafts += adjustment_lines(
                period,
                drafts,
                paid,
                base.run.version,
                reasons,
                terms_changed=changed,
                provisional_before=is_provisional(base.run),
            )
        carried, _ = settlement_lines(
            session, contract=contract, period=period, drafts=drafts, correction=base is not None
        )
        drafts += carried
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
            payable_pence=0 if provisional else calculation.payable_pence,
            created_at=now,
            requires_approval=contract.payments.require_officer_approval,
            base_version=base.run.version if base else None,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        session.add_all(_line_rows(run.id, drafts))
        session.flush()
        # A final run that pays the outcome pool closes the period; a draft, or a run paying core only, leaves it
        # open or due.
        paid_out = not run.requires_approval and not provisional
        state = period_state(period, due_day=contract.deadlines.due_day, now=now, paid=paid_out)
        repo.advance_period(session, period=str(period), to=state)
        append_audit(
            session,
            at=now,
            actor="monthly-cycle",
            action="payment_run.created",
            subject=f"{period}/v{version}",
            detail={
                "inputs_hash": inputs.digest,
                "payable_pence": run.payable_pence,
                "status": "draft" if run.requires_approval else "final",
                **({"outcome": PROVISIONAL} if provisional else {}),
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
        accepted = repo.accepted_submissions(session, period=period)
        now = [
            [w.partner_id, w.claim.participant_id, w.claim.measure]
            for w in withdrawals(session, period=period, accepted=accepted)
        ]
        if now != json.loads(latest.inputs).get("withdrawn", []):
            due.append(Period.parse(period))
    return due


def periods_with_outcome_due(session: Session, *, contract: Contract, now: datetime) -> list[Period]:
    """Periods whose last run paid core only and whose outcome pool is due now: the cycle pays them."""
    due = []
    for period in repo.periods_with_runs(session):
        latest = repo.latest_run(session, period=period)
        if latest is None or not is_provisional(latest):
            continue
        accepted = repo.accepted_submissions(session, period=period)
        if outcome_due(contract, Period.parse(period), accepted, now):
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


def changed_since(
    session: Session, *, contract: Contract, period: Period, run: PaymentRun, now: datetime
) -> str | None:
    """What ``run`` was computed from that has changed since (in words), or None: it is up to date."""
    inputs = current_inputs(session, contract=contract, period=period, now=now)
    if inputs.digest != run.inputs_hash:
        return what_changed(json.loads(run.inputs), inputs.document)
    if not ledger.state_of(session, run=run).payable and stale_settlements(session, run):
        return "amounts carried from other months' runs"
    return None


def what_changed(before: dict[str, Any], now: dict[str, Any]) -> str:
    """The inputs that differ between two runs' documents, in words."""
    names = {
        "returns": "accepted returns",
        "step_downs": "board step-downs",
        "withdrawn": "claims withdrawn after spot checks",
        "contract": "contract",
        "outcome": "outcome pool's due state (every return in, or the due date passed)",
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
    held: dict[str, int] = {}  # overpayments this run holds back, to recover later
    recovered: dict[str, int] = {}
    lines = repo.lines_of(session, run_id=run.id)
    for line in lines:
        totals[line.partner_id] = totals.get(line.partner_id, 0) + line.amount_pence
        if line.kind == CARRIED and line.amount_pence > 0:
            held[line.partner_id] = held.get(line.partner_id, 0) + line.amount_pence
        elif line.kind == RECOVERY:
            recovered[line.partner_id] = recovered.get(line.partner_id, 0) - line.amount_pence
    told = set(partners_told(run, lines))
    for partner in sorted(deps.contract.partners, key=lambda p: p.id):
        if partner.id not in told:
            continue
        outbox.tell_partner(
            session,
            partner,
            dedup_key=f"statement:{run.id}:{partner.id}",
            kind="statement_issued",
            at=deps.clock(),
            text=messages.statement_issued(
                partner_name=partner.name,
                period=run.period,
                version=run.version,
                total_pence=totals.get(partner.id, 0),
                held_back_pence=held.get(partner.id, 0),
                recovered_pence=recovered.get(partner.id, 0),
                max_share=deps.contract.payments.recovery_max_share,
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
    returned = {r[0] for r in json.loads(run.inputs).get("returns", [])}
    missing = [p.name for p in sorted(deps.contract.partners, key=lambda p: p.id) if p.id not in returned]
    repo.enqueue(
        session,
        dedup_key=f"run-draft:{run.id}",
        channel=deps.contract.alliance.officers_channel,
        kind="payment_run_draft",
        at=deps.clock(),
        text=messages.payment_run_draft(
            period=run.period,
            version=run.version,
            payable_pence=run.payable_pence,
            missing=missing,
            provisional=is_provisional(run),
        ),
        payload={"run_id": run.id},
    )


def bring_period_state_up_to_date(deps: Deps, period: Period) -> str:
    """Move the period to where it stands now (due once its due date passed, closed once its outcome is paid)."""
    with session_scope(deps.engine) as session:
        last = ledger.last_payable(ledger.run_states(session, period=str(period)))
        paid = last is not None and not is_provisional(last.run)
        state = period_state(period, due_day=deps.contract.deadlines.due_day, now=deps.clock(), paid=paid)
        return repo.advance_period(session, period=str(period), to=state).state


def posted_runs(session: Session, *, period: Period) -> list[ledger.RunState]:
    """Every version of the period's run, oldest first; refused when there is none yet."""
    states = ledger.run_states(session, period=str(period))
    if not states:
        raise UsageError(f"no payment run for {period} yet: run `alliance cycle run --period {period}` first")
    return states
