"""The payment rules (DESIGN.md section 5): core instalments, outcome points, alliance factor.

Pure: inputs are the contract, the period and each partner's points; output is every line
with the figures that explain it. Integer pence throughout; Decimal for rates and points.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from domain.contract import Contract
from domain.money import apply_rate, format_pounds, largest_remainder, money_context, split_evenly
from domain.periods import Period, contract_month
from domain.settlement import SETTLEMENT_KINDS

# The kinds of payment line: what a run makes due, what corrects an earlier version, and what carries between runs.
ENTITLEMENT_KINDS = ("core", "outcome")
LINE_KINDS = (*ENTITLEMENT_KINDS, "adjustment", *SETTLEMENT_KINDS)


@dataclass(frozen=True)
class StepDown:
    """A board-approved reduction of a partner's core funding from a period onwards."""

    partner_id: str
    from_period: Period
    percent: int  # 100 = funding withdrawn


@dataclass(frozen=True)
class PartnerPayment:
    partner_id: str
    core_instalment_pence: int  # the 1/12 of annual core before any step-down
    step_down_percent: int
    core_pence: int
    points: Decimal
    outcome_pence: int

    @property
    def total_pence(self) -> int:
        return self.core_pence + self.outcome_pence


@dataclass(frozen=True)
class PaymentCalculation:
    period: Period
    contract_year: int
    month_of_year: int
    target_points: Decimal
    alliance_points: Decimal
    alliance_factor: Decimal
    pool_pence: int
    payable_pence: int
    partners: tuple[PartnerPayment, ...]

    @property
    def outcome_total_pence(self) -> int:
        return sum(p.outcome_pence for p in self.partners)


def core_instalment(annual_core_pence: int, month_of_year: int) -> int:
    return split_evenly(annual_core_pence, 12)[month_of_year - 1]


def monthly_pool(annual_pool_pence: int, month_of_year: int) -> int:
    return split_evenly(annual_pool_pence, 12)[month_of_year - 1]


def alliance_factor(alliance_points: Decimal, target_points: Decimal, collar: Decimal, cap: Decimal) -> Decimal:
    """f = min(cap, max(collar, A / T)); with no target the factor is 1 (nothing to compare)."""
    with localcontext(money_context()):
        ratio = alliance_points / target_points if target_points > 0 else Decimal(1)
        return min(cap, max(collar, ratio))


def step_down_in_force(step_downs: list[StepDown], partner_id: str, period: Period) -> int:
    """The percent of the latest step-down for the partner that has started by ``period``.

    ``step_downs`` are in the order they were decided: of two from the same month, the later decision governs.
    """
    applicable = [(s.from_period, i) for i, s in enumerate(step_downs) if s.partner_id == partner_id]
    started = [key for key in applicable if key[0] <= period]
    return step_downs[max(started)[1]].percent if started else 0


def calculate_payments(
    contract: Contract,
    period: Period,
    points: Mapping[str, Decimal],
    step_downs: list[StepDown] | None = None,
) -> PaymentCalculation:
    """Every partner's core and outcome payment for ``period``.

    ``points`` holds P_i for partners with an accepted return; a partner without one earns
    no outcome payment this run (a late return is paid later as a correction) but still gets
    its core instalment.
    """
    unknown = sorted(set(points) - set(contract.partner_ids))
    if unknown:
        raise ValueError(f"points given for partners not in the contract: {unknown}")
    year, month = contract_month(period, contract.alliance.start)
    with localcontext(money_context()):
        partner_points = {pid: Decimal(points.get(pid, Decimal(0))) for pid in contract.partner_ids}
        if any(p < 0 for p in partner_points.values()):
            raise ValueError("points must not be negative")
        alliance_points = sum(partner_points.values(), Decimal(0))
        target = contract.framework.target_points()
        factor = alliance_factor(alliance_points, target, contract.payments.collar, contract.payments.cap)
        pool = monthly_pool(contract.payments.annual_outcome_pool_pence, month)
        payable = apply_rate(pool, factor) if alliance_points > 0 else 0
        outcome = largest_remainder(payable, partner_points)
        lines = []
        for partner in sorted(contract.partners, key=lambda p: p.id):
            instalment = core_instalment(partner.annual_core_pence, month)
            percent = step_down_in_force(step_downs or [], partner.id, period)
            core = instalment - apply_rate(instalment, Decimal(percent) / 100)
            lines.append(
                PartnerPayment(
                    partner_id=partner.id,
                    core_instalment_pence=instalment,
                    step_down_percent=percent,
                    core_pence=core,
                    points=partner_points[partner.id],
                    outcome_pence=outcome[partner.id],
                )
            )
    return PaymentCalculation(
        period=period,
        contract_year=year,
        month_of_year=month,
        target_points=target,
        alliance_points=alliance_points,
        alliance_factor=factor,
        pool_pence=pool,
        payable_pence=payable,
        partners=tuple(lines),
    )


# --- How each line was computed -------------------------------------------------------------


@dataclass(frozen=True)
class Withdrawn:
    """A claim not counted: a spot check found it not verified (domain.spot_checks)."""

    participant_id: str
    measure: str
    band: str
    points: Decimal


@dataclass(frozen=True)
class LineDraft:
    """One payment line before it is stored: the amount, and the working that explains it."""

    partner_id: str
    kind: str  # one of LINE_KINDS
    amount_pence: int
    explanation: str
    working: dict[str, object]
    points: Decimal | None = None


def core_line(contract: Contract, calculation: PaymentCalculation, payment: PartnerPayment) -> LineDraft:
    partner = contract.partner(payment.partner_id)
    assert partner is not None
    text = (
        f"Core instalment {calculation.month_of_year} of 12 of the annual core "
        f"{format_pounds(partner.annual_core_pence)}: {format_pounds(payment.core_instalment_pence)}"
    )
    if payment.step_down_percent:
        reduction = payment.core_instalment_pence - payment.core_pence
        text += f", less the board-approved {payment.step_down_percent}% step-down of {format_pounds(reduction)}"
    return LineDraft(
        partner_id=payment.partner_id,
        kind="core",
        amount_pence=payment.core_pence,
        explanation=text,
        working={
            "annual_core_pence": partner.annual_core_pence,
            "month_of_year": calculation.month_of_year,
            "instalment_pence": payment.core_instalment_pence,
            "step_down_percent": payment.step_down_percent,
        },
    )


WITHDRAWN_LISTED = 10


def outcome_line(
    calculation: PaymentCalculation,
    payment: PartnerPayment,
    cells: Mapping[tuple[str, str], tuple[int, Decimal]],
    withdrawn: Sequence[Withdrawn] = (),
    provisional: str | None = None,
) -> LineDraft:
    """The outcome line, with points per measure and band, the factor and the share.

    ``cells`` maps (measure, band) to (rows achieving it, points), withdrawn claims already left out;
    empty when the partner has no accepted return for the period. ``withdrawn`` says which were.
    ``provisional``: the outcome pool is not paid yet, and says when it will be: the line shows the figure
    and pays nothing.
    """
    with localcontext(money_context()):
        exact_share = (
            Decimal(calculation.payable_pence) * payment.points / calculation.alliance_points
            if calculation.alliance_points > 0
            else Decimal(0)
        )
    working: dict[str, object] = {
        "cells": [[m, b, count, str(points)] for (m, b), (count, points) in sorted(cells.items())],
        "partner_points": str(payment.points),
        "alliance_points": str(calculation.alliance_points),
        "target_points": str(calculation.target_points),
        "alliance_factor": str(calculation.alliance_factor),
        "pool_pence": calculation.pool_pence,
        "payable_pence": calculation.payable_pence,
        "exact_share_pence": str(exact_share.quantize(Decimal("0.0001"))),
    }
    if withdrawn:
        working["withdrawn"] = [[w.participant_id, w.measure, w.band, str(w.points)] for w in withdrawn]
    if provisional is not None:
        working["provisional_pence"] = payment.outcome_pence
        text = (
            f"Provisional: {format_pounds(payment.outcome_pence)} on the returns accepted so far "
            f"({payment.points} of the alliance's {calculation.alliance_points} points), nothing paid yet: the "
            f"outcome pool for {calculation.period} is paid {provisional}"
        )
        return LineDraft(payment.partner_id, "outcome", 0, text, working, points=payment.points)
    if not cells:
        text = "No accepted return for this period: no outcome payment yet (a late return is paid as a correction)"
    else:
        points = "; ".join(f"{m} x {b}: {count} achieved = {p} points" for (m, b), (count, p) in sorted(cells.items()))
        text = (
            f"{payment.points} of the alliance's {calculation.alliance_points} points x payable "
            f"{format_pounds(calculation.payable_pence)} (monthly pool {format_pounds(calculation.pool_pence)} "
            f"x alliance factor {calculation.alliance_factor:.4f}; target {calculation.target_points} points) = "
            f"{exact_share:.4f}p, paid {format_pounds(payment.outcome_pence)} to the penny. {points}"
        )
    if withdrawn:
        listed = "; ".join(
            f"{w.participant_id} {w.measure} ({w.band}, {w.points} points)" for w in withdrawn[:WITHDRAWN_LISTED]
        )
        if len(withdrawn) > WITHDRAWN_LISTED:
            listed += f" and {len(withdrawn) - WITHDRAWN_LISTED} more"
        text += (
            f". Not counted: {len(withdrawn)} claim(s) withdrawn after spot checks found them not verified "
            f"({sum((w.points for w in withdrawn), Decimal(0))} points: {listed})"
        )
    return LineDraft(
        partner_id=payment.partner_id,
        kind="outcome",
        amount_pence=payment.outcome_pence,
        explanation=text,
        working=working,
        points=payment.points,
    )


def entitlement_lines(
    contract: Contract,
    calculation: PaymentCalculation,
    cells_by_partner: Mapping[str, Mapping[tuple[str, str], tuple[int, Decimal]]],
    withdrawn_by_partner: Mapping[str, Sequence[Withdrawn]] | None = None,
    provisional: str | None = None,
) -> list[LineDraft]:
    """Core then outcome line for every partner, in partner id order (``provisional``: see outcome_line)."""
    lines: list[LineDraft] = []
    withdrawn_by_partner = withdrawn_by_partner or {}
    for payment in calculation.partners:
        lines.append(core_line(contract, calculation, payment))
        cells = cells_by_partner.get(payment.partner_id, {})
        withdrawn = withdrawn_by_partner.get(payment.partner_id, ())
        lines.append(outcome_line(calculation, payment, cells, withdrawn, provisional))
    return lines


@dataclass(frozen=True)
class PaidBefore:
    """What an earlier payable version of the period made due to one partner, by kind."""

    partner_id: str
    kind: str
    amount_pence: int


def adjustment_lines(
    period: Period,
    new: list[LineDraft],
    paid_before: list[PaidBefore],
    base_version: int,
    outcome_reasons: Mapping[str, str] | None = None,
    terms_changed: bool = False,
    provisional_before: bool = False,
) -> list[LineDraft]:
    """For a correcting version: per partner and kind, take off what version ``base_version``
    already made due, so that the version pays exactly the difference.

    Only ``paid_before``'s core and outcome lines count: a payable version restates the whole
    period, so once it is paid they alone are what the period has been paid. ``outcome_reasons``
    says, per partner, why its outcome changed when the records alone do not (claims withdrawn);
    ``terms_changed``: the contract's payment terms differ from those ``base_version`` was made under
    (a restated month is computed under the terms in force now, and each line says so); ``provisional_before``:
    ``base_version`` paid no outcome (the pool was not due), so this version's outcome is its first payment.
    """
    before: dict[tuple[str, str], int] = {}
    for item in paid_before:
        if item.kind not in ENTITLEMENT_KINDS:
            continue
        before[(item.partner_id, item.kind)] = before.get((item.partner_id, item.kind), 0) + item.amount_pence
    now: dict[tuple[str, str], int] = {}
    for line in new:
        if line.kind in ENTITLEMENT_KINDS:
            now[(line.partner_id, line.kind)] = now.get((line.partner_id, line.kind), 0) + line.amount_pence
    adjustments = []
    for partner_id, kind in sorted(set(before) | set(now)):
        was, is_now = before.get((partner_id, kind), 0), now.get((partner_id, kind), 0)
        change = is_now - was
        text = (
            f"{kind.capitalize()} for {period} was {format_pounds(was)} under version {base_version} and is now "
            f"{format_pounds(is_now)}: less the {format_pounds(was)} already paid, so this version pays "
            f"{'+' if change >= 0 else ''}{format_pounds(change)}"
        )
        if kind == "outcome" and provisional_before:
            text = (
                f"Outcome for {period} was provisional under version {base_version} (nothing paid); "
                f"this version pays it: {format_pounds(is_now)}"
            )
        reasons = [(outcome_reasons or {}).get(partner_id, "") if kind == "outcome" else ""]
        if terms_changed and change:
            reasons.append(f"the contract's payment terms changed since version {base_version}")
        if any(reasons):
            text += f" ({'; '.join(r for r in reasons if r)})"
        adjustments.append(
            LineDraft(
                partner_id=partner_id,
                kind="adjustment",
                amount_pence=-was,
                explanation=text,
                working={
                    "of_kind": kind,
                    "base_version": base_version,
                    "was_pence": was,
                    "now_pence": is_now,
                    **({"why": "; ".join(r for r in reasons if r)} if any(reasons) else {}),
                },
            )
        )
    return adjustments
