"""How each partner performed for its case mix: indirect standardisation and funnel limits.

DESIGN.md section 6. For partner i, with ``n_ib`` its accepted participant rows in band b,
``r_mb`` the alliance-wide share of rows in band b achieving measure m and ``w_m`` the
measure weights::

    O_i = Σ_m w_m · achieved_im
    E_i = Σ_m w_m Σ_b n_ib · r_mb
    V_i = Σ_m w_m² Σ_b n_ib · r_mb (1 − r_mb)
    z_i = (O_i − E_i) / √V_i        ratio O_i/E_i with standard error s_i = √V_i / E_i

Overdispersion (Spiegelhalter 2005, "Handling over-dispersion of performance indicators",
additive random effects): the z-scores are winsorised at 10% each end (the lowest and
highest ⌊k/10⌋ of the k partners are set to the next value in), φ = mean of their squares,
and when k·φ > k − 1::

    τ² = (k·φ − (k − 1)) / (Σ w_i − Σ w_i² / Σ w_i),   w_i = 1 / s_i²

otherwise τ² = 0. Limits on the ratio are then ``1 ± z √(s_i² + τ²)`` and the adjusted
z-score is ``(ratio − 1) / √(s_i² + τ²)``. The drawn funnel uses ``s(E)² = c / E`` with
``c = Σ V_i / Σ E_i``, the alliance's variance per expected point.

Statistics are floats (these are estimates, not money). Pure: counts in, figures out.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist

from domain.periods import Period

WINSOR_PERCENT = 10
# The two funnels drawn on every plot: 95% and 99.8% two-sided.
Z_95 = NormalDist().inv_cdf(0.975)
Z_998 = NormalDist().inv_cdf(0.999)


@dataclass(frozen=True)
class BandCounts:
    """One partner's accepted rows in one complexity band in one month, and how many achieved each measure."""

    partner_id: str
    period: Period
    band: str
    rows: int
    achieved: Mapping[str, int]


@dataclass(frozen=True)
class MonthPoint:
    period: Period
    rows: int
    observed: float
    expected: float

    @property
    def ratio(self) -> float | None:
        return self.observed / self.expected if self.expected > 0 else None


@dataclass(frozen=True)
class PartnerPerformance:
    partner_id: str
    rows: int
    observed: float
    expected: float
    variance: float
    rows_by_band: Mapping[str, int]
    months: tuple[MonthPoint, ...]
    tau2: float = 0.0

    @property
    def comparable(self) -> bool:
        """A ratio needs something expected, and a z-score a spread around it."""
        return self.expected > 0 and self.variance > 0

    @property
    def ratio(self) -> float | None:
        return self.observed / self.expected if self.expected > 0 else None

    @property
    def standard_error(self) -> float | None:
        return math.sqrt(self.variance) / self.expected if self.comparable else None

    @property
    def z(self) -> float | None:
        """The z-score before any overdispersion allowance."""
        return (self.observed - self.expected) / math.sqrt(self.variance) if self.comparable else None

    def _spread(self) -> float | None:
        se = self.standard_error
        return math.sqrt(se * se + self.tau2) if se is not None else None

    @property
    def z_adjusted(self) -> float | None:
        """The z-score against limits widened by τ² (equal to ``z`` when τ² = 0)."""
        spread, ratio = self._spread(), self.ratio
        return (ratio - 1) / spread if spread and ratio is not None else None

    def limits(self, z: float) -> tuple[float, float] | None:
        """This partner's control limits on the ratio at ``z`` (its own standard error plus τ²)."""
        spread = self._spread()
        return (1 - z * spread, 1 + z * spread) if spread is not None else None


@dataclass(frozen=True)
class Overdispersion:
    partners: int  # how many partners the estimate is over
    phi: float  # mean squared winsorised z-score (1 when the alliance is as variable as chance)
    tau2: float  # the additive between-partner variance estimated
    applied: bool  # whether the limits use it (review.overdispersion and τ² > 0)

    METHOD = (
        "Spiegelhalter's additive random-effects allowance: z-scores winsorised at 10% each end, "
        "phi = mean squared z, tau^2 = (k*phi - (k-1)) / (sum w - sum w^2 / sum w) with w = 1/se^2, "
        "0 when k*phi <= k-1"
    )


@dataclass(frozen=True)
class AlliancePerformance:
    partners: tuple[PartnerPerformance, ...]
    rates: Mapping[tuple[str, str], float]  # (measure, band) -> alliance-wide share achieving it
    overdispersion: Overdispersion
    variance_per_expected: float  # c: the drawn funnel's s(E)² = c / E

    def partner(self, partner_id: str) -> PartnerPerformance | None:
        return next((p for p in self.partners if p.partner_id == partner_id), None)

    @property
    def drawable(self) -> bool:
        """Whether a funnel can be drawn: some spread expected (none with no outcome, or every row achieving)."""
        return self.variance_per_expected > 0

    def funnel(self, expected: float, z: float) -> tuple[float, float]:
        """The drawn funnel's limits on the ratio at ``expected`` outcomes (above 0: at 0 the funnel is open)."""
        if expected <= 0 or not self.drawable:
            raise ValueError(f"the funnel has no limits at {expected} expected outcomes with this alliance's spread")
        tau2 = self.overdispersion.tau2 if self.overdispersion.applied else 0.0
        spread = math.sqrt(self.variance_per_expected / expected + tau2)
        return 1 - z * spread, 1 + z * spread


class Against(StrEnum):
    """Where a partner's O/E sits against its own control limits."""

    below = "below its limits"
    within = "within"
    above = "above its limits"


def against(ratio: float, limits: tuple[float, float]) -> Against:
    return Against.below if ratio < limits[0] else Against.above if ratio > limits[1] else Against.within


DRAWN_MARGIN = 0.02  # how far off the drawn line a point is set when it would sit on the wrong side of it


def on_its_side(ratio: float, drawn: tuple[float, float], side: Against) -> float:
    """The O/E to draw a point at against the funnel drawn at its E, so that it sits on the side its own limits
    put it. The drawn funnel is the alliance's average spread (and a rough point is rounded), so a partner below
    its own limits can land on or above the line; it is drawn just beyond it instead."""
    lower, upper = drawn
    if side is Against.below and ratio >= lower:
        return max(lower - DRAWN_MARGIN, 0.0)
    if side is Against.above and ratio <= upper:
        return upper + DRAWN_MARGIN
    if side is Against.within and not lower <= ratio <= upper:
        return min(max(ratio, lower + DRAWN_MARGIN), upper - DRAWN_MARGIN)
    return ratio


def alliance_rates(counts: Iterable[BandCounts], measures: Iterable[str]) -> dict[tuple[str, str], float]:
    """r_mb: across every partner and month, the share of band b's rows achieving measure m."""
    rows: dict[str, int] = {}
    achieved: dict[tuple[str, str], int] = {}
    measure_ids = list(measures)
    for c in counts:
        rows[c.band] = rows.get(c.band, 0) + c.rows
        for m in measure_ids:
            achieved[m, c.band] = achieved.get((m, c.band), 0) + c.achieved.get(m, 0)
    return {(m, b): achieved[m, b] / n for b, n in rows.items() if n > 0 for m in measure_ids}


def _observed(c: BandCounts, weights: Mapping[str, float]) -> float:
    return sum(w * c.achieved.get(m, 0) for m, w in weights.items())


def _expected(c: BandCounts, weights: Mapping[str, float], rates: Mapping[tuple[str, str], float]) -> float:
    return sum(w * c.rows * rates.get((m, c.band), 0.0) for m, w in weights.items())


def _variance(c: BandCounts, weights: Mapping[str, float], rates: Mapping[tuple[str, str], float]) -> float:
    total = 0.0
    for m, w in weights.items():
        r = rates.get((m, c.band), 0.0)
        total += w * w * c.rows * r * (1 - r)
    return total


def winsorised(values: list[float], percent: int = WINSOR_PERCENT) -> list[float]:
    """Each value, with the lowest and highest ⌊k·percent/100⌋ set to the next value inward."""
    k = len(values)
    cut = k * percent // 100
    if cut == 0:
        return list(values)
    ordered = sorted(values)
    low, high = ordered[cut], ordered[k - 1 - cut]
    return [min(max(v, low), high) for v in values]


def estimate_overdispersion(partners: Iterable[PartnerPerformance], *, apply: bool) -> Overdispersion:
    comparable = [p for p in partners if p.comparable]
    k = len(comparable)
    if k < 2:
        return Overdispersion(partners=k, phi=1.0, tau2=0.0, applied=False)
    z = winsorised([p.z for p in comparable if p.z is not None])
    phi = sum(v * v for v in z) / k
    weights = [1 / (p.standard_error or 0.0) ** 2 for p in comparable]
    sum_w = sum(weights)
    denominator = sum_w - sum(w * w for w in weights) / sum_w
    tau2 = (k * phi - (k - 1)) / denominator if k * phi > k - 1 and denominator > 0 else 0.0
    return Overdispersion(partners=k, phi=phi, tau2=tau2, applied=apply and tau2 > 0)


def assess(
    counts: Iterable[BandCounts],
    weights: Mapping[str, Decimal],
    partner_ids: Iterable[str],
    *,
    overdispersion: bool = True,
) -> AlliancePerformance:
    """Every partner's O, E, V, monthly trend and case mix over ``counts`` (one contract year)."""
    rows = list(counts)
    w = {m: float(v) for m, v in weights.items()}
    rates = alliance_rates(rows, w)
    by_partner: dict[str, list[BandCounts]] = {pid: [] for pid in partner_ids}
    for c in rows:
        by_partner.setdefault(c.partner_id, []).append(c)
    plain = [_partner(pid, by_partner[pid], w, rates) for pid in sorted(by_partner)]
    od = estimate_overdispersion(plain, apply=overdispersion)
    tau2 = od.tau2 if od.applied else 0.0
    partners = tuple(
        PartnerPerformance(
            partner_id=p.partner_id,
            rows=p.rows,
            observed=p.observed,
            expected=p.expected,
            variance=p.variance,
            rows_by_band=p.rows_by_band,
            months=p.months,
            tau2=tau2,
        )
        for p in plain
    )
    total_e = sum(p.expected for p in partners)
    per_expected = sum(p.variance for p in partners) / total_e if total_e > 0 else 0.0
    return AlliancePerformance(partners=partners, rates=rates, overdispersion=od, variance_per_expected=per_expected)


def _partner(
    partner_id: str, counts: list[BandCounts], w: Mapping[str, float], rates: Mapping[tuple[str, str], float]
) -> PartnerPerformance:
    bands: dict[str, int] = {}
    months: dict[Period, list[BandCounts]] = {}
    for c in counts:
        bands[c.band] = bands.get(c.band, 0) + c.rows
        months.setdefault(c.period, []).append(c)
    trend = tuple(
        MonthPoint(
            period=period,
            rows=sum(c.rows for c in cs),
            observed=sum(_observed(c, w) for c in cs),
            expected=sum(_expected(c, w, rates) for c in cs),
        )
        for period, cs in sorted(months.items())
    )
    return PartnerPerformance(
        partner_id=partner_id,
        rows=sum(bands.values()),
        observed=sum(_observed(c, w) for c in counts),
        expected=sum(_expected(c, w, rates) for c in counts),
        variance=sum(_variance(c, w, rates) for c in counts),
        rows_by_band=dict(sorted(bands.items())),
        months=trend,
    )
