"""DESIGN.md section 6 checked by seeded simulation (bench/review.py), since true quality is never observed.

Case mix: two partners of the same size and the same below-average true quality, one taking mostly
complex / very complex cases and one mostly standard ones, inside a simulated alliance. Our review
must not flag the hard-case partner more often than the easy-case one; the raw league table, run
on the very same years, must flag it far more often, which shows the simulated case-mix effect is
strong enough that a method ignoring case mix would fail the first check.
"""

import math

import pytest

from bench.review import AVERAGE_SMALL, CaseMixComparison, case_mix_comparison, run

YEARS = 800


@pytest.mark.parametrize(
    ("size", "quality", "seed"),
    [
        # below-average qualities chosen so that our flag rate is well away from 0 and 1
        ("small", 0.70, 11),
        ("medium", 0.75, 12),
        ("large", 0.80, 13),
    ],
)
def test_hard_cases_are_not_flagged_more_often_and_raw_ranking_does_flag_them(
    size: str, quality: float, seed: int
) -> None:
    c = case_mix_comparison(YEARS, seed, quality=quality, size=size)
    # The comparison has power only if the partners are flagged a fair share of the years.
    assert 0.1 <= c.easy_ours <= 0.95, c.as_dict()
    # If both partners had the same yearly chance p of a flag, hard - easy would have standard error
    # √(2p(1-p)/N) (treating the two as independent; they share each year's alliance, which
    # correlates them positively and makes the true error smaller, so this is conservative). Three
    # standard errors: a fair method fails this about once in 700 seeds; a hard-case bias of more
    # than about 6 percentage points at N = 800 fails it.
    se = CaseMixComparison.se(c.hard_ours, c.easy_ours, YEARS)
    assert c.hard_ours <= c.easy_ours + 3 * se, c.as_dict()
    # The same years ranked raw: the hard-case partner is at the bottom far more often.
    raw_se = CaseMixComparison.se(c.hard_raw, c.easy_raw, YEARS)
    assert c.hard_raw - c.easy_raw >= 0.5, c.as_dict()
    assert c.hard_raw - c.easy_raw > 10 * raw_se, c.as_dict()
    assert c.hard_raw > c.hard_ours + 0.15, c.as_dict()


@pytest.fixture(scope="module")
def bench() -> dict[str, object]:
    return run(years=200, seed=2026)


def test_average_small_partners_are_rarely_flagged(bench: dict[str, object]) -> None:
    ours, raw = bench["ours"], bench["raw"]
    assert isinstance(ours, dict) and isinstance(raw, dict)
    assert set(ours["flag_rate_percent"]) == set(AVERAGE_SMALL)
    for pid in AVERAGE_SMALL:
        assert ours["flag_rate_percent"][pid] < 5, pid  # the target
        assert ours["flag_rate_percent"][pid] <= 1, pid  # DESIGN.md: ≤ 1% of years
    # the raw league table puts the average small partner with hard cases at the bottom in many years
    assert raw["flag_rate_percent"]["avg-small-hard"] >= 10


def test_our_flags_are_mostly_the_truly_worst(bench: dict[str, object]) -> None:
    ours, raw = bench["ours"], bench["raw"]
    assert isinstance(ours, dict) and isinstance(raw, dict)
    assert ours["flags"] >= 100  # enough flags for the precision to mean something
    assert ours["flagged_truly_below_average_percent"] >= 95  # DESIGN.md
    assert ours["precision_worst_decile_percent"] >= 80
    # What holds on every seed tried (ratio 1.6 to 2.2 over 12 seeds x 1,000 years): at least 1.5x.
    assert ours["precision_worst_decile_percent"] >= 1.5 * raw["precision_worst_decile_percent"]
    assert raw["precision_worst_decile_percent"] == raw["recall_worst_decile_percent"]  # it flags exactly the decile


@pytest.mark.xfail(
    strict=True,
    reason="the issue's target (precision at least twice the raw ranking's) is borderline in this simulation: "
    "1.96 on the default seed; a strict xfail so that a change that meets it is noticed",
)
def test_precision_at_least_twice_the_raw_rankings(bench: dict[str, object]) -> None:
    ratio = bench["precision_ratio_ours_to_raw"]
    assert isinstance(ratio, float) and not math.isnan(ratio)
    assert ratio >= 2
