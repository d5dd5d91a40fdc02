import hashlib
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from domain.contract import Framework
from domain.returns import points_from_counts
from domain.spot_checks import (
    Claim,
    MonthClaims,
    Risk,
    RiskInputs,
    WithdrawnRow,
    draw,
    risks,
    rows_with_withdrawals,
    sample_size,
    without_withdrawn,
)

MEASURES = ["housing_sustained", "into_work", "wellbeing_up"]


def claims_of(count: int, prefix: str = "P") -> list[Claim]:
    return [Claim(f"{prefix}{n:04d}", MEASURES[n % 3]) for n in range(count)]


def test_a_draw_is_repeated_exactly_from_its_seed_by_anyone_with_sha256() -> None:
    claims = claims_of(200)
    chosen = draw(claims, 7, "a1b2c3")
    assert draw(list(reversed(claims)), 7, "a1b2c3") == chosen  # the order claims come in does not matter
    # The rule in words: the claims whose SHA-256 of "<seed>:<participant>:<measure>" is lowest.
    by_hand = sorted(claims, key=lambda c: hashlib.sha256(f"a1b2c3:{c.participant_id}:{c.measure}".encode()).digest())
    assert chosen == sorted(by_hand[:7])
    assert draw(claims, 7, "a1b2c4") != chosen


def test_a_draw_takes_at_most_the_claims_there_are_and_needs_a_seed() -> None:
    assert draw(claims_of(2), 5, "s") == sorted(claims_of(2))
    assert draw(claims_of(5), 0, "s") == []
    with pytest.raises(ValueError):
        draw(claims_of(5), 2, "")


def test_every_claim_is_equally_likely_to_be_drawn() -> None:
    claims = claims_of(20)
    hits = dict.fromkeys(claims, 0)
    draws = 4000
    for seed in range(draws):
        for claim in draw(claims, 3, f"seed-{seed}"):
            hits[claim] += 1
    # Each claim is drawn with probability 3/20: a chi-square test of the counts against that.
    expected = draws * 3 / 20
    statistic = sum((h - expected) ** 2 / expected for h in hits.values())
    assert stats.chi2.sf(statistic, len(claims) - 1) > 0.001


def test_invalid_claims_are_found_at_the_rate_the_sample_size_gives() -> None:
    """A partner one claim in ten of whose claims is invalid, over 600 seeded months of 60 claims, 6 drawn a month:
    each month's finds are hypergeometric (mean 0.6); their total must be consistent with 600 x 0.6."""
    rng = random.Random(2026)
    months, claimed, invalid_share, size = 600, 60, 0.10, 6
    found = 0
    for month in range(months):
        claims = claims_of(claimed, prefix=f"M{month}-")
        invalid = set(rng.sample(claims, int(claimed * invalid_share)))
        found += sum(1 for c in draw(claims, size, f"{month}-{rng.getrandbits(64):x}") if c in invalid)
    per_month = stats.hypergeom(claimed, int(claimed * invalid_share), size)
    mean, sd = months * per_month.mean(), (months * per_month.var()) ** 0.5
    assert abs(found - mean) < 4 * sd, (found, mean, sd)
    # And against a binomial of the same rate (what an officer would use): two-sided p-value not tiny.
    assert stats.binomtest(found, months * size, invalid_share).pvalue > 0.001


def test_the_sample_grows_with_each_risk_up_to_the_most() -> None:
    assert sample_size(base=3, most=12, risks_found=0, claims=100) == 3
    assert sample_size(base=3, most=12, risks_found=2, claims=100) == 9
    assert sample_size(base=3, most=8, risks_found=3, claims=100) == 8
    assert sample_size(base=3, most=12, risks_found=3, claims=5) == 5


def history(months: int = 6, rows: int = 100, claims: int = 50) -> list[MonthClaims]:
    return [MonthClaims(rows, claims) for _ in range(months)]


def test_an_ordinary_month_shows_no_risk() -> None:
    inputs = RiskInputs(rows=100, claims=52, warnings=1, rejected=0, months_looked_at="x", history=history())
    assert risks(inputs) == []


def test_rejections_many_warnings_rising_claims_and_past_failures_are_each_a_risk() -> None:
    base = {"rows": 100, "claims": 50, "warnings": 0, "rejected": 0, "months_looked_at": "2026-08 to 2026-10"}
    assert [r.risk for r in risks(RiskInputs(**{**base, "rejected": 1}, history=history()))] == [Risk.data_quality]
    assert [r.risk for r in risks(RiskInputs(**{**base, "warnings": 10}, history=history()))] == [Risk.data_quality]
    rising = risks(RiskInputs(**{**base, "claims": 75}, history=history()))
    assert [r.risk for r in rising] == [Risk.claims_rise]
    assert "0.75 per participant" in rising[0].text() and "0.50" in rising[0].text()
    failed = risks(RiskInputs(**base, history=history(), failed_before=2))
    assert [r.risk for r in failed] == [Risk.past_failures] and "2 claim(s)" in failed[0].text()


def test_a_rise_needs_history_and_more_than_noise() -> None:
    base = {"rows": 100, "warnings": 0, "rejected": 0, "months_looked_at": "x"}
    assert risks(RiskInputs(**base, claims=75, history=history(months=2))) == []
    assert risks(RiskInputs(**base, claims=57, history=history())) == []  # +14%: under the ratio


FRAMEWORK = Framework.model_validate(
    {
        "version": 1,
        "bands": {"standard": "1.0", "complex": "1.5"},
        "measures": [
            {"id": "housing_sustained", "label": "h", "weight": 3, "monthly_target": 1},
            {"id": "into_work", "label": "w", "weight": 2, "monthly_target": 1},
            {"id": "wellbeing_up", "label": "u", "weight": 1, "monthly_target": 1},
        ],
    }
)

# A set of measures as a bit mask (hypothesis draws integers far faster than sets).
measures = st.integers(0, 7).map(lambda mask: frozenset(m for i, m in enumerate(MEASURES) if mask >> i & 1))
# (band, what the row claims, whether it is checked, what a check would not verify): withdrawn = the last & the second
row_strategy = st.tuples(st.sampled_from(["standard", "complex"]), measures, st.booleans(), measures)


@given(rows=st.lists(row_strategy, min_size=1, max_size=12))
def test_withdrawing_takes_off_exactly_the_points_of_the_claims_withdrawn(
    rows: list[tuple[str, frozenset[str], bool, frozenset[str]]],
) -> None:
    groups: dict[tuple[str, frozenset[str]], int] = {}
    for band, achieved, _, _ in rows:
        groups[band, achieved] = groups.get((band, achieved), 0) + 1
    counts = [(band, achieved, n) for (band, achieved), n in groups.items()]
    withdrawn = [WithdrawnRow(band, achieved, failed & achieved) for band, achieved, checked, failed in rows if checked]
    taken = sum(
        (FRAMEWORK.bands[w.band] * m.weight for w in withdrawn for m in FRAMEWORK.measures if m.id in w.withdrawn),
        Decimal(0),
    )
    before = points_from_counts(counts, FRAMEWORK).total
    after_groups = without_withdrawn(counts, withdrawn)
    assert points_from_counts(after_groups, FRAMEWORK).total == before - taken
    assert sum(n for _, _, n in after_groups) == len(rows)  # rows stay; only the claims go


def test_a_withdrawal_from_a_row_the_return_does_not_have_is_refused() -> None:
    with pytest.raises(ValueError):
        without_withdrawn(
            [("standard", frozenset({"into_work"}), 1)], [WithdrawnRow("complex", frozenset({"x"}), frozenset({"x"}))]
        )


def test_withdrawn_claims_are_matched_to_the_rows_that_still_make_them() -> None:
    claimed = {"P1": ("standard", frozenset({"into_work", "wellbeing_up"})), "P2": ("complex", frozenset())}
    rows = rows_with_withdrawals(
        claimed, [Claim("P1", "into_work"), Claim("P1", "wellbeing_up"), Claim("P2", "into_work"), Claim("P9", "x")]
    )
    assert rows == [
        WithdrawnRow("standard", frozenset({"into_work", "wellbeing_up"}), frozenset({"into_work", "wellbeing_up"}))
    ]
