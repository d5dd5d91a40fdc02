from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.contract import Contract
from domain.money import apply_rate
from domain.payments import StepDown, alliance_factor, calculate_payments, core_instalment, monthly_pool
from domain.periods import Period

OCTOBER = Period(2026, 10)  # month 7 of contract year 1


def test_worked_example_by_hand(contract: Contract) -> None:
    # T = 3*40 + 2*25 + 1*90 = 260 points. A = 100 + 30 + 0 = 130, so A/T = 0.5 -> collar 0.8.
    # Monthly pool = 600000.00 / 12 = 50000.00; payable = 50000.00 * 0.8 = 40000.00.
    # Shares: city-mind 100/130 * 4,000,000p = 3,076,923.08p, harbour 30/130 = 923,076.92p.
    result = calculate_payments(contract, OCTOBER, {"city-mind": Decimal(100), "harbour-trust": Decimal(30)})
    assert result.month_of_year == 7
    assert result.target_points == Decimal(260)
    assert result.alliance_factor == Decimal("0.8")
    assert result.pool_pence == 5_000_000
    assert result.payable_pence == 4_000_000
    lines = {p.partner_id: p for p in result.partners}
    assert lines["city-mind"].outcome_pence == 3_076_923
    assert lines["harbour-trust"].outcome_pence == 923_077  # the larger remainder gets the penny
    assert lines["northfield-works"].outcome_pence == 0
    # Core: 310,000.50 / 12 = 25,833.375 -> 2,583,338p for months 1-4 and 2,583,337p for months 5-12.
    assert lines["city-mind"].core_pence == 2_583_337
    assert lines["harbour-trust"].core_pence == 400_000


def test_factor_is_capped_and_collared() -> None:
    assert alliance_factor(Decimal(500), Decimal(260), Decimal("0.8"), Decimal("1.2")) == Decimal("1.2")
    assert alliance_factor(Decimal(100), Decimal(260), Decimal("0.8"), Decimal("1.2")) == Decimal("0.8")
    assert alliance_factor(Decimal(260), Decimal(260), Decimal("0.8"), Decimal("1.2")) == Decimal(1)


def test_no_points_pays_no_outcome_but_all_core(contract: Contract) -> None:
    result = calculate_payments(contract, OCTOBER, {})
    assert result.payable_pence == 0
    assert all(p.outcome_pence == 0 for p in result.partners)
    assert all(p.core_pence > 0 for p in result.partners)


def test_a_step_down_reduces_core_from_its_period_onwards(contract: Contract) -> None:
    step = [StepDown("harbour-trust", Period(2026, 11), 25)]
    before = {p.partner_id: p for p in calculate_payments(contract, OCTOBER, {}, step).partners}
    after = {p.partner_id: p for p in calculate_payments(contract, Period(2026, 11), {}, step).partners}
    assert before["harbour-trust"].core_pence == 400_000
    assert after["harbour-trust"].core_pence == 300_000
    assert after["city-mind"].step_down_percent == 0


def test_core_instalments_add_up_to_the_annual_core(contract: Contract) -> None:
    for partner in contract.partners:
        months = [core_instalment(partner.annual_core_pence, m) for m in range(1, 13)]
        assert sum(months) == partner.annual_core_pence


points = st.decimals(min_value=0, max_value=5000, places=1, allow_nan=False, allow_infinity=False)


def test_points_for_an_unknown_partner_are_refused(contract: Contract) -> None:
    with pytest.raises(ValueError, match="not in the contract"):
        calculate_payments(contract, OCTOBER, {"nobody": Decimal(1)})


pools = st.integers(min_value=0, max_value=10**11)  # annual pool in pence, down to a few pence
partner_points = st.fixed_dictionaries({pid: points for pid in ("city-mind", "harbour-trust", "northfield-works")})


@given(
    pool=pools,
    before=partner_points,
    who=st.sampled_from(["city-mind", "harbour-trust", "northfield-works"]),
    rise=st.decimals(min_value="0.5", max_value=500, places=1, allow_nan=False, allow_infinity=False),
    month=st.integers(min_value=0, max_value=11),
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_partner_is_paid_less_for_more_points(
    contract: Contract, pool: int, before: dict[str, Decimal], who: str, rise: Decimal, month: int
) -> None:
    priced = contract.model_copy(
        update={"payments": contract.payments.model_copy(update={"annual_outcome_pool": Decimal(pool) / 100})}
    )
    period = Period(2026, 4).plus(month)
    after = {**before, who: before[who] + rise}
    paid_before = {p.partner_id: p for p in calculate_payments(priced, period, before).partners}
    paid_after = {p.partner_id: p for p in calculate_payments(priced, period, after).partners}
    assert paid_after[who].outcome_pence >= paid_before[who].outcome_pence
    assert paid_after[who].core_pence == paid_before[who].core_pence


@given(pool=pools, points_now=partner_points, month=st.integers(min_value=0, max_value=11))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_split_sums_to_its_total(
    contract: Contract, pool: int, points_now: dict[str, Decimal], month: int
) -> None:
    priced = contract.model_copy(
        update={"payments": contract.payments.model_copy(update={"annual_outcome_pool": Decimal(pool) / 100})}
    )
    result = calculate_payments(priced, Period(2026, 4).plus(month), points_now)
    assert sum(p.outcome_pence for p in result.partners) == result.payable_pence
    assert sum(monthly_pool(pool, m) for m in range(1, 13)) == pool
    assert Decimal("0.8") <= result.alliance_factor <= Decimal("1.2")
    assert result.payable_pence == (
        apply_rate(result.pool_pence, result.alliance_factor) if any(points_now.values()) else 0
    )
