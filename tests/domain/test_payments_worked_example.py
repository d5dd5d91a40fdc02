"""A worked example of DESIGN.md section 5, every figure derived by hand in the comments.

Six partners, the three measures and three bands of the example framework, two months: April
2026 (month 1), where the alliance beats its target and the factor hits the cap, and December
2026 (month 9), where it falls short and the factor hits the collar.
"""

from datetime import date
from decimal import Decimal

import pytest

from domain.contract import Contract
from domain.payments import StepDown, calculate_payments, entitlement_lines
from domain.periods import Period
from domain.returns import ParticipantRow, points_breakdown

APRIL, DECEMBER = Period(2026, 4), Period(2026, 12)

# Annual core in pounds, and what it makes a month (largest remainder over 12 instalments, the
# spare pennies going to the earliest months):
#   anchor-housing   120,000.60 = 12,000,060p / 12 = 1,000,005p every month
#   bridges-recovery  48,000.07 =  4,800,007p / 12 =   400,000.58: 7 spare pennies -> months 1-7 400,001p, then 400,000p
#   city-works       310,000.50 = 31,000,050p / 12 = 2,583,337.5:  6 spare -> months 1-6 2,583,338p, then 2,583,337p
#   dales-advice      60,000.00 =  6,000,000p / 12 =   500,000p every month
#   east-homes        90,000.11 =  9,000,011p / 12 =   750,000.92: 11 spare -> months 1-11 750,001p, month 12 750,000p
#   fern-women        36,000.05 =  3,600,005p / 12 =   300,000.42: 5 spare -> months 1-5 300,001p, then 300,000p
CORES = {
    "anchor-housing": "120000.60",
    "bridges-recovery": "48000.07",
    "city-works": "310000.50",
    "dales-advice": "60000",
    "east-homes": "90000.11",
    "fern-women": "36000.05",
}


@pytest.fixture
def six_partners() -> Contract:
    return Contract.model_validate(
        {
            "alliance": {"name": "Worked Example Alliance", "commissioner": "Council", "contract_start": "2026-04"},
            "partners": [
                {
                    "id": pid,
                    "name": pid.title(),
                    "size": "medium",
                    "annual_core": Decimal(core),
                    "slack_channel": f"#{pid}",
                }
                for pid, core in CORES.items()
            ],
            "framework": {
                "version": 1,
                # T = 3 x 40 + 2 x 25 + 1 x 90 = 260 points a month
                "bands": {"standard": Decimal("1.0"), "complex": Decimal("1.5"), "very_complex": Decimal("2.0")},
                "measures": [
                    {"id": "housing_sustained", "label": "Housing", "weight": 3, "monthly_target": 40},
                    {"id": "into_work", "label": "Work", "weight": 2, "monthly_target": 25},
                    {"id": "wellbeing_up", "label": "Wellbeing", "weight": 1, "monthly_target": 90},
                ],
            },
            # Monthly pool 600,000.00 / 12 = 50,000.00 = 5,000,000p
            "payments": {"annual_outcome_pool": Decimal(600000), "collar": Decimal("0.8"), "cap": Decimal("1.2")},
            "deadlines": {"due_day": 14},
        }
    )


def rows(cells: dict[tuple[str, str], int]) -> list[ParticipantRow]:
    """One participant row per outcome achieved: ``count`` rows achieving ``measure`` in ``band``."""
    out = []
    for (measure, band), count in cells.items():
        for n in range(count):
            out.append(ParticipantRow(f"{measure[:2]}-{band[:2]}-{n}", date(2026, 4, 1), band, frozenset({measure})))
    return out


# April: points per measure and band (weight x multiplier per outcome)
APRIL_CELLS = {
    # 20 x 3 x 1.0 = 60, 10 x 3 x 1.5 = 45, 5 x 2 x 1.0 = 10: P = 115
    "anchor-housing": {
        ("housing_sustained", "standard"): 20,
        ("housing_sustained", "complex"): 10,
        ("into_work", "standard"): 5,
    },
    # 30 x 1 x 1.0 = 30, 10 x 1 x 2.0 = 20: P = 50
    "bridges-recovery": {("wellbeing_up", "standard"): 30, ("wellbeing_up", "very_complex"): 10},
    # 20 x 2 x 1.5 = 60, 5 x 3 x 2.0 = 30: P = 90
    "city-works": {("into_work", "complex"): 20, ("housing_sustained", "very_complex"): 5},
    # 14 x 1 x 1.5 = 21: P = 21
    "dales-advice": {("wellbeing_up", "complex"): 14},
    # 16 x 3 x 1.0 = 48, 11 x 2 x 2.0 = 44: P = 92
    "east-homes": {("housing_sustained", "standard"): 16, ("into_work", "very_complex"): 11},
    # 33 x 1 x 1.0 = 33: P = 33
    "fern-women": {("wellbeing_up", "standard"): 33},
}

# December: bridges-recovery has no accepted return (it earns no outcome payment yet)
DECEMBER_CELLS = {
    # 10 x 3 x 1.0 = 30, 4 x 1 x 1.5 = 6, 2 x 2 x 1.0 = 4: P = 40
    "anchor-housing": {
        ("housing_sustained", "standard"): 10,
        ("wellbeing_up", "complex"): 4,
        ("into_work", "standard"): 2,
    },
    # 11 x 2 x 1.5 = 33
    "city-works": {("into_work", "complex"): 11},
    # 3 x 1 x 2.0 = 6, 1 x 1 x 1.0 = 1: P = 7
    "dales-advice": {("wellbeing_up", "very_complex"): 3, ("wellbeing_up", "standard"): 1},
    # 10 x 3 x 1.5 = 45
    "east-homes": {("housing_sustained", "complex"): 10},
    # 1 x 3 x 2.0 = 6
    "fern-women": {("housing_sustained", "very_complex"): 1},
}


def points_of(contract: Contract, cells: dict[str, dict[tuple[str, str], int]]) -> dict[str, Decimal]:
    return {pid: points_breakdown(rows(c), contract.framework).total for pid, c in cells.items()}


def test_april_the_factor_hits_the_cap(six_partners: Contract) -> None:
    points = points_of(six_partners, APRIL_CELLS)
    assert points == {
        "anchor-housing": 115,
        "bridges-recovery": 50,
        "city-works": 90,
        "dales-advice": 21,
        "east-homes": 92,
        "fern-women": 33,
    }
    result = calculate_payments(six_partners, APRIL, points)
    # A = 115 + 50 + 90 + 21 + 92 + 33 = 401; A / T = 401 / 260 = 1.542 > cap, so f = 1.2
    assert result.alliance_points == 401
    assert result.target_points == 260
    assert result.alliance_factor == Decimal("1.2")
    # payable = 5,000,000p x 1.2 = 6,000,000p (no rounding needed)
    assert result.pool_pence == 5_000_000
    assert result.payable_pence == 6_000_000
    # Exact shares P x 6,000,000 / 401, floor, remainder (in 401ths):
    #   anchor   115 -> 1,720,698 + 102/401      bridges 50 -> 748,129 + 271/401
    #   city      90 -> 1,346,633 + 167/401      dales   21 -> 314,214 + 186/401
    #   east      92 -> 1,376,558 + 242/401      fern    33 -> 493,765 + 235/401
    # Floors sum to 5,999,997: 3 pennies left, to the largest remainders: bridges (271),
    # east (242), fern (235).
    outcome = {p.partner_id: p.outcome_pence for p in result.partners}
    assert outcome == {
        "anchor-housing": 1_720_698,
        "bridges-recovery": 748_130,
        "city-works": 1_346_633,
        "dales-advice": 314_214,
        "east-homes": 1_376_559,
        "fern-women": 493_766,
    }
    assert sum(outcome.values()) == 6_000_000
    # Core, month 1: the spare pennies of every uneven annual core fall in month 1
    core = {p.partner_id: p.core_pence for p in result.partners}
    assert core == {
        "anchor-housing": 1_000_005,
        "bridges-recovery": 400_001,
        "city-works": 2_583_338,
        "dales-advice": 500_000,
        "east-homes": 750_001,
        "fern-women": 300_001,
    }


def test_december_the_factor_hits_the_collar_and_a_step_down_rounds_half_even(six_partners: Contract) -> None:
    points = points_of(six_partners, DECEMBER_CELLS)
    step_downs = [StepDown("anchor-housing", Period(2026, 12), 10)]
    result = calculate_payments(six_partners, DECEMBER, points, step_downs)
    # A = 40 + 0 + 33 + 7 + 45 + 6 = 131; A / T = 131 / 260 = 0.504 < collar, so f = 0.8
    assert result.month_of_year == 9
    assert result.alliance_points == 131
    assert result.alliance_factor == Decimal("0.8")
    # payable = 5,000,000p x 0.8 = 4,000,000p
    assert result.payable_pence == 4_000_000
    # Exact shares P x 4,000,000 / 131:
    #   anchor 40 -> 160,000,000/131 = 1,221,374.046   city 33 -> 1,007,633.588
    #   dales   7 ->   213,740.458                       east 45 -> 1,374,045.802
    #   fern    6 ->   183,206.107                       bridges 0 -> 0
    # Floors sum to 3,999,998: 2 pennies to the largest remainders, east (.802) and city (.588).
    outcome = {p.partner_id: p.outcome_pence for p in result.partners}
    assert outcome == {
        "anchor-housing": 1_221_374,
        "bridges-recovery": 0,
        "city-works": 1_007_634,
        "dales-advice": 213_740,
        "east-homes": 1_374_046,
        "fern-women": 183_206,
    }
    # Core, month 9. anchor-housing: 1,000,005p less 10% = 100,000.5p, half-even to 100,000p, so
    # 900,005p. bridges (months 1-7 had the spare pennies) 400,000p; city 2,583,337p; east
    # (months 1-11) 750,001p; fern 300,000p.
    core = {p.partner_id: p.core_pence for p in result.partners}
    assert core == {
        "anchor-housing": 900_005,
        "bridges-recovery": 400_000,
        "city-works": 2_583_337,
        "dales-advice": 500_000,
        "east-homes": 750_001,
        "fern-women": 300_000,
    }


def test_each_line_states_how_it_was_computed(six_partners: Contract) -> None:
    breakdowns = {pid: points_breakdown(rows(c), six_partners.framework) for pid, c in DECEMBER_CELLS.items()}
    result = calculate_payments(
        six_partners, DECEMBER, {p: b.total for p, b in breakdowns.items()}, [StepDown("anchor-housing", DECEMBER, 10)]
    )
    lines = entitlement_lines(six_partners, result, {p: b.by_measure_band for p, b in breakdowns.items()})
    by = {(line.partner_id, line.kind): line for line in lines}
    anchor = by[("anchor-housing", "outcome")]
    assert anchor.working["cells"] == [
        ["housing_sustained", "standard", 10, "30.0"],
        ["into_work", "standard", 2, "4.0"],
        ["wellbeing_up", "complex", 4, "6.0"],
    ]
    assert anchor.working["alliance_factor"] == "0.8"
    assert anchor.working["exact_share_pence"] == "1221374.0458"
    assert "40.0 of the alliance's 131.0 points" in anchor.explanation
    core = by[("anchor-housing", "core")]
    assert core.amount_pence == 900_005
    assert "10% step-down of £1,000.00" in core.explanation
    assert by[("bridges-recovery", "outcome")].explanation.startswith("No accepted return")
