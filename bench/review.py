"""Seeded simulation of the annual review (DESIGN.md section 6): `python -m bench review --years 200 --seed 2026`.

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
``domain.review.classify`` (``Review()`` defaults; every partner has 12 accepted months) and by a
raw league table (the same number of partners, ``bottom_count``, lowest in raw outcome points per
row). The truth is the worst ``bottom_count`` partners by q_i (the worst decile).

``tau2_estimated_mean`` against ``tau2_true_mean`` shows how far the winsorised τ² falls short of
the between-partner variance it estimates (the 10% winsorising trims the z-scores of the large
partners, which carry most of the information): limits narrower than intended, so more flags.
"""

import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from domain.contract import Review
from domain.performance import BandCounts, assess
from domain.periods import Period
from domain.review import bottom_count, classify, ranking

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


def make_alliance(rng: np.random.Generator, partners: int = 30) -> list[SimPartner]:
    """The designated average small partners, then random sizes (30% small, 40% medium, 30% large) and mixes."""
    fixed = [SimPartner(pid, "small", pid.rsplit("-", 1)[1], 1.0) for pid in AVERAGE_SMALL]
    sizes = rng.choice(["small", "medium", "large"], size=partners - len(fixed), p=[0.3, 0.4, 0.3])
    mixes = rng.choice(["easy", "typical", "hard"], size=partners - len(fixed), p=[0.3, 0.4, 0.3])
    drawn = [SimPartner(f"p{i:02d}-{s}-{m}", str(s), str(m)) for i, (s, m) in enumerate(zip(sizes, mixes, strict=True))]
    return fixed + drawn


def simulate_year(alliance: Sequence[SimPartner], rng: np.random.Generator) -> SimYear:
    """One contract year: each partner's true quality, and its rows and achievements per band."""
    k = len(alliance)
    drawn = np.exp(QUALITY_SD * rng.standard_normal(k))
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


def judge(year: SimYear, review: Review | None = None) -> Judged:
    review = review or Review()
    ids = list(year.quality)
    performance = assess(year.counts, WEIGHTS, ids, overdispersion=review.overdispersion)
    standings = classify(performance, review=review, accepted_months=dict.fromkeys(ids, MONTHS))
    n = bottom_count(len(ranking(performance)), review.bottom_fraction)
    q = np.array([year.quality[p.partner_id] for p in performance.partners])
    e = np.array([p.expected for p in performance.partners])
    return Judged(
        quality=year.quality,
        worst=lowest(year.quality, bottom_count(len(ids), review.bottom_fraction)),
        ours=frozenset(s.partner_id for s in standings if s.flagged),
        raw=lowest(year.points_per_row, n),
        tau2=performance.overdispersion.tau2,
        true_tau2=float(np.var(q / ((q * e).sum() / e.sum()))),
        standard_errors={p.partner_id: p.standard_error or math.nan for p in performance.partners},
    )


def simulate(alliance: Sequence[SimPartner], years: int, rng: np.random.Generator) -> list[Judged]:
    return [judge(simulate_year(alliance, rng)) for _ in range(years)]


def _rate(hits: int, n: int) -> float:
    return hits / n if n else math.nan


def _percent(x: float) -> float:
    return round(100 * x, 2)


def flag_rate(judged: Iterable[Judged], partner_id: str, method: str) -> float:
    """Share of years ``partner_id`` is flagged by ``method`` (``ours`` or ``raw``)."""
    years = list(judged)
    return _rate(sum(partner_id in getattr(j, method) for j in years), len(years))


def summarise(judged: Sequence[Judged], partner_ids: Iterable[str]) -> dict[str, Any]:
    years = len(judged)
    out: dict[str, Any] = {}
    for method in ("ours", "raw"):
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
