"""The review against a raw league table (before issue 29): `python -m bench review-league --years 200 --seed 2026`.

The targets of DESIGN.md section 6 per contract year are ``bench.review`` (`python -m bench review`); this older
bench keeps the comparison with a raw league table, on its own smaller world (σ = 0.15, three fixed sizes), judged
by the plain rule (``Review(persistence=False, rank_by=ratio)``) and the plain rule with persistence.

True quality is never observed, so the review is checked on simulated alliances where it is known.
An alliance of 30 partners of three sizes (small 15 rows a month, medium 60, large 200; a year is
12 months of that) and three case mixes (shares of rows in the bands standard / complex /
very_complex: easy 80/15/5, typical 50/30/20, hard 15/35/50). Harder bands have lower base
achievement rates for each of the three measures (weights 3, 2, 1).

Each simulated year draws every partner's true quality ``q_i = exp(σ·N(0, 1))`` with σ = 0.15
(median 1, an average partner has q = 1) and its rows achieve measure m in band b with probability
``min(0.95, base_mb × q_i)``. Why σ = 0.15: the truly worst decile then has q ≤ e^(−1.2816·0.15) ≈ 0.825,
at least 17.5% fewer outcomes than an average partner with the same cases, a shortfall a
commissioner would act on, so "the worst decile" is a real group and not noise; and it is of the
order of a small partner's sampling error (standard error of O/E about 0.07 a year) but several
times a large one's (about 0.02), so both finding and missing the worst are possible. The spread
is the between-partner variation the overdispersion allowance (τ²) is there to estimate.

Three designated "average small" partners (q = 1 exactly, small; a typical, a hard and an easy
case mix) are in every year's alliance. Each year is judged twice: by ``domain.performance.assess`` +
``domain.review.classify`` (the plain rule, ``PLAIN``; every partner has 12 accepted months) and by a
raw league table (the same number of partners, ``bottom_count``, lowest in raw outcome points per
row). The truth is the worst ``bottom_count`` partners by q_i (the worst decile).

``tau2_estimated_mean`` against ``tau2_true_mean`` shows how far the winsorised τ² falls short of
the between-partner variance it estimates (the 10% winsorising trims the z-scores of the large
partners, which carry most of the information): limits narrower than intended, so more flags.

Two scenarios (``--scenario fresh|persistent|both``, default both; ``run`` and ``run_persistent``):

*fresh* (above, ``run``): q_i drawn afresh every year, so last year says nothing about this year and
the persistence rule (``review.persistence``) cannot be judged.

*persistent* (``run_persistent``, JSON under ``"persistent"``): the same alliance (same seed, same
sizes and mixes) over ``years`` consecutive years, preceded by one burn-in year that only supplies
the first "last year". A partner's log-quality follows an AR(1),
``x_t = ρ·x_{t−1} + √(1−ρ²)·σ·N(0, 1)``, ``q_i,t = exp(x_t)``, started from its stationary
distribution N(0, σ²), so the marginal spread of q in any year is the fresh scenario's (σ = 0.15) and
only its persistence is new; the average small partners stay at q = 1. Why ρ = 0.8: a partner's
quality changes slowly, since its staff, managers, methods and referral routes largely carry over
from one year to the next; ρ = 0.8 makes a deviation halve in about three years (ln ½ / ln 0.8 ≈ 3.1,
the time scale of staff turnover and of a contract term) and gives a typical year-on-year change in
q of √(2(1−ρ))·σ ≈ 0.095, clearly smaller than the 0.15 spread between partners but not negligible:
a good partner can decline within a couple of years. ρ = 0 is the fresh scenario and ρ = 1 a fixed q.
Each year is judged four ways on the same data: (a) ``PLAIN`` as in the fresh scenario; (b)
``Review(persistence=True)`` with last year's ``bottom_ids(performance, PERSISTENCE_FRACTION)`` (the
bottom fifth by O/E from last year's ``assess``, as ``services.review.assess_year`` does); (c) the raw
league table; (d) the raw league table with the same rule on raw rates (flagged only if also in
last year's bottom fifth by raw points per row). The truth is still that year's worst decile by q.
``persistence_effect`` counts the flags kept, the false flags (not in the truly worst decile)
with and without the rule, the flags of partners not truly below average, and the change in recall.

What it showed (200 years per seed, mean over seeds; "kept" = share of the true flags the rule keeps):

    ρ     seeds  precision (a) → (b)    recall (a) → (b)   kept   false flags cut
    0.5   10     87.2% → 91.5%          50.4% → 29.0%      57%    2.9×
    0.8   20     87.0% → 91.3%          50.7% → 41.4%      82%    2.0×
    0.9   10     84.9% → 89.7%          51.0% → 45.8%      90%    1.7×
    0.95  10     86.6% → 90.3%          51.5% → 49.0%      95%    1.6×

At ρ = 0.8 the rule raises precision by about 4 pp (2.4 to 7.5 over the seeds), halves the flags
outside the worst decile, cuts the flags of partners not truly below average about tenfold (31 to 3
over 20 × 200 years) and costs about a fifth of the true detections: a partner that has just become
one of the worst, or a truly poor small one that chance lifted out of last year's bottom fifth, waits
a year. DESIGN.md's "cuts false flags about threefold for almost no loss of detection" is not what
this simulation gives: a threefold cut comes only with fast-changing quality (ρ ≈ 0.5), where the rule
loses over 40% of detections, and near-free detection only with ρ ≥ 0.95, where the cut is 1.6×.
"""

import itertools
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from domain.contract import RankBy, Review
from domain.performance import BandCounts, assess
from domain.periods import Period
from domain.review import PERSISTENCE_FRACTION, PreviousYear, bottom_count, bottom_ids, classify, ranking

PLAIN = Review(persistence=False, rank_by=RankBy.ratio)  # the rule this bench judges (issue 29 changed the default)

BANDS = ("standard", "complex", "very_complex")
WEIGHTS = {"housing_sustained": Decimal(3), "into_work": Decimal(2), "wellbeing_up": Decimal(1)}
# Base achievement rate of each measure in each band (standard, complex, very_complex).
BASE_RATES = {
    "housing_sustained": (0.40, 0.30, 0.22),
    "into_work": (0.25, 0.16, 0.10),
    "wellbeing_up": (0.50, 0.42, 0.35),
}
SIZES = {"small": 15, "medium": 60, "large": 200}  # rows a month
MIXES = {"easy": (0.80, 0.15, 0.05), "typical": (0.50, 0.30, 0.20), "hard": (0.15, 0.35, 0.50)}
QUALITY_SD = 0.15
RHO = 0.8  # persistent scenario: year-to-year autocorrelation of a partner's log-quality
CAP = 0.95
PERIOD = Period(2026, 4)  # the year's counts are filed under its first month (one row per partner and band)
MONTHS = 12
AVERAGE_SMALL = ("avg-small-typical", "avg-small-hard", "avg-small-easy")

_BASE = np.array([BASE_RATES[m] for m in WEIGHTS])  # (measure, band)
_W = np.array([float(w) for w in WEIGHTS.values()])


@dataclass(frozen=True)
class SimPartner:
    partner_id: str
    size: str
    mix: str
    quality: float | None = None  # fixed true quality; None: drawn afresh each year

    @property
    def rows_per_month(self) -> int:
        return SIZES[self.size]

    @property
    def shares(self) -> tuple[float, float, float]:
        return MIXES[self.mix]


@dataclass(frozen=True)
class SimYear:
    counts: list[BandCounts]
    quality: dict[str, float]
    points_per_row: dict[str, float]  # raw outcome points per row, what a league table ranks


@dataclass(frozen=True)
class Judged:
    quality: dict[str, float]
    worst: frozenset[str]  # truly worst decile by q
    ours: frozenset[str]  # flagged by assess + classify
    raw: frozenset[str]  # bottom of the raw league table
    tau2: float = 0.0  # the between-partner variance the review estimated
    true_tau2: float = 0.0  # the variance of q_i / q̄ (q̄ weighted by E) it is estimating
    standard_errors: dict[str, float] = field(default_factory=dict)
    bottom_fifth: frozenset[str] = frozenset()  # this year's bottom fifth by O/E: next year's persistence set
    raw_bottom_fifth: frozenset[str] = frozenset()  # the same by raw points per row
    ours_persistent: frozenset[str] = frozenset()  # flagged with Review(persistence=True); needs last year
    raw_persistent: frozenset[str] = frozenset()  # raw bottom decile and last year's raw bottom fifth


def make_alliance(rng: np.random.Generator, partners: int = 30) -> list[SimPartner]:
    """The designated average small partners, then random sizes (30% small, 40% medium, 30% large) and mixes."""
    fixed = [SimPartner(pid, "small", pid.rsplit("-", 1)[1], 1.0) for pid in AVERAGE_SMALL]
    sizes = rng.choice(["small", "medium", "large"], size=partners - len(fixed), p=[0.3, 0.4, 0.3])
    mixes = rng.choice(["easy", "typical", "hard"], size=partners - len(fixed), p=[0.3, 0.4, 0.3])
    drawn = [SimPartner(f"p{i:02d}-{s}-{m}", str(s), str(m)) for i, (s, m) in enumerate(zip(sizes, mixes, strict=True))]
    return fixed + drawn


def simulate_year(
    alliance: Sequence[SimPartner], rng: np.random.Generator, log_quality: np.ndarray | None = None
) -> SimYear:
    """One contract year: each partner's true quality (drawn afresh, or ``exp(log_quality)`` when
    given), and its rows and achievements per band. Partners with a fixed quality keep it."""
    k = len(alliance)
    drawn = np.exp(QUALITY_SD * rng.standard_normal(k) if log_quality is None else log_quality)
    quality = np.array([p.quality if p.quality is not None else drawn[i] for i, p in enumerate(alliance)])
    totals = np.array([MONTHS * p.rows_per_month for p in alliance])
    shares = np.array([p.shares for p in alliance])
    rows = rng.multinomial(totals, shares)  # (partner, band)
    probability = np.minimum(CAP, _BASE[None, :, :] * quality[:, None, None])  # (partner, measure, band)
    achieved = rng.binomial(rows[:, None, :], probability)  # (partner, measure, band)
    measures = list(WEIGHTS)
    counts = [
        BandCounts(
            p.partner_id,
            PERIOD,
            band,
            int(rows[i, b]),
            {m: int(achieved[i, j, b]) for j, m in enumerate(measures)},
        )
        for i, p in enumerate(alliance)
        for b, band in enumerate(BANDS)
    ]
    points = (_W[None, :, None] * achieved).sum(axis=(1, 2)) / rows.sum(axis=1)
    ids = [p.partner_id for p in alliance]
    return SimYear(
        counts=counts,
        quality=dict(zip(ids, quality.tolist(), strict=True)),
        points_per_row=dict(zip(ids, points.tolist(), strict=True)),
    )


def lowest(values: dict[str, float], n: int) -> frozenset[str]:
    """The n lowest, ties by id."""
    return frozenset(sorted(values, key=lambda pid: (values[pid], pid))[:n])


def judge(year: SimYear, review: Review | None = None, last_year: Judged | None = None) -> Judged:
    """The year judged by us and by the raw league table; with ``last_year`` also by both with the
    persistence rule (flagged only if in last year's bottom fifth, by O/E for us, by raw rate for raw)."""
    review = review or PLAIN
    ids = list(year.quality)
    performance = assess(year.counts, WEIGHTS, ids, overdispersion=review.overdispersion)
    months = dict.fromkeys(ids, MONTHS)
    standings = classify(performance, review=review, accepted_months=months)
    comparable = len(ranking(performance))
    raw = lowest(year.points_per_row, bottom_count(comparable, review.bottom_fraction))
    ours_persistent: frozenset[str] = frozenset()
    raw_persistent: frozenset[str] = frozenset()
    if last_year is not None:
        persistent = classify(
            performance,
            review=review.model_copy(update={"persistence": True}),
            accepted_months=months,
            previous=PreviousYear(ranked=frozenset(ids), bottom_fifth=last_year.bottom_fifth),
        )
        ours_persistent = frozenset(s.partner_id for s in persistent if s.flagged)
        raw_persistent = raw & last_year.raw_bottom_fifth
    q = np.array([year.quality[p.partner_id] for p in performance.partners])
    e = np.array([p.expected for p in performance.partners])
    return Judged(
        quality=year.quality,
        worst=lowest(year.quality, bottom_count(len(ids), review.bottom_fraction)),
        ours=frozenset(s.partner_id for s in standings if s.flagged),
        raw=raw,
        tau2=performance.overdispersion.tau2,
        true_tau2=float(np.var(q / ((q * e).sum() / e.sum()))),
        standard_errors={p.partner_id: p.standard_error or math.nan for p in performance.partners},
        bottom_fifth=frozenset(bottom_ids(performance, PERSISTENCE_FRACTION)),
        raw_bottom_fifth=lowest(year.points_per_row, bottom_count(comparable, PERSISTENCE_FRACTION)),
        ours_persistent=ours_persistent,
        raw_persistent=raw_persistent,
    )


def simulate(alliance: Sequence[SimPartner], years: int, rng: np.random.Generator) -> list[Judged]:
    return [judge(simulate_year(alliance, rng)) for _ in range(years)]


def evolve(log_quality: np.ndarray, rng: np.random.Generator, rho: float = RHO) -> np.ndarray:
    """Next year's log-quality: AR(1) with autocorrelation rho and stationary sd ``QUALITY_SD``."""
    innovation = math.sqrt(1 - rho**2) * QUALITY_SD * rng.standard_normal(len(log_quality))
    return rho * log_quality + innovation


def simulate_persistent(
    alliance: Sequence[SimPartner], years: int, rng: np.random.Generator, rho: float = RHO
) -> list[Judged]:
    """``years`` consecutive years of one alliance whose true log-quality follows an AR(1), started
    from its stationary distribution, after one burn-in year that only supplies the first "last year"."""
    log_quality = QUALITY_SD * rng.standard_normal(len(alliance))
    last = judge(simulate_year(alliance, rng, log_quality))  # burn-in: not counted
    judged = []
    for _ in range(years):
        log_quality = evolve(log_quality, rng, rho)
        last = judge(simulate_year(alliance, rng, log_quality), last_year=last)
        judged.append(last)
    return judged


def _rate(hits: int, n: int) -> float:
    return hits / n if n else math.nan


def _percent(x: float) -> float:
    return round(100 * x, 2)


def flag_rate(judged: Iterable[Judged], partner_id: str, method: str) -> float:
    """Share of years ``partner_id`` is flagged by ``method``: a ``Judged`` field (``ours``, ``raw``, ...)."""
    years = list(judged)
    return _rate(sum(partner_id in getattr(j, method) for j in years), len(years))


def summarise(
    judged: Sequence[Judged], partner_ids: Iterable[str], methods: Sequence[str] = ("ours", "raw")
) -> dict[str, Any]:
    years = len(judged)
    partner_ids = list(partner_ids)
    out: dict[str, Any] = {}
    for method in methods:
        flags = sum(len(getattr(j, method)) for j in judged)
        true = sum(len(getattr(j, method) & j.worst) for j in judged)
        below = sum(sum(j.quality[pid] < 1 for pid in getattr(j, method)) for j in judged)
        worst = sum(len(j.worst) for j in judged)
        out[method] = {
            "flags": flags,
            "flags_per_year": round(flags / years, 3),
            "years_with_n_flags": dict(sorted(Counter(len(getattr(j, method)) for j in judged).items())),
            "years_without_a_flag_percent": _percent(sum(not getattr(j, method) for j in judged) / years),
            "precision_worst_decile_percent": _percent(_rate(true, flags)),
            "recall_worst_decile_percent": _percent(_rate(true, worst)),
            "flagged_truly_below_average_percent": _percent(_rate(below, flags)),
            "flag_rate_percent": {pid: _percent(flag_rate(judged, pid, method)) for pid in partner_ids},
        }
    ours, raw = out["ours"]["precision_worst_decile_percent"], out["raw"]["precision_worst_decile_percent"]
    out["precision_ratio_ours_to_raw"] = round(ours / raw, 2) if raw else None
    return out


@dataclass(frozen=True)
class CaseMixComparison:
    years: int
    quality: float
    size: str
    hard_ours: float
    easy_ours: float
    hard_raw: float
    easy_raw: float

    @staticmethod
    def se(a: float, b: float, n: int) -> float:
        """Standard error of the difference of two rates over n years each (pooled)."""
        p = (a + b) / 2
        return math.sqrt(2 * p * (1 - p) / n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "years": self.years,
            "true_quality_of_both": self.quality,
            "size": self.size,
            "hard_mix": "15/35/50",
            "easy_mix": "80/15/5",
            "ours_flag_rate_percent": {"hard": _percent(self.hard_ours), "easy": _percent(self.easy_ours)},
            "ours_difference_pp": _percent(self.hard_ours - self.easy_ours),
            "ours_difference_se_pp": _percent(self.se(self.hard_ours, self.easy_ours, self.years)),
            "raw_flag_rate_percent": {"hard": _percent(self.hard_raw), "easy": _percent(self.easy_raw)},
            "raw_difference_pp": _percent(self.hard_raw - self.easy_raw),
        }


def case_mix_comparison(
    years: int, seed: int, *, quality: float = 0.75, size: str = "medium", partners: int = 30
) -> CaseMixComparison:
    """Two partners of the same size and true quality, one taking mostly hard cases and one mostly
    standard ones, added to a simulated alliance: how often each is flagged, by us and by raw rank."""
    rng = np.random.default_rng(seed)
    pair = [SimPartner("same-q-hard", size, "hard", quality), SimPartner("same-q-easy", size, "easy", quality)]
    alliance = make_alliance(rng, partners) + pair
    judged = simulate(alliance, years, rng)
    return CaseMixComparison(
        years=years,
        quality=quality,
        size=size,
        hard_ours=flag_rate(judged, "same-q-hard", "ours"),
        easy_ours=flag_rate(judged, "same-q-easy", "ours"),
        hard_raw=flag_rate(judged, "same-q-hard", "raw"),
        easy_raw=flag_rate(judged, "same-q-easy", "raw"),
    )


def run(years: int = 200, seed: int = 2026, partners: int = 30) -> dict[str, Any]:
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    alliance = make_alliance(rng, partners)
    judged = simulate(alliance, years, rng)
    result = summarise(judged, AVERAGE_SMALL)
    se_by_size = {
        size: round(
            float(np.nanmean([j.standard_errors[p.partner_id] for j in judged for p in alliance if p.size == size])), 4
        )
        for size in SIZES
        if any(p.size == size for p in alliance)
    }
    ours, raw = result["ours"], result["raw"]
    small_ours = max(ours["flag_rate_percent"].values())
    comparison = case_mix_comparison(years, seed + 1, partners=partners)
    return {
        "years": years,
        "seed": seed,
        "partners": len(alliance),
        "sizes": {s: sum(p.size == s for p in alliance) for s in SIZES},
        "mixes": {m: sum(p.mix == m for p in alliance) for m in MIXES},
        "quality": f"lognormal, median 1, sd of log {QUALITY_SD}",
        "mean_standard_error_of_ratio_by_size": se_by_size,
        "tau2_estimated_mean": round(float(np.mean([j.tau2 for j in judged])), 5),
        "tau2_true_mean": round(float(np.mean([j.true_tau2 for j in judged])), 5),
        **result,
        "targets": {
            "precision_at_least_twice_raw": bool(
                ours["precision_worst_decile_percent"] >= 2 * raw["precision_worst_decile_percent"]
            ),
            "average_small_flagged_under_5_percent": bool(small_ours < 5),
        },
        "case_mix": comparison.as_dict(),
        "seconds": round(time.perf_counter() - start, 2),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def persistence_effect(judged: Sequence[Judged], method: str) -> dict[str, Any]:
    """What adding the persistence rule to ``method`` does: flags kept, false flags cut, detection lost."""
    plain, persistent = (
        [getattr(j, method) for j in judged],
        [getattr(j, f"{method}_persistent") for j in judged],
    )
    worst = sum(len(j.worst) for j in judged)

    def counts(flagged: list[frozenset[str]]) -> tuple[int, int, int]:
        true = sum(len(f & j.worst) for f, j in zip(flagged, judged, strict=True))
        not_below = sum(sum(j.quality[pid] >= 1 for pid in f) for f, j in zip(flagged, judged, strict=True))
        return sum(map(len, flagged)), true, not_below

    (flags, true, not_below), (flags_p, true_p, not_below_p) = counts(plain), counts(persistent)
    return {
        "flags_kept_percent": _percent(_rate(flags_p, flags)),
        "false_flags": {"without": flags - true, "with": flags_p - true_p},
        "false_flags_cut_factor": _ratio(flags - true, flags_p - true_p),
        "flags_not_truly_below_average": {"without": not_below, "with": not_below_p},
        "true_flags": {"without": true, "with": true_p},
        "recall_change_pp": _percent(_rate(true_p, worst) - _rate(true, worst)),
        "precision_change_pp": _percent(_rate(true_p, flags_p) - _rate(true, flags)),
    }


def run_persistent(years: int = 200, seed: int = 2026, partners: int = 30, rho: float = RHO) -> dict[str, Any]:
    """The persistent scenario: one alliance (the same as ``run``'s for the same seed) over ``years``
    consecutive years of slowly changing true quality, judged with and without the persistence rule."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    alliance = make_alliance(rng, partners)
    judged = simulate_persistent(alliance, years, rng, rho)
    methods = ("ours", "ours_persistent", "raw", "raw_persistent")
    result = summarise(judged, AVERAGE_SMALL, methods)
    precision = {m: result[m]["precision_worst_decile_percent"] for m in methods}
    drawn = [p.partner_id for p in alliance if p.quality is None]
    lag = [
        float(np.corrcoef([math.log(a.quality[p]) for p in drawn], [math.log(b.quality[p]) for p in drawn])[0, 1])
        for a, b in itertools.pairwise(judged)
    ]
    return {
        "scenario": "persistent",
        "years": years,
        "burn_in_years": 1,
        "seed": seed,
        "partners": len(alliance),
        "sizes": {s: sum(p.size == s for p in alliance) for s in SIZES},
        "mixes": {m: sum(p.mix == m for p in alliance) for m in MIXES},
        "quality": (
            f"log-quality AR(1), rho {rho}, stationary sd {QUALITY_SD} (lognormal, median 1); "
            f"the {len(AVERAGE_SMALL)} average small partners fixed at q = 1"
        ),
        "rho": rho,
        "mean_cross_partner_correlation_of_log_quality_year_to_year": round(float(np.mean(lag)), 3) if lag else None,
        "tau2_estimated_mean": round(float(np.mean([j.tau2 for j in judged])), 5),
        "tau2_true_mean": round(float(np.mean([j.true_tau2 for j in judged])), 5),
        **result,
        "precision_ratio_ours_persistent_to_raw": _ratio(precision["ours_persistent"], precision["raw"]),
        "precision_ratio_ours_persistent_to_raw_persistent": _ratio(
            precision["ours_persistent"], precision["raw_persistent"]
        ),
        "precision_ratio_raw_persistent_to_raw": _ratio(precision["raw_persistent"], precision["raw"]),
        "persistence_effect": {"ours": persistence_effect(judged, "ours"), "raw": persistence_effect(judged, "raw")},
        "seconds": round(time.perf_counter() - start, 2),
    }


SCENARIOS = ("fresh", "persistent", "both")


def run_scenarios(scenario: str = "both", years: int = 200, seed: int = 2026, partners: int = 30) -> dict[str, Any]:
    """``fresh``: ``run``'s keys; ``persistent``: ``{"persistent": run_persistent(...)}``; ``both``: both."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    out: dict[str, Any] = {}
    if scenario in ("fresh", "both"):
        out.update(run(years=years, seed=seed, partners=partners))
    if scenario in ("persistent", "both"):
        out["persistent"] = run_persistent(years=years, seed=seed, partners=partners)
    return out
