"""The payment rules (DESIGN.md section 5): core instalments, outcome points, alliance factor.

Pure: inputs are the contract, the period and each partner's points; output is every line
with the figures that explain it. Integer pence throughout; Decimal for rates and points.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext

from domain.contract import Contract
from domain.money import apply_rate, largest_remainder, money_context, split_evenly
from domain.periods import Period, contract_month

# The kinds of payment line: what a run makes due, and what corrects an earlier version.
ENTITLEMENT_KINDS = ("core", "outcome")
LINE_KINDS = (*ENTITLEMENT_KINDS, "adjustment")


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
    """The percent of the latest step-down for the partner that has started by ``period``."""
    applicable = [s for s in step_downs if s.partner_id == partner_id and s.from_period <= period]
    return max(applicable, key=lambda s: s.from_period).percent if applicable else 0


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
