"""DESIGN.md section 6, who is flagged: the bottom fraction (by adjusted z or O/E), below the lower control limit,
with enough accepted months, and (with persistence, the default) in last year's bottom fifth too, or in a year with
no previous one the first-year rule (issue 29)."""

from decimal import Decimal

import pytest

from domain.contract import FirstYearRule, RankBy, Review
from domain.performance import Z_95, AlliancePerformance, BandCounts, Overdispersion, PartnerPerformance, assess
from domain.periods import Period
from domain.review import (
    PERSISTENCE_FRACTION,
    Basis,
    PartnerStanding,
    PreviousYear,
    Rule,
    Standing,
    bottom_count,
    bottom_ids,
    chance_percent,
    classify,
    previous_year,
    ranking,
)

FULL = 12


def partner(pid: str, ratio: float, se: float = 0.1, tau2: float = 0.0, expected: float = 100.0) -> PartnerPerformance:
    """A partner with O/E = ratio and standard error se (so z = (ratio - 1)/se)."""
    return PartnerPerformance(
        partner_id=pid,
        rows=int(expected),
        observed=ratio * expected,
        expected=expected,
        variance=(se * expected) ** 2,
        rows_by_band={"standard": int(expected)},
        months=(),
        tau2=tau2,
    )


def no_data(pid: str) -> PartnerPerformance:
    return PartnerPerformance(pid, 0, 0.0, 0.0, 0.0, {}, ())


def alliance(*partners: PartnerPerformance) -> AlliancePerformance:
    comparable = sum(p.comparable for p in partners)
    return AlliancePerformance(
        partners=partners,
        rates={},
        overdispersion=Overdispersion(partners=comparable, phi=1.0, tau2=0.0, applied=False),
        variance_per_expected=1.0,
    )


def clear_partners(n: int, start: float = 1.0) -> list[PartnerPerformance]:
    """n partners comfortably above the rest (ratio from ``start`` up)."""
    return [partner(f"z{i:02d}", start + i / 100) for i in range(n)]


def by_id(standings: tuple[PartnerStanding, ...]) -> dict[str, PartnerStanding]:
    return {s.partner_id: s for s in standings}


def months(*ids: str, n: int = FULL) -> dict[str, int]:
    return dict.fromkeys(ids, n)


# The plain rule (persistence off), by O/E: bottom 10%, z 1.96, 9 months.
TENTH = Review(persistence=False, rank_by=RankBy.ratio)
FIFTH = Review(bottom_fraction=Decimal("0.2"), persistence=False, rank_by=RankBy.ratio)
PERSISTENT = Review(persistence=True, rank_by=RankBy.ratio)


def last_year(bottom_fifth: set[str], ranked: set[str] | None = None) -> PreviousYear:
    """Last year's ranking: everyone in ``ranked`` (default: the bottom fifth and every ``z..`` partner) was ranked."""
    everyone = {f"z{i:02d}" for i in range(20)} | {"low", "other", "flag", "persist", "incomplete", "chance"}
    return PreviousYear(ranked=frozenset(everyone if ranked is None else ranked), bottom_fifth=frozenset(bottom_fifth))


@pytest.mark.parametrize(
    ("k", "fraction", "expected"),
    [
        (0, "0.10", 0),
        (1, "0.10", 1),
        (9, "0.10", 1),
        (10, "0.10", 1),
        (19, "0.10", 1),
        (20, "0.10", 2),
        (29, "0.10", 2),
        (30, "0.10", 3),
        (31, "0.10", 3),
        (4, "0.2", 1),
        (5, "0.2", 1),
        (14, "0.2", 2),
        (3, "0.5", 1),
        (7, "1", 7),
    ],
)
def test_bottom_count_is_floor_of_k_times_fraction_at_least_one(k: int, fraction: str, expected: int) -> None:
    assert bottom_count(k, Decimal(fraction)) == expected


def test_flagged_needs_bottom_fraction_below_limit_and_enough_months() -> None:
    # 10 comparable partners, bottom fifth = 2: "low" (0.70, z = -3) and "next" (0.72, z = -2.8).
    perf = alliance(partner("low", 0.70), partner("next", 0.72), *clear_partners(8))
    result = by_id(
        classify(perf, review=FIFTH, accepted_months=months("low", "next", *(f"z{i:02d}" for i in range(8))))
    )
    assert result["low"].standing is Standing.flagged and result["low"].basis is Basis.FLAGGED
    assert result["next"].flagged and result["next"].rank == 2
    assert all(result[f"z{i:02d}"].standing is Standing.clear for i in range(8))
    assert {s.bottom for s in result.values()} == {2} and {s.ranked for s in result.values()} == {10}


def test_bottom_but_not_significant_is_watched() -> None:
    # z = (0.85 - 1)/0.1 = -1.5 > -1.96
    perf = alliance(partner("low", 0.85), *clear_partners(9))
    s = by_id(classify(perf, review=TENTH, accepted_months=months("low")))["low"]
    assert (s.standing, s.basis, s.rank) == (Standing.watch, Basis.NOT_SIGNIFICANT, 1)
    assert s.watch and not s.flagged


def test_significance_is_strict_at_the_limit() -> None:
    """z exactly -2 (0.75 = 1 - 2 × 0.125, all exact in binary) is on a z = 2 limit, not below it."""
    review = TENTH.model_copy(update={"control_limit_z": Decimal(2)})
    on = alliance(partner("low", 0.75, se=0.125), *clear_partners(9))
    below = alliance(partner("low", 0.7499, se=0.125), *clear_partners(9))
    assert on.partners[0].z_adjusted == -2.0
    assert by_id(classify(on, review=review, accepted_months=months("low")))["low"].basis is Basis.NOT_SIGNIFICANT
    assert by_id(classify(below, review=review, accepted_months=months("low")))["low"].basis is Basis.FLAGGED


def test_bottom_but_incomplete_is_watched_even_when_significant() -> None:
    perf = alliance(partner("low", 0.5), *clear_partners(9))
    eight = by_id(classify(perf, review=TENTH, accepted_months=months("low", n=8)))["low"]
    nine = by_id(classify(perf, review=TENTH, accepted_months=months("low", n=9)))["low"]
    missing = by_id(classify(perf, review=TENTH, accepted_months={}))["low"]
    assert (eight.standing, eight.basis, eight.accepted_months) == (Standing.watch, Basis.INCOMPLETE, 8)
    assert (missing.basis, missing.accepted_months) == (Basis.INCOMPLETE, 0)
    assert nine.basis is Basis.FLAGGED
    strict = TENTH.model_copy(update={"min_accepted_months": 10})
    assert by_id(classify(perf, review=strict, accepted_months=months("low", n=9)))["low"].basis is Basis.INCOMPLETE


def test_significant_but_not_in_the_bottom_fraction_is_clear() -> None:
    # Both are far below their limits, but bottom 10% of 10 is one partner.
    perf = alliance(partner("low", 0.5), partner("second", 0.6, se=0.05), *clear_partners(8))
    result = by_id(classify(perf, review=TENTH, accepted_months=months("low", "second")))
    assert result["low"].flagged
    assert (result["second"].standing, result["second"].basis, result["second"].rank) == (
        Standing.clear,
        Basis.NOT_IN_BOTTOM,
        2,
    )


def test_no_data_is_watched_not_ranked() -> None:
    perf = alliance(no_data("empty"), partner("low", 0.5), *clear_partners(9))
    result = by_id(classify(perf, review=TENTH, accepted_months=months("low", "empty")))
    empty = result["empty"]
    assert (empty.standing, empty.basis, empty.rank, empty.lower_limit) == (Standing.watch, Basis.NO_DATA, None, None)
    assert empty.ranked == 10 and empty.bottom == 1
    assert result["low"].rank == 1 and result["low"].flagged
    assert [p.partner_id for p in ranking(perf)][0] == "low" and len(ranking(perf)) == 10


def test_overdispersion_widens_the_limit() -> None:
    """The same shortfall, with τ² = 0.04 on top of se² = 0.01: z_adjusted = -0.3/√0.05 = -1.34."""
    plain = alliance(partner("low", 0.7), *clear_partners(9))
    wide = alliance(partner("low", 0.7, tau2=0.04), *clear_partners(9))
    assert by_id(classify(plain, review=TENTH, accepted_months=months("low")))["low"].flagged
    s = by_id(classify(wide, review=TENTH, accepted_months=months("low")))["low"]
    assert s.basis is Basis.NOT_SIGNIFICANT
    assert s.lower_limit == pytest.approx(1 - 1.96 * 0.05**0.5)


def test_control_limit_z_is_the_configured_one() -> None:
    perf = alliance(partner("low", 0.75), *clear_partners(9))  # z = -2.5
    assert by_id(classify(perf, review=TENTH, accepted_months=months("low")))["low"].flagged
    strict = TENTH.model_copy(update={"control_limit_z": Decimal("3.09")})
    s = by_id(classify(perf, review=strict, accepted_months=months("low")))["low"]
    assert s.basis is Basis.NOT_SIGNIFICANT and s.lower_limit == pytest.approx(1 - 0.309)


@pytest.mark.parametrize(
    ("bottom_fifth", "basis"),
    [
        ({"low"}, Basis.FLAGGED_PERSISTENT),
        ({"low", "other"}, Basis.FLAGGED_PERSISTENT),
        ({"other"}, Basis.NOT_PERSISTENT),
        (set(), Basis.NOT_PERSISTENT),
    ],
)
def test_persistence_needs_last_years_bottom_fifth(bottom_fifth: set[str], basis: Basis) -> None:
    perf = alliance(partner("low", 0.5), *clear_partners(9))
    s = by_id(classify(perf, review=PERSISTENT, accepted_months=months("low"), previous=last_year(bottom_fifth)))["low"]
    assert s.basis is basis and s.rule is Rule.persistence
    assert s.standing is (Standing.flagged if basis is Basis.FLAGGED_PERSISTENT else Standing.watch)
    # without the persistence rule last year is ignored
    off = by_id(classify(perf, review=TENTH, accepted_months=months("low"), previous=last_year(bottom_fifth)))["low"]
    assert off.basis is Basis.FLAGGED and off.rule is Rule.plain


def test_persistence_does_not_rescue_the_other_tests() -> None:
    perf = alliance(partner("low", 0.9), *clear_partners(9))
    previous = last_year({"low"})
    s = by_id(classify(perf, review=PERSISTENT, accepted_months=months("low"), previous=previous))["low"]
    assert s.basis is Basis.NOT_SIGNIFICANT
    s = by_id(classify(perf, review=PERSISTENT, accepted_months=months("low", n=3), previous=previous))["low"]
    assert s.basis is Basis.INCOMPLETE


def test_bottom_fifth_for_persistence() -> None:
    perf = alliance(*[partner(f"p{i:02d}", 0.5 + i / 20) for i in range(12)], no_data("empty"))
    assert bottom_ids(perf, PERSISTENCE_FRACTION) == {"p00", "p01"}  # ⌊12 × 0.2⌋ = 2
    assert bottom_ids(perf, Decimal("0.1")) == {"p00"}
    assert bottom_ids(alliance(no_data("a")), PERSISTENCE_FRACTION) == set()


def test_ties_are_ranked_by_partner_id_whatever_the_input_order() -> None:
    tied = [partner("bravo", 0.6), partner("alpha", 0.6), partner("charlie", 0.6)]
    for order in (tied, tied[::-1], [tied[2], tied[0], tied[1]]):
        perf = alliance(*order, *clear_partners(7))
        assert [p.partner_id for p in ranking(perf)][:3] == ["alpha", "bravo", "charlie"]
        result = by_id(classify(perf, review=TENTH, accepted_months=months("alpha", "bravo", "charlie")))
        assert (result["alpha"].rank, result["bravo"].rank, result["charlie"].rank) == (1, 2, 3)
        assert result["alpha"].flagged
        assert result["bravo"].basis is Basis.NOT_IN_BOTTOM and result["charlie"].basis is Basis.NOT_IN_BOTTOM


def test_result_is_in_partner_id_order() -> None:
    perf = alliance(partner("m", 0.9), partner("a", 1.1), no_data("z"), partner("b", 0.5))
    assert [s.partner_id for s in classify(perf, review=TENTH, accepted_months={})] == ["a", "b", "m", "z"]


def every_basis() -> tuple[AlliancePerformance, dict[str, int], dict[str, str]]:
    # 20 comparable partners at FIFTH: bottom 4 = flag (0.5), persist (0.55), incomplete (0.6), chance (0.92)
    perf = alliance(
        partner("flag", 0.5),
        partner("persist", 0.55),
        partner("incomplete", 0.6),
        partner("chance", 0.92),
        no_data("nodata"),
        *clear_partners(16),
    )
    names = {
        "flag": "Flagstone Housing",
        "persist": "Persist Trust",
        "incomplete": "Incomplete CIC",
        "chance": "Chance Advice",
        "nodata": "Nodata Network",
        **{f"z{i:02d}": f"Zed {i} Partners" for i in range(16)},
    }
    accepted = {pid: FULL for pid in names} | {"incomplete": 4}
    return perf, accepted, names


def test_every_partner_has_a_reason_naming_it_and_each_basis_has_its_words() -> None:
    perf, accepted, names = every_basis()
    review = Review(bottom_fraction=Decimal("0.2"), persistence=True, rank_by=RankBy.ratio)
    result = by_id(classify(perf, review=review, accepted_months=accepted, names=names, previous=last_year({"flag"})))
    assert {pid: s.basis for pid, s in result.items() if not pid.startswith("z")} == {
        "flag": Basis.FLAGGED_PERSISTENT,
        "persist": Basis.NOT_PERSISTENT,
        "incomplete": Basis.INCOMPLETE,
        "chance": Basis.NOT_SIGNIFICANT,
        "nodata": Basis.NO_DATA,
    }
    for pid, s in result.items():
        assert s.reason.strip() and names[pid] in s.reason, pid
        if pid.startswith("z"):
            assert pid not in s.reason  # the name, not the id
    r = {pid: s.reason for pid, s in result.items()}
    assert r["flag"].startswith("Flagged for review: Flagstone Housing achieved 50% of the outcomes expected")
    assert "(50.0 against 100.0 expected), ranking 1 of 20 by outcomes for case mix (O/E), in the lowest 4" in r["flag"]
    assert "and in the lowest fifth the year before too." in r["flag"]
    for pid in ("flag", "persist", "incomplete", "chance", "z00"):  # every reason names the rule that applied
        assert r[pid].endswith("so a partner is flagged only if it was also in the lowest fifth the year before)."), pid
    assert "below the lower control limit of 80%" in r["flag"]  # 1 - 1.96 × 0.1 = 0.804
    assert "under 2.5% of years" in r["flag"] and "with 12 months of accepted returns (at least 9 needed)" in r["flag"]
    assert r["persist"].startswith("On the watch list, not under review: Persist Trust achieved 55%")
    assert "not in the lowest fifth last year" in r["persist"]
    assert "only 4 of the 9 months of accepted returns" in r["incomplete"]
    assert "not below the lower control limit of 80%" in r["chance"] and "can be chance" in r["chance"]
    assert r["nodata"].startswith("On the watch list: Nodata Network has no accepted returns")
    assert r["z00"].startswith("Not under review: Zed 0 Partners achieved 100% ")
    assert "ranking 5 of 20 by outcomes for case mix (O/E); only the lowest 4 are considered." in r["z00"]


def test_reason_falls_back_to_the_partner_id() -> None:
    perf, accepted, _ = every_basis()
    for s in classify(perf, review=FIFTH, accepted_months=accepted):
        assert s.partner_id in s.reason


def test_basis_codes_are_stable() -> None:
    assert {b.name: b.value for b in Basis} == {
        "FLAGGED": "REVIEW_FLAGGED",
        "NOT_SIGNIFICANT": "REVIEW_NOT_SIGNIFICANT",
        "INCOMPLETE": "REVIEW_INCOMPLETE",
        "NOT_PERSISTENT": "REVIEW_NOT_PERSISTENT",
        "NO_DATA": "REVIEW_NO_DATA",
        "NOT_IN_BOTTOM": "REVIEW_NOT_IN_BOTTOM",
        "FLAGGED_PERSISTENT": "REVIEW_FLAGGED_PERSISTENT",
        "FLAGGED_FIRST_YEAR": "REVIEW_FLAGGED_FIRST_YEAR",
        "FIRST_YEAR_NOT_MET": "REVIEW_FIRST_YEAR_NOT_MET",
    }


def test_chance_percent() -> None:
    assert chance_percent(1.96) == pytest.approx(2.4997895, rel=1e-6)
    assert chance_percent(Z_95) == pytest.approx(2.5, rel=1e-12)
    assert chance_percent(3.090232306167813) == pytest.approx(0.1, rel=1e-9)
    assert chance_percent(0) == pytest.approx(50)


def test_classify_on_the_hand_worked_alliance() -> None:
    """tests/domain/test_performance.py's example: A (O/E 0.6, z -2.12) is the bottom 1 of 3; with
    overdispersion its adjusted z is -1.24 (watch), without it -2.12 < -1.96 (flagged)."""
    april, may = Period(2026, 4), Period(2026, 5)
    data = [
        BandCounts("A", april, "std", 10, {"m1": 3, "m2": 6}),
        BandCounts("A", may, "cx", 10, {"m1": 1, "m2": 3}),
        BandCounts("B", april, "std", 20, {"m1": 10, "m2": 15}),
        BandCounts("B", april, "cx", 10, {"m1": 3, "m2": 5}),
        BandCounts("C", april, "std", 10, {"m1": 7, "m2": 9}),
        BandCounts("C", may, "cx", 20, {"m1": 6, "m2": 12}),
    ]
    weights = {"m1": Decimal(3), "m2": Decimal(1)}
    accepted = months("A", "B", "C")
    with_od = by_id(classify(assess(data, weights, "ABC"), review=TENTH, accepted_months=accepted))
    assert with_od["A"].basis is Basis.NOT_SIGNIFICANT and with_od["A"].lower_limit == pytest.approx(0.3676, abs=1e-4)
    plain = by_id(classify(assess(data, weights, "ABC", overdispersion=False), review=TENTH, accepted_months=accepted))
    assert plain["A"].basis is Basis.FLAGGED and plain["A"].lower_limit == pytest.approx(0.6296, abs=1e-4)
    assert (plain["B"].basis, plain["C"].basis) == (Basis.NOT_IN_BOTTOM, Basis.NOT_IN_BOTTOM)
    assert (plain["A"].rank, plain["B"].rank, plain["C"].rank) == (1, 2, 3)


# --- Issue 29: the defaults, the first-year rules, ranking by z ---------------------------------


def test_the_defaults_are_persistence_with_the_both_halves_first_year_rule_ranked_by_z() -> None:
    review = Review()
    assert review.persistence and review.first_year is FirstYearRule.both_halves and review.rank_by is RankBy.z


def halves_with(low_in_first: float, low_in_second: float) -> tuple[AlliancePerformance, AlliancePerformance]:
    """The year's two halves, each assessed alone: 'low' at these ratios (se 0.14, as a half's is about √2 × 0.1)."""
    return (
        alliance(partner("low", low_in_first, se=0.14), *clear_partners(9)),
        alliance(partner("low", low_in_second, se=0.14), *clear_partners(9)),
    )


@pytest.mark.parametrize(
    ("first", "second", "basis"),
    [
        (0.6, 0.6, Basis.FLAGGED_FIRST_YEAR),  # z -2.9 in each half
        (0.6, 0.8, Basis.FIRST_YEAR_NOT_MET),  # z -1.43 in the second half: could be a bad spell
        (0.8, 0.6, Basis.FIRST_YEAR_NOT_MET),
    ],
)
def test_with_no_previous_year_a_partner_must_be_below_its_limit_in_each_half(
    first: float, second: float, basis: Basis
) -> None:
    perf = alliance(partner("low", 0.7), *clear_partners(9))  # z -3 over the year
    s = by_id(classify(perf, review=Review(), accepted_months=months("low"), halves=halves_with(first, second)))["low"]
    assert (s.basis, s.rule) == (basis, Rule.first_year_both_halves)
    assert s.flagged is (basis is Basis.FLAGGED_FIRST_YEAR) and s.watch is (basis is not Basis.FLAGGED_FIRST_YEAR)
    assert "there is no previous year to confirm it" in s.reason
    assert ("taken on its own" in s.reason) and ("each half of the year" in s.reason)


def test_the_both_halves_rule_without_the_halves_is_refused_not_guessed() -> None:
    perf = alliance(partner("low", 0.7), *clear_partners(9))
    with pytest.raises(ValueError, match="each half of the year"):
        classify(perf, review=Review(), accepted_months=months("low"))


@pytest.mark.parametrize(("ratio", "basis"), [(0.75, Basis.FIRST_YEAR_NOT_MET), (0.65, Basis.FLAGGED_FIRST_YEAR)])
def test_the_998_first_year_rule_needs_the_998_limit(ratio: float, basis: Basis) -> None:
    perf = alliance(partner("low", ratio), *clear_partners(9))  # z -2.5 (below 1.96, not 3.09), or -3.5
    review = Review(first_year=FirstYearRule.limit_998)
    s = by_id(classify(perf, review=review, accepted_months=months("low")))["low"]
    assert (s.basis, s.rule) == (basis, Rule.first_year_limit_998)
    assert "99.8% lower limit" in s.reason


def test_a_partner_not_ranked_last_year_gets_the_first_year_rule_and_the_others_persistence() -> None:
    perf = alliance(partner("low", 0.7), partner("new", 0.65), *clear_partners(18))  # bottom 2 of 20
    previous = last_year({"low"}, ranked={"low", *(f"z{i:02d}" for i in range(18))})
    halves = (alliance(partner("new", 0.6, se=0.14)), alliance(partner("new", 0.6, se=0.14)))
    result = by_id(
        classify(perf, review=Review(), accepted_months=months("low", "new"), previous=previous, halves=halves)
    )
    assert (result["low"].rule, result["low"].basis) == (Rule.persistence, Basis.FLAGGED_PERSISTENT)
    assert (result["new"].rule, result["new"].basis) == (Rule.first_year_both_halves, Basis.FLAGGED_FIRST_YEAR)
    assert result["z00"].rule is Rule.persistence


def test_ranking_by_z_gives_the_slot_to_a_partner_significantly_below_not_a_noisy_small_one() -> None:
    # A small partner far below by O/E but within chance, and a large partner less far below but significantly.
    small, large = partner("small", 0.7, se=0.2), partner("large", 0.85, se=0.05)  # z -1.5 and -3
    perf = alliance(small, large, *clear_partners(8))  # bottom 1 of 10
    by_ratio = by_id(classify(perf, review=TENTH, accepted_months=months("small", "large")))
    assert by_ratio["small"].basis is Basis.NOT_SIGNIFICANT and by_ratio["large"].basis is Basis.NOT_IN_BOTTOM
    by_z = by_id(classify(perf, review=TENTH.model_copy(update={"rank_by": RankBy.z}), accepted_months=months("large")))
    assert by_z["large"].flagged and by_z["large"].rank == 1 and by_z["small"].rank == 2
    assert "ranking 1 of 10 by z-score for its size" in by_z["large"].reason
    assert [p.partner_id for p in ranking(perf, RankBy.z)][:2] == ["large", "small"]


def test_previous_year_ranks_by_the_same_key() -> None:
    small, large = partner("small", 0.7, se=0.2), partner("large", 0.85, se=0.05)
    perf = alliance(small, large, *clear_partners(8))  # bottom fifth: 2 of 10
    assert previous_year(perf, RankBy.ratio).bottom_fifth == {"small", "large"}
    perf = alliance(small, large, partner("mid", 0.8, se=0.1), *clear_partners(7))  # z -1.5, -3, -2
    assert previous_year(perf, RankBy.z).bottom_fifth == {"large", "mid"}
    assert previous_year(perf, RankBy.ratio).bottom_fifth == {"small", "mid"}
    assert previous_year(perf, RankBy.z).ranked == {p.partner_id for p in perf.partners}
