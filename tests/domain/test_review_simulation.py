"""DESIGN.md section 6 checked by seeded simulation (bench/review.py, bench/review_league.py), since true quality
is never observed.

Targets (issue 29): the contract as shipped meets each of DESIGN.md's targets in contract year 1 and in later years
on a seeded simulation of the issue's generator, and the numpy mirror the bench runs gives the domain's verdicts.

Case mix: two partners of the same size and the same below-average true quality, one taking mostly
complex / very complex cases and one mostly standard ones, inside a simulated alliance. Our review
must not flag the hard-case partner more often than the easy-case one; the raw league table, run
on the very same years, must flag it far more often, which shows the simulated case-mix effect is
strong enough that a method ignoring case mix would fail the first check.

Persistence: with true quality that persists across years (AR(1), ρ = 0.8, bench/review.py), the
``review.persistence`` rule must raise precision and lose only a minority of the true detections.
"""

import itertools
from typing import Any

import numpy as np
import pytest

from bench import review_domain, review_targets
from bench import review_sim as sim
from bench.review import shipped_rule
from bench.review_league import (
    AVERAGE_SMALL,
    RHO,
    CaseMixComparison,
    Judged,
    case_mix_comparison,
    make_alliance,
    persistence_effect,
    run,
    run_scenarios,
    simulate_persistent,
    summarise,
)

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
        assert ours["flag_rate_percent"][pid] < 5, pid  # the issue's target
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


# --- Issue 29: DESIGN.md section 6's targets, for the contract as shipped, in year 1 and after -----------------
# A seeded simulation small enough for CI (bench.review_sim's generator; `python -m bench review` runs 2,000
# alliances of each size). Each bound is the target itself; the figures here sit well inside it (see README), and a
# rule that breaks a target (the plain rule, z 1.96 every year, for the five-year one) fails the same check.

TARGET_ALLIANCES, TARGET_YEARS = 300, 25


@pytest.fixture(scope="module")
def simulated() -> review_targets.Simulated:
    return review_targets.simulate(partners=30, alliances=TARGET_ALLIANCES, years=TARGET_YEARS, seed=2029)


def shipped_figures(s: review_targets.Simulated, rule: review_targets.Rule | None = None) -> dict[str, Any]:
    return review_targets.report(s, [rule or shipped_rule()])[(rule or shipped_rule()).name]


def test_the_bench_judges_the_rule_the_contract_ships() -> None:
    assert shipped_rule() == review_targets.Rule("z", "both_halves", "persistence")


@pytest.mark.parametrize("years", ["year_1", "years_2_to_5"])
def test_an_average_partner_of_any_size_or_mix_is_rarely_flagged(simulated: Any, years: str) -> None:
    f = shipped_figures(simulated)[years]
    assert f["average_flagged_percent"]["value"] <= 1.0, f
    assert abs(f["easier_cases_change_pp"]["value"]) <= 0.3, f


@pytest.mark.parametrize("years", ["year_1", "years_2_to_5"])
def test_flags_fall_on_partners_truly_below_average_and_mostly_the_worst_decile(simulated: Any, years: str) -> None:
    f = shipped_figures(simulated)[years]
    assert f["flags_per_alliance_year"] >= 0.5, f  # the rule acts, in year 1 too
    assert f["flags_truly_below_average_percent"]["value"] >= 95, f
    assert f["flags_in_worst_decile_percent"]["value"] >= 75, f


def test_over_a_contract_the_average_partner_is_rarely_flagged_and_the_worst_often(simulated: Any) -> None:
    f = shipped_figures(simulated)["contract"]
    assert f["average_flagged_in_contract_percent"]["value"] <= 3.0, f
    assert f["worst_decile_flagged_in_contract_percent"]["value"] >= 40, f
    # The same check fails the plain rule (z 1.96 every year, ranked by O/E: the contract as shipped before).
    plain = shipped_figures(simulated, review_targets.Rule("ratio", "plain", "plain"))["contract"]
    assert plain["average_flagged_in_contract_percent"]["value"] > 3.0, plain


# The issue's own, harsher simulation (bench.review_sim.ISSUE: the rule shipped before issue 29 reproduces its figures):
# the shipped defaults meet every target at N = 30 there too (README), and the rule shipped before fails the same
# checks. 300 alliances x 25 years, about 2 s.


@pytest.fixture(scope="module")
def simulated_issue() -> review_targets.Simulated:
    return review_targets.simulate(
        partners=30, alliances=TARGET_ALLIANCES, years=TARGET_YEARS, seed=2030, generator=sim.ISSUE
    )


def targets_failed(f: dict[str, Any]) -> list[str]:
    """The targets a rule's figures miss, in year 1, later years and per contract."""
    return [f"{part}: {k}" for part in ("year_1", "years_2_to_5", "contract") for k, v in f[part].items()
            if isinstance(v, dict) and v["met"] is False]  # fmt: skip


def test_on_the_issues_simulation_the_shipped_defaults_meet_every_target(simulated_issue: Any) -> None:
    f = shipped_figures(simulated_issue)
    assert targets_failed(f) == [], f
    for years in ("year_1", "years_2_to_5"):
        assert f[years]["flags_per_alliance_year"] >= 0.3, f  # the rule acts, in year 1 too
        assert f[years]["flags_truly_below_average_percent"]["value"] >= 95, f
        assert f[years]["flags_in_worst_decile_percent"]["value"] >= 75, f
        assert f[years]["average_flagged_percent"]["value"] <= 1.0, f
        assert abs(f[years]["easier_cases_change_pp"]["value"]) <= 0.3, f
    assert f["contract"]["average_flagged_in_contract_percent"]["value"] <= 3.0, f
    assert f["contract"]["worst_decile_flagged_in_contract_percent"]["value"] >= 40, f


def test_on_the_issues_simulation_the_rule_shipped_before_fails_as_the_issue_found(simulated_issue: Any) -> None:
    f = shipped_figures(simulated_issue, review_targets.Rule("ratio", "plain", "plain"))
    later, contract = f["years_2_to_5"], f["contract"]
    assert later["average_flagged_percent"]["value"] > 1.0, later  # the issue: 1.79%
    assert contract["average_flagged_in_contract_percent"]["value"] > 3.0, contract  # 8.7%
    assert later["flags_in_worst_decile_percent"]["value"] < 75, later  # 68.1%
    # (its +0.57 pp for easier cases needs the bench's 2,000 alliances to decide: ± 0.2 here)


def test_the_generators_parameters_keep_the_gentle_default_and_are_checked() -> None:
    assert sim.SCENARIOS["gentle"] == sim.Generator() and sim.ISSUE.sigma_q == sim.GENTLE.sigma_q == 0.25
    with pytest.raises(ValueError, match="link"):
        sim.Generator(link="probit")


def test_the_mirror_gives_the_domains_verdict_partner_by_partner() -> None:
    for partners in (30, 12):
        s = review_targets.simulate(partners=partners, alliances=2, years=7, seed=partners, keep=True)
        result = review_domain.check(s, 2)
        assert result["differ"] == 0 and result["flags"] > 0, result
    s = review_targets.simulate(partners=12, alliances=2, years=7, seed=12, keep=True, generator=sim.ISSUE)
    result = review_domain.check(s, 2)
    assert result["differ"] == 0 and result["flags"] > 0, result


# Persistent scenario: several alliances for fewer years each, pooled. Most of the seed-to-seed spread
# of these figures comes from the alliance's make-up (how many small partners, which mixes), not from
# the number of years, so 5 alliances x 100 years is steadier than 1 x 500 for the same time (~2 s).
PERSISTENT_ALLIANCES = 5
PERSISTENT_YEARS = 100
PERSISTENT_METHODS = ("ours", "ours_persistent", "raw", "raw_persistent")


@pytest.fixture(scope="module")
def persistent() -> list[Judged]:
    rng = np.random.default_rng(2026)
    return [
        j
        for _ in range(PERSISTENT_ALLIANCES)
        for j in simulate_persistent(make_alliance(rng), PERSISTENT_YEARS, rng, RHO)
    ]


def test_the_persistent_scenario_has_persistent_quality(persistent: list[Judged]) -> None:
    # Consecutive years of one alliance: the log-quality of the drawn partners correlates about ρ.
    # (pairs of consecutive years within one alliance: the pooled list is alliance after alliance)
    pairs = [(a, b) for i, (a, b) in enumerate(itertools.pairwise(persistent)) if (i + 1) % PERSISTENT_YEARS]
    x = np.log([[a.quality[p], b.quality[p]] for a, b in pairs for p in a.quality if p not in AVERAGE_SMALL])
    assert abs(np.corrcoef(x.T)[0, 1] - RHO) < 0.05
    assert all(j.quality[pid] == 1 for j in persistent for pid in AVERAGE_SMALL)
    # the rule only ever turns a flag into a watch, and only for partners not in last year's bottom fifth
    for last, this in pairs:
        assert this.ours_persistent == this.ours & last.bottom_fifth
        assert this.raw_persistent == this.raw & last.raw_bottom_fifth


def test_persistence_raises_precision_and_keeps_most_detection(persistent: list[Judged]) -> None:
    s = summarise(persistent, AVERAGE_SMALL, PERSISTENT_METHODS)
    effect = persistence_effect(persistent, "ours")
    plain, rule = s["ours"], s["ours_persistent"]
    context = {"summary": {m: {k: v for k, v in s[m].items() if k != "years_with_n_flags"} for m in PERSISTENT_METHODS}}
    context["effect"] = effect
    assert plain["flags"] >= 500 and rule["flags"] >= 400, context  # enough flags for the rates to mean something
    # Precision rises. Over 30 seeds of this pooled set-up the gain was 2.2 to 6.6 pp and the cut in
    # flags outside the worst decile 1.6x to 2.3x; a rule that did nothing would give 0 pp and 1.0x.
    assert rule["precision_worst_decile_percent"] >= plain["precision_worst_decile_percent"] + 1.5, context
    assert effect["false_flags_cut_factor"] >= 1.4, context
    # Detection: the rule keeps 78% to 85% of the true flags over those 30 seeds (it costs a year for a
    # partner that has only just become one of the worst, or that chance lifted out of last year's
    # bottom fifth). At least 70%: checked against a random bottom fifth instead of last year's the rule
    # keeps 19% (seed 2026), against the bottom fifth of two years before 65%.
    kept = effect["true_flags"]["with"] / effect["true_flags"]["without"]
    assert kept >= 0.70, context
    assert rule["recall_worst_decile_percent"] >= 0.70 * plain["recall_worst_decile_percent"], context
    # DESIGN.md section 6 still holds with the rule: flagged partners truly below average (>= 95%; 99.7%
    # to 100% seen), average small partners flagged in at most 1% of years.
    assert rule["flagged_truly_below_average_percent"] >= 99, context
    assert all(rate <= 1 for rate in rule["flag_rate_percent"].values()), context
    # Fairness: the raw league table given the same rule is still far less precise (1.78x to 2.16x seen).
    raw_rule = s["raw_persistent"]
    assert rule["precision_worst_decile_percent"] >= 1.6 * raw_rule["precision_worst_decile_percent"], context


def test_scenarios_keep_the_fresh_keys_and_add_the_persistent_one() -> None:
    fresh = run(years=5, seed=7)
    both = run_scenarios("both", years=5, seed=7)
    assert set(both) == set(fresh) | {"persistent"}
    assert {k: v for k, v in both.items() if k not in ("seconds", "persistent")} == {
        k: v for k, v in fresh.items() if k != "seconds"
    }
    only = run_scenarios("persistent", years=5, seed=7)
    assert set(only) == {"persistent"} and only["persistent"]["years"] == 5
    assert {"ours", "ours_persistent", "raw", "raw_persistent", "persistence_effect"} <= set(only["persistent"])
    with pytest.raises(ValueError, match="unknown scenario"):
        run_scenarios("stale", years=1)
