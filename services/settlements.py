"""What carries between runs (domain.settlement): balances read from the payable runs' lines, the lines that
carry, recover or bring forward in a new run, and the debts officers must invoice."""

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from domain.contract import Contract
from domain.money import apply_rate, format_pounds
from domain.payments import LineDraft, StepDown, core_instalment, step_down_in_force
from domain.periods import Period, contract_month
from domain.settlement import (
    BROUGHT_FORWARD,
    CARRIED,
    RECOVERY,
    SETTLEMENT_KINDS,
    Carried,
    Recoverability,
    Settlement,
    outstanding,
    recoverability,
    recovery_words,
    settle_all,
)
from models.tables import PaymentApproval, PaymentLine, PaymentRun


def _payable():  # type: ignore[no-untyped-def]
    return or_(col(PaymentRun.requires_approval).is_(False), col(PaymentApproval.id).is_not(None))


def balances(session: Session) -> dict[str, int]:
    """Per partner: what it is owed (> 0) or owes (< 0) from amounts payable runs carried and settled."""
    query = (
        select(PaymentLine.partner_id, func.sum(PaymentLine.amount_pence))
        .join(PaymentRun, col(PaymentRun.id) == col(PaymentLine.run_id))
        .outerjoin(PaymentApproval, col(PaymentApproval.run_id) == col(PaymentRun.id))
        .where(col(PaymentLine.kind).in_(SETTLEMENT_KINDS), _payable())
        .group_by(col(PaymentLine.partner_id))
    )
    return {pid: -int(total) for pid, total in session.exec(query) if total}  # type: ignore[call-overload]


def _history(session: Session, partner_id: str) -> tuple[list[Carried], int]:
    """The partner's carried amounts in payable runs (oldest first) and what has been settled since, as recovered."""
    query = (
        select(PaymentLine.kind, PaymentLine.amount_pence, PaymentRun.period, PaymentRun.version)
        .join(PaymentRun, col(PaymentRun.id) == col(PaymentLine.run_id))
        .outerjoin(PaymentApproval, col(PaymentApproval.run_id) == col(PaymentRun.id))
        .where(PaymentLine.partner_id == partner_id, col(PaymentLine.kind).in_(SETTLEMENT_KINDS), _payable())
        .order_by(col(PaymentLine.id))
    )
    history: list[Carried] = []
    recovered = 0
    for kind, amount, period, version in session.exec(query):  # type: ignore[call-overload]
        if kind == CARRIED:
            history.append(Carried(f"{period}/v{version}", -amount))
        else:
            recovered -= amount
    return history, recovered


def settlement_lines(
    session: Session, *, contract: Contract, period: Period, drafts: list[LineDraft], correction: bool
) -> tuple[list[LineDraft], list[Settlement]]:
    """The carried, recovery and brought-forward lines a new run adds, and every partner's settlement."""
    nets: dict[str, int] = {pid: 0 for pid in contract.partner_ids}
    for draft in drafts:
        nets[draft.partner_id] = nets.get(draft.partner_id, 0) + draft.amount_pence
    terms = contract.payments
    settlements = settle_all(
        nets,
        {pid: b for pid, b in balances(session).items() if pid in nets},
        correction=correction,
        max_share=terms.recovery_max_share,
        notify_min_pence=terms.notify_change_pence,
    )
    seen = {s.partner_id: s.balance_before_pence for s in settlements}
    for draft in drafts:  # what every partner's balance was, so a draft can tell it changed before approval
        if draft.kind == "core":
            draft.working["balance_before_pence"] = seen.get(draft.partner_id, 0)
    share = f"{(terms.recovery_max_share * 100).normalize():f}%"
    lines: list[LineDraft] = []
    for s in settlements:
        working: dict[str, object] = {
            "net_pence": s.net_pence,
            "balance_before_pence": s.balance_before_pence,
            "balance_after_pence": s.balance_after_pence,
            "told": s.notify,
        }
        if s.carried_pence < 0 and s.notify:
            text = (
                f"This run reduces what you were paid for {period} by {format_pounds(-s.carried_pence)}: it is not "
                f"taken from this payment but recovered from your following payments, at most {share} of any one"
            )
            lines.append(LineDraft(s.partner_id, CARRIED, -s.carried_pence, text, working))
        elif s.carried_pence:
            text = (
                f"A change of {'+' if s.carried_pence > 0 else ''}{format_pounds(s.carried_pence)} for {period}, "
                f"under the {format_pounds(terms.notify_change_pence)} a statement is sent for: carried into your "
                "next statement"
            )
            lines.append(LineDraft(s.partner_id, CARRIED, -s.carried_pence, text, working))
        if s.settled_pence < 0:
            history, recovered = _history(session, s.partner_id)
            left = outstanding(history, recovered)
            working["sources"] = [[o.run, o.overpaid_pence, o.remaining_pence] for o in left]
            working["recovery_max_share"] = str(terms.recovery_max_share)
            text = recovery_words(left, -s.settled_pence, s.balance_after_pence, terms.recovery_max_share)
            lines.append(LineDraft(s.partner_id, RECOVERY, s.settled_pence, text, working))
        elif s.settled_pence > 0:
            text = (
                f"Changes under {format_pounds(terms.notify_change_pence)} carried from earlier corrections, "
                f"paid now: +{format_pounds(s.settled_pence)}"
            )
            if s.balance_before_pence > s.settled_pence:  # cannot happen: a positive balance is paid whole
                raise AssertionError("a positive balance is paid whole")
            lines.append(LineDraft(s.partner_id, BROUGHT_FORWARD, s.settled_pence, text, working))
    return lines, settlements


def stale_settlements(session: Session, run: PaymentRun) -> list[str]:
    """Partners whose balance changed since ``run`` (a draft) was computed: another run was paid since, so the draft
    would recover or pay back the wrong amount (or nothing where it now should)."""
    assert run.id is not None
    now = balances(session)
    lines = session.exec(
        select(PaymentLine).where(
            PaymentLine.run_id == run.id, col(PaymentLine.kind).in_(("core", RECOVERY, BROUGHT_FORWARD))
        )
    )
    seen = {}
    for line in lines:
        working = json.loads(line.working)
        if "balance_before_pence" in working:  # runs made before issue 27 did not record it
            seen[line.partner_id] = working["balance_before_pence"]
    return sorted(pid for pid, before in seen.items() if before != now.get(pid, 0))


@dataclass(frozen=True)
class Debt:
    partner_id: str
    name: str
    owed_pence: int
    check: Recoverability


def debts(session: Session, *, contract: Contract, period: Period, step_downs: list[StepDown]) -> list[Debt]:
    """Partners who owe money, and whether their core instalments of the next twelve months (after step-downs in
    force) can repay it within the cap: ``invoice`` when they cannot (funding withdrawn, or a debt larger than a
    year's recoveries), and officers invoice it rather than wait."""
    owed = {pid: -b for pid, b in balances(session).items() if b < 0}
    found = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        if partner.id not in owed:
            continue
        left = []
        for ahead in range(1, 13):
            later = period.plus(ahead)
            instalment = core_instalment(partner.annual_core_pence, contract_month(later, contract.alliance.start)[1])
            percent = step_down_in_force(step_downs, partner.id, later)
            left.append(instalment - apply_rate(instalment, Decimal(percent) / 100))
        check = recoverability(partner.id, owed[partner.id], left, contract.payments.recovery_max_share)
        found.append(Debt(partner.id, partner.name, owed[partner.id], check))
    return found


def partners_told(run: PaymentRun, lines: list[PaymentLine]) -> list[str]:
    """Who gets a statement for ``run``: everyone for a period's first payable version; for a correction, the
    partners whose payment changed by at least the notice threshold (the others' change is carried)."""
    if run.base_version is None:
        return sorted({line.partner_id for line in lines})
    net: dict[str, int] = {}
    silent, settled = set(), set()
    for line in lines:
        if line.kind in SETTLEMENT_KINDS:
            if line.kind == CARRIED and not json.loads(line.working).get("told", True):
                silent.add(line.partner_id)
            elif line.kind in (RECOVERY, BROUGHT_FORWARD):
                settled.add(line.partner_id)  # money moved for it: it is told (a notice threshold of 0 can do this)
            continue
        net[line.partner_id] = net.get(line.partner_id, 0) + line.amount_pence
    return sorted({pid for pid, amount in net.items() if amount and pid not in silent} | settled)
