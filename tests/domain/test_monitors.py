"""The gaming monitors: seeded simulations of an alliance (detection and false alarms), then each rule's edges.

The simulated alliance keeps caseloads: each month a participant stays with chance ``STAY`` (three
months on average), so new referrals are about a third of a partner's rows, as in real returns.
New referrals' bands are drawn from the partner's own intake mix, itself drawn around the
alliance's referral mix; outcomes are drawn per row at fixed rates.
"""

import dataclasses
import math
import re
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency

from domain.errors import UsageError
from domain.monitors import (
    CASE_MIX_Z,
    MONITORS,
    Alert,
    Cycling,
    MonitorCode,
    PartnerMonth,
    case_mix_shift,
    deadline_cluster,
    participant_cycling,
    run_monitors,
    volume_jump,
)
from domain.periods import Period

MIX = {"standard": 0.40, "complex": 0.35, "very_complex": 0.25}
BANDS = {"standard": Decimal("1.0"), "complex": Decimal("1.5"), "very_complex": Decimal("2.0")}
RATES = {"housing_sustained": 0.10, "into_work": 0.06, "wellbeing_up": 0.20}
STAY = 2 / 3
START = Period(2026, 4)  # month 1 of contract year 1
MONTHS = 12
PERIODS = [START.plus(i) for i in range(MONTHS)]
# the last two months of each contract year, when the annual review is near
DEADLINES = frozenset({START.plus(-2), START.plus(-1), START.plus(10), START.plus(11)})
NULL_YEARS = 200
DETECTION_SEEDS = 20

ClaimFactor = Callable[[int, Period], float]


def easier(standard: float) -> np.ndarray:
    """The referral mix with ``standard`` as the standard share, the harder bands keeping their proportions."""
    hard = (1 - standard) / (MIX["complex"] + MIX["very_complex"])
    return np.array([standard, MIX["complex"] * hard, MIX["very_complex"] * hard])


EASIER_REFERRALS = easier(0.7) / np.array(list(MIX.values()))  # by band, how much likelier a referral becomes


def simulate(
    seed: int,
    *,
    partners: int = 12,
    sizes: tuple[int, int] = (40, 60),
    tiny: int = 0,
    gamer_from: int | None = None,
    gamer_standard: float = 0.9,
    gamer_parks: float = 0.5,
    referrals_easier_from: int | None = None,
    claim_factor: ClaimFactor = lambda i, p: 1.0,
) -> list[PartnerMonth]:
    """A year of an alliance. Partner p00 games from month ``gamer_from`` (1-based): its new referrals
    become ``gamer_standard`` standard and it lets hard cases go (their chance of staying falls by
    ``gamer_parks``). From ``referrals_easier_from`` the alliance's referrals get easier (40% -> 70% standard)
    and every partner's intake follows in the same proportions.
    ``tiny`` extra partners have caseloads of 5."""
    rng = np.random.default_rng(seed)
    bands = list(MIX)
    out: list[PartnerMonth] = []
    for i in range(partners + tiny):
        size = int(rng.integers(sizes[0], sizes[1] + 1)) if i < partners else 5
        own_mix = rng.dirichlet(100 * np.array(list(MIX.values())))
        case = rng.multinomial(size, own_mix)
        for t in range(-12, MONTHS + 1):  # a year of burn-in settles the caseload
            mix, stay = own_mix, np.full(3, STAY)
            if referrals_easier_from is not None and t >= referrals_easier_from:
                mix = own_mix * EASIER_REFERRALS / (own_mix * EASIER_REFERRALS).sum()
            if i == 0 and gamer_from is not None and t >= gamer_from:
                mix, stay = easier(gamer_standard), np.array([STAY, STAY * (1 - gamer_parks), STAY * (1 - gamer_parks)])
            new = rng.multinomial(rng.poisson(size * (1 - STAY)), mix)
            case = rng.binomial(case, stay) + new
            if t < 1:
                continue
            period = START.plus(t - 1)
            rows = int(case.sum())
            factor = claim_factor(i, period)
            out.append(
                PartnerMonth(
                    partner_id=f"p{i:02d}",
                    period=period,
                    rows_by_band=dict(zip(bands, map(int, case), strict=True)),
                    new_by_band=dict(zip(bands, map(int, new), strict=True)),
                    achieved={m: int(rng.binomial(rows, min(1.0, r * factor))) for m, r in RATES.items()},
                )
            )
    return out


def case_mix_months(months: list[PartnerMonth], partner_id: str) -> list[int]:
    """The months (1-based) in which the case-mix monitor fires for ``partner_id``."""
    return [
        i + 1
        for i, period in enumerate(PERIODS)
        if any(a.partner_id == partner_id for a in case_mix_shift(months, period=period, bands=BANDS))
    ]


def flagged_share(
    alliances: list[list[PartnerMonth]], run: Callable[[list[PartnerMonth], Period], list[Alert]]
) -> float:
    """Over simulated alliance-years, the share of partner-years with at least one alert."""
    hit = total = 0
    for months in alliances:
        ids = {m.partner_id for m in months}
        flagged = {a.partner_id for period in PERIODS for a in run(months, period)}
        hit += len(flagged)
        total += len(ids)
    return hit / total


def month(
    pid: str, period: Period, rows: dict[str, int], new: dict[str, int] | None = None, **achieved: int
) -> PartnerMonth:
    return PartnerMonth(pid, period, rows, new if new is not None else rows, achieved)


def flat(pid: str, rows: int, periods: list[Period] = PERIODS, **achieved: int) -> list[PartnerMonth]:
    return [PartnerMonth(pid, p, {"standard": rows}, {"standard": rows}, achieved) for p in periods]


def figure(alert: Alert, name: str) -> float:
    value = alert.params[name]
    assert isinstance(value, int | float), name
    return float(value)


# --- case mix: the seeded simulation -------------------------------------------------------


@pytest.fixture(scope="module")
def null_alliances() -> list[list[PartnerMonth]]:
    return [simulate(10_000 + seed) for seed in range(NULL_YEARS)]


def test_a_partner_moving_to_easier_cases_is_picked_up_within_three_months() -> None:
    firsts = []
    for seed in range(DETECTION_SEEDS):
        fired = case_mix_months(simulate(seed, gamer_from=7), "p00")
        assert fired, f"seed {seed}: never flagged"
        assert min(fired) >= 7, f"seed {seed}: flagged before it moved, in month {min(fired)}"
        assert min(fired) <= 9, f"seed {seed}: first flagged in month {min(fired)}"
        firsts.append(min(fired))
    print(
        f"\ncase mix, standard intake 0.4 -> 0.9: first flagged in month 7/8/9: {[firsts.count(m) for m in (7, 8, 9)]}"
    )


def test_a_milder_move_to_easier_cases_is_mostly_picked_up_within_three_months() -> None:
    # Intake 0.4 -> 0.7 standard and hard cases' chance of staying halved: rows ~0.75 standard by month 9.
    seeds = range(100, 150)
    caught = [min(case_mix_months(simulate(s, gamer_from=7, gamer_standard=0.7), "p00") or [99]) for s in seeds]
    share = sum(7 <= m <= 9 for m in caught) / len(caught)
    print(f"\ncase mix, standard intake 0.4 -> 0.7: caught within three months in {share:.0%} of {len(caught)} seeds")
    assert share >= 0.7


def test_average_partners_rarely_set_off_the_case_mix_monitor(null_alliances: list[list[PartnerMonth]]) -> None:
    share = flagged_share(null_alliances, lambda ms, p: case_mix_shift(ms, period=p, bands=BANDS))
    print(f"\ncase mix: partner-years with any alert, nobody gaming: {share:.2%} of {NULL_YEARS * 12}")
    assert share <= 0.02


def test_an_alliance_wide_move_of_the_referral_mix_does_not_flag_the_partners() -> None:
    # every partner's rows follow the referrals (with the lag of its caseload): no more alerts than by chance
    moved = [simulate(30_000 + seed, referrals_easier_from=7) for seed in range(100)]
    share = flagged_share(moved, lambda ms, p: case_mix_shift(ms, period=p, bands=BANDS))
    print(f"\ncase mix, the whole alliance's referrals 0.4 -> 0.7 standard: partner-years with any alert: {share:.2%}")
    assert share <= 0.01


def test_a_tiny_partner_is_not_flagged_by_chance() -> None:
    tiny = [f"p{i:02d}" for i in range(12, 15)]
    flagged = 0
    for seed in range(50):
        months = simulate(seed, tiny=3)
        flagged += sum(
            1 for p in PERIODS for a in case_mix_shift(months, period=p, bands=BANDS) if a.partner_id in tiny
        )
    assert flagged == 0


def test_a_small_partner_just_above_the_minimum_is_rarely_flagged() -> None:
    smalls = [simulate(20_000 + seed, sizes=(10, 14)) for seed in range(60)]
    share = flagged_share(smalls, lambda ms, p: case_mix_shift(ms, period=p, bands=BANDS))
    print(f"\ncase mix, partners of 10-14 rows: partner-years with any alert: {share:.2%}")
    assert share <= 0.02


def test_the_case_mix_z_agrees_with_an_independent_computation() -> None:
    months = simulate(3, gamer_from=7)
    period = PERIODS[8]
    [alert] = [a for a in case_mix_shift(months, period=period, bands=BANDS) if a.partner_id == "p00"]
    difficulty = np.array([float(v) for v in BANDS.values()])

    def group(ms: list[PartnerMonth], field: str) -> np.ndarray:
        counts = np.sum([[getattr(m, field)[b] for b in BANDS] for m in ms], axis=0)
        return np.repeat(difficulty, counts)

    recent = [p for p in PERIODS if period.plus(-2) <= p <= period]
    base = [p for p in PERIODS if p < period.plus(-2)]
    own = sorted((m for m in months if m.partner_id == "p00"), key=lambda m: m.period)
    rest = [m for m in months if m.partner_id != "p00"]
    parts = []
    for periods in (recent, base):
        ms = [m for m in own if m.period in periods]
        people = ms[0].rows + sum(sum(m.new_by_band.values()) for m in ms[1:])  # consecutive months
        parts.append((group(ms, "rows_by_band"), people))
        ref = group([m for m in rest if m.period in periods], "new_by_band")
        parts.append((ref, len(ref)))
    (pr, _), (rr, _), (pb, _), (rb, _) = parts
    se = math.sqrt(sum(np.var(x, ddof=1) / n for x, n in parts))
    z = -((pr.mean() - pb.mean()) - (rr.mean() - rb.mean())) / se
    assert alert.statistic == pytest.approx(z)
    assert alert.params["difficulty_recent"] == pytest.approx(pr.mean())
    assert alert.params["rest_difficulty_baseline"] == pytest.approx(rb.mean())
    assert alert.params["rows_recent"] == len(pr) and alert.params["months_baseline"] == 6
    assert alert.params["easiest_share_recent"] == pytest.approx(float(np.mean(pr == 1.0)))
    assert alert.statistic >= CASE_MIX_Z


# --- case mix: the rule's edges ------------------------------------------------------------------


def _shifted(rest_new: bool) -> list[PartnerMonth]:
    mixed, easy = {"standard": 20, "complex": 20, "very_complex": 20}, {"standard": 50, "complex": 5, "very_complex": 5}
    own = [
        month("a", p, mixed if i < 9 else easy, {b: n // 3 for b, n in mixed.items()}) for i, p in enumerate(PERIODS)
    ]
    others = [month(f"r{k}", p, mixed, mixed if rest_new else {}) for k in range(5) for p in PERIODS]
    return own + others


def test_a_clear_move_is_flagged_with_its_figures() -> None:
    [alert] = case_mix_shift(_shifted(rest_new=True), period=PERIODS[11], bands=BANDS)
    assert alert.code == MonitorCode.case_mix_shift and alert.partner_id == "a" and alert.period == PERIODS[11]
    assert alert.params["difficulty_baseline"] == pytest.approx(1.5)
    assert alert.params["difficulty_recent"] == pytest.approx((50 + 7.5 + 10) / 60)
    assert alert.params["easiest_band"] == "standard"
    assert alert.params["easiest_share_recent"] == pytest.approx(50 / 60)
    assert alert.params["rows_recent"] == 180 and alert.params["rows_baseline"] == 540
    assert alert.params["rest_source"] == "referrals"
    assert (alert.params["months_recent"], alert.params["months_baseline"]) == (3, 9)


def test_without_referrals_the_rest_is_judged_on_its_rows() -> None:
    [alert] = case_mix_shift(_shifted(rest_new=False), period=PERIODS[11], bands=BANDS)
    assert alert.params["rest_source"] == "rows"


def test_months_after_the_period_are_ignored_and_fewer_than_three_earlier_months_judge_nothing() -> None:
    months = _shifted(rest_new=True)
    assert case_mix_shift(months, period=PERIODS[8], bands=BANDS) == []  # before the move, whatever follows it
    late = [m for m in months if m.partner_id != "a" or m.period >= PERIODS[7]]
    assert case_mix_shift(late, period=PERIODS[11], bands=BANDS) == []  # a's earlier months: only 8 and 9


def test_a_partner_without_a_return_for_the_period_is_not_judged_on_older_months() -> None:
    months = [m for m in _shifted(rest_new=True) if not (m.partner_id == "a" and m.period == PERIODS[11])]
    assert case_mix_shift(months, period=PERIODS[11], bands=BANDS) == []


def test_a_harder_referral_mix_alone_does_not_flag_a_partner_whose_own_mix_held() -> None:
    mixed, hard = {"standard": 20, "complex": 20, "very_complex": 20}, {"standard": 5, "complex": 5, "very_complex": 50}
    own = [month("a", p, mixed, {"standard": 7, "complex": 7, "very_complex": 6}) for p in PERIODS]
    others = [month(f"r{k}", p, mixed, mixed if i < 9 else hard) for k in range(5) for i, p in enumerate(PERIODS)]
    assert case_mix_shift(own + others, period=PERIODS[11], bands=BANDS) == []


def test_two_returns_for_one_partner_and_month_are_refused() -> None:
    with pytest.raises(UsageError, match="two returns for partner a"):
        case_mix_shift(flat("a", 10) + flat("a", 10)[:1], period=PERIODS[11], bands=BANDS)


def test_rows_in_a_band_the_framework_does_not_list_are_refused() -> None:
    months = [month("a", p, {"standard": 10, "mystery": 5}) for p in PERIODS] + flat("b", 30)
    with pytest.raises(UsageError, match="mystery"):
        case_mix_shift(months, period=PERIODS[11], bands=BANDS)


# --- deadline --------------------------------------------------------------------------------------


def _deadline_factor(partners: set[int], factor: float) -> ClaimFactor:
    return lambda i, p: factor if i in partners and p in DEADLINES else 1.0


def test_a_partner_whose_claims_jump_before_the_deadline_is_flagged() -> None:
    for seed in range(10):
        months = simulate(seed, claim_factor=_deadline_factor({0}, 2.0))
        alerts = deadline_cluster(months, period=PERIODS[11], deadline_periods=DEADLINES)
        assert [a.partner_id for a in alerts] == ["p00"], seed
    [alert] = alerts
    assert alert.params["deadline_months"] == 2 and alert.params["other_months"] == 10
    assert figure(alert, "rate_deadline") == pytest.approx(
        figure(alert, "claims_deadline") / figure(alert, "rows_deadline")
    )
    assert figure(alert, "rate_deadline") > 1.5 * figure(alert, "rate_other")


def test_an_alliance_wide_rise_before_the_deadline_flags_no_one() -> None:
    for seed in range(20):
        months = simulate(seed, claim_factor=_deadline_factor(set(range(12)), 1.6))
        for period in (PERIODS[10], PERIODS[11]):
            assert deadline_cluster(months, period=period, deadline_periods=DEADLINES) == [], seed


def test_a_period_not_before_a_deadline_raises_nothing() -> None:
    months = simulate(1, claim_factor=lambda i, p: 3.0 if i == 0 and p >= PERIODS[9] else 1.0)
    assert deadline_cluster(months, period=PERIODS[9], deadline_periods=DEADLINES) == []
    assert deadline_cluster(months, period=PERIODS[10], deadline_periods=DEADLINES)  # the same data, a deadline month


def test_average_partners_rarely_set_off_the_deadline_monitor(null_alliances: list[list[PartnerMonth]]) -> None:
    share = flagged_share(null_alliances, lambda ms, p: deadline_cluster(ms, period=p, deadline_periods=DEADLINES))
    print(f"\ndeadline: partner-years with any alert, nobody gaming: {share:.2%}")
    assert share <= 0.01


def test_a_modest_rise_is_not_clustering_however_large_the_partner() -> None:
    big = [month("a", p, {"standard": 5000}, wellbeing_up=1150 if p in DEADLINES else 1000) for p in PERIODS]
    rest = [m for k in range(10) for m in flat(f"r{k}", 2000, wellbeing_up=400)]
    assert deadline_cluster(big + rest, period=PERIODS[11], deadline_periods=DEADLINES) == []  # +15%, z about 5
    bigger = [dataclasses.replace(m, achieved={"wellbeing_up": 1250}) if m.period in DEADLINES else m for m in big]
    assert deadline_cluster(bigger + rest, period=PERIODS[11], deadline_periods=DEADLINES)  # +25%


# --- volume ----------------------------------------------------------------------------------------


def _volumes(own: list[int], rest: list[int] | None = None) -> list[PartnerMonth]:
    periods = PERIODS[-len(own) :]
    theirs = rest or [50] * len(own)
    return [month("a", p, {"standard": n}) for p, n in zip(periods, own, strict=True)] + [
        month(f"r{k}", p, {"standard": n + k}) for k in range(11) for p, n in zip(periods, theirs, strict=True)
    ]


def test_a_jump_from_about_50_to_120_rows_is_flagged() -> None:
    [alert] = volume_jump(_volumes([50, 48, 53, 51, 49, 52, 120]), period=PERIODS[11])
    assert alert.code == MonitorCode.volume_jump and alert.partner_id == "a"
    assert alert.params == {"rows": 120, "median": 51, "ratio": pytest.approx(120 / 51), "rest_ratio": 1.0, "months": 6}
    assert alert.statistic == pytest.approx((120 - 51) / math.sqrt(51))


def test_an_alliance_wide_jump_flags_no_one() -> None:
    months = _volumes([50, 48, 53, 51, 49, 52, 120], [50, 50, 50, 50, 50, 50, 120])
    assert volume_jump(months, period=PERIODS[11]) == []


def test_fewer_than_three_previous_months_judge_nothing() -> None:
    assert volume_jump(_volumes([50, 52, 120]), period=PERIODS[11]) == []
    assert volume_jump(_volumes([50, 51, 52, 120]), period=PERIODS[11])


def test_a_small_partner_doubling_is_not_a_jump() -> None:
    assert volume_jump(_volumes([4, 5, 6, 5, 4, 5, 13]), period=PERIODS[11]) == []  # under 10 rows more


def test_plausible_noise_raises_no_volume_jump(null_alliances: list[list[PartnerMonth]]) -> None:
    share = flagged_share(null_alliances, lambda ms, p: volume_jump(ms, period=p))
    print(f"\nvolume: partner-years with any alert, nobody gaming: {share:.2%}")
    assert share <= 0.005
    rng = np.random.default_rng(5)
    for _ in range(200):
        noisy = [int(n) for n in rng.poisson(50, 7)]
        assert volume_jump(_volumes(noisy), period=PERIODS[11]) == [], noisy


def test_returns_still_to_come_in_do_not_make_a_partner_look_suspicious() -> None:
    months = [
        m for m in _volumes([50, 48, 53, 51, 49, 52, 70]) if m.partner_id in ("a", "r0") or m.period < PERIODS[11]
    ]
    # only r0 of the rest has reported: the rest's total fell by 10/11ths, which must not lower the bar
    assert volume_jump(months, period=PERIODS[11]) == []


# --- cycling ---------------------------------------------------------------------------------------


REST_1PC = [Cycling(f"r{k:02d}", participants=300, reentered=3, rereferred=2) for k in range(11)]


def test_a_partner_cycling_ten_percent_against_one_percent_is_flagged() -> None:
    [alert] = participant_cycling([Cycling("a", 300, reentered=30, rereferred=12), *REST_1PC], period=PERIODS[11])
    assert alert.code == MonitorCode.participant_cycling and alert.period == PERIODS[11]
    assert alert.params == {
        "participants": 300,
        "reentered": 30,
        "rereferred": 12,
        "share": pytest.approx(0.1),
        "rest_share": pytest.approx(0.01),
    }


def test_the_cycling_z_agrees_with_scipys_chi_square() -> None:
    [alert] = participant_cycling([Cycling("a", 300, reentered=30, rereferred=12), *REST_1PC], period=PERIODS[11])
    chi2, _, _, _ = chi2_contingency([[30, 270], [33, 3300 - 33]], correction=False)
    assert alert.statistic == pytest.approx(math.sqrt(chi2))


def test_the_same_share_as_the_rest_is_not_flagged() -> None:
    assert participant_cycling([Cycling("a", 300, reentered=3, rereferred=3), *REST_1PC], period=PERIODS[11]) == []


def test_a_participant_both_reentered_and_rereferred_counts_once() -> None:
    # 4 and 4 could be 8 participants, or the same 4: counted as 4, under the minimum of 5
    assert participant_cycling([Cycling("a", 20, reentered=4, rereferred=4), *REST_1PC], period=PERIODS[11]) == []


def test_a_small_partner_with_a_high_share_but_few_cycled_is_not_flagged() -> None:
    assert participant_cycling([Cycling("a", 8, reentered=4, rereferred=0), *REST_1PC], period=PERIODS[11]) == []


# --- the catalogue and the evidence ----------------------------------------------------------------


@pytest.fixture(scope="module")
def one_of_each() -> dict[MonitorCode, Alert]:
    months = _shifted(rest_new=True)
    cycling = [Cycling("a", 300, reentered=30, rereferred=12), *REST_1PC]
    alerts = [
        *case_mix_shift(months, period=PERIODS[11], bands=BANDS),
        *deadline_cluster(
            simulate(0, claim_factor=_deadline_factor({0}, 2.5)), period=PERIODS[11], deadline_periods=DEADLINES
        ),
        *volume_jump(_volumes([50, 48, 53, 51, 49, 52, 120]), period=PERIODS[11]),
        *participant_cycling(cycling, period=PERIODS[11]),
    ]
    found = {a.code: a for a in alerts}
    assert set(found) == set(MonitorCode)
    return found


def test_the_catalogue_covers_every_code_and_names_exactly_the_counts_emitted(
    one_of_each: dict[MonitorCode, Alert],
) -> None:
    assert set(MONITORS) == set(MonitorCode)
    for code, alert in one_of_each.items():
        info = MONITORS[code]
        assert info.code == code and info.title and info.what.endswith(".")
        # a count is an integer param that is not a number of months
        emitted = {k for k, v in alert.params.items() if isinstance(v, int) and "months" not in k}
        assert info.counts == emitted, code


@pytest.mark.parametrize("code", list(MonitorCode))
def test_evidence_renders_every_count_through_the_callable(
    code: MonitorCode, one_of_each: dict[MonitorCode, Alert]
) -> None:
    alert = one_of_each[code]
    counts = sorted(MONITORS[code].counts)
    marked = {k: 7001 + i for i, k in enumerate(counts)}
    text = dataclasses.replace(alert, params={**alert.params, **marked}).evidence(lambda n: f"«{n}»")
    for value in marked.values():
        assert f"«{value}»" in text
    assert "700" not in re.sub(r"«\d+»", "", text), text  # no count appears raw
    small = dataclasses.replace(alert, params={**alert.params, **dict.fromkeys(counts, 2)})
    assert small.evidence(lambda n: "<5" if n < 5 else str(n)).count("<5") == len(counts)
    assert str(alert.period) in alert.evidence()
    assert len(re.findall(r"[.:]\s", alert.evidence() + " ")) <= 3  # a sentence or two


def test_evidence_reads_as_plain_english(one_of_each: dict[MonitorCode, Alert]) -> None:
    assert one_of_each[MonitorCode.volume_jump].evidence() == (
        "It reported 120 rows in 2027-03, 2.4 times its median of 51 over its previous 6 months, "
        "while the rest of the alliance's rows changed by a factor of 1.00."
    )
    assert one_of_each[MonitorCode.participant_cycling].evidence() == (
        "Of its 300 participants in the months to 2027-03, 30 came back after a gap and 12 were referred more "
        "than once: at least 10.0% cycled, against 1.0% across the rest of the alliance."
    )


# --- all four ------------------------------------------------------------------------------------


def test_run_monitors_runs_all_four_sorted_by_partner_and_code() -> None:
    months = simulate(0, claim_factor=_deadline_factor({0}, 2.5))
    months = [
        dataclasses.replace(m, rows_by_band={"standard": 150})
        if m.partner_id == "p01" and m.period == PERIODS[11]
        else m
        for m in months
    ]
    cycling = [Cycling("p00", 300, reentered=30, rereferred=12), *REST_1PC]
    alerts = run_monitors(months, cycling, period=PERIODS[11], bands=BANDS, deadline_periods=DEADLINES)
    assert [(a.partner_id, a.code) for a in alerts] == [
        ("p00", MonitorCode.deadline_cluster),
        ("p00", MonitorCode.participant_cycling),
        ("p01", MonitorCode.case_mix_shift),
        ("p01", MonitorCode.volume_jump),
    ]


@st.composite
def alliances(draw: st.DrawFn) -> list[PartnerMonth]:
    out = []
    for k in range(draw(st.integers(1, 4))):
        for period in draw(st.sets(st.sampled_from(PERIODS), max_size=MONTHS)):
            rows = {b: draw(st.integers(0, 60)) for b in BANDS}
            new = {b: draw(st.integers(0, n)) for b, n in rows.items()}
            total = sum(rows.values())
            achieved = {m: draw(st.integers(0, total)) for m in RATES}
            out.append(PartnerMonth(f"p{k}", period, rows, new, achieved))
    return out


@settings(max_examples=300, deadline=None)
@given(alliances(), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400), st.integers(0, 400)), max_size=4))
def test_any_alert_is_about_the_period_reaches_its_threshold_and_renders(
    months: list[PartnerMonth], figures: list[tuple[int, int, int]]
) -> None:
    cycling = [Cycling(f"p{k}", n, min(a, n), min(b, n)) for k, (n, a, b) in enumerate(figures)]
    alerts = run_monitors(months, cycling, period=PERIODS[11], bands=BANDS, deadline_periods=DEADLINES)
    assert alerts == sorted(alerts, key=lambda a: (a.partner_id, a.code))
    for a in alerts:
        assert a.period == PERIODS[11] and a.statistic >= a.threshold
        assert MONITORS[a.code].counts <= set(a.params)
        assert a.evidence(lambda n: "<5" if n < 5 else str(n))
