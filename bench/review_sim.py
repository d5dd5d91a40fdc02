"""The simulated alliances the review is judged on (issue 29, DESIGN.md section 6), and a numpy mirror of its rules.

The generator (one draw per alliance; every alliance is independent), as the ``gentle`` scenario (the default) has it;
every number below is a ``Generator`` parameter (an option of ``python -m bench review``), and ``ISSUE`` (``--scenario
issue``) sets them so that the rule shipped before issue 29 reproduces the issue's own simulation:

- ``N`` partners. Size: rows a month lognormal, median 10, sd of log 1.0 (at least 1), so a year holds from a dozen
  rows to over a thousand: most partners are small, and a small partner's O/E is noisy (standard error about 0.2).
  Case mix: Dirichlet over the bands standard / complex / very_complex with mean 50/30/20 and concentration 10
  (α = 5, 3, 2).
- True quality ``q = exp(x)``: ``x`` an AR(1) over the years, ``x_t = ρ·x_{t−1} + √(1−ρ²)·σ·N(0, 1)`` with σ = 0.25
  (the issue's σq) and ρ = 0.8, started from its stationary distribution N(0, σ²): in any year q is lognormal,
  median 1, sd of log 0.25; a deviation halves in about three years. A row achieves measure m in band b with
  probability ``min(0.95, base_mb × q)`` (the bases and weights 3, 2, 1 of ``BASE_RATES`` and ``WEIGHTS``).
- Sentinels: partners of exactly average quality (q = 1 every year) of three sizes (small 3, medium 10, large 36
  rows a month: the 10th, 50th and 90th percentiles of the size distribution), each with a hard (15/35/50) or an
  easy (80/15/5) case mix. With N ≥ 24 all six are in every alliance; with fewer partners two are (the hard and easy
  partner of one size, the size taken in turn alliance by alliance), so that they do not make up half the alliance.
  They are partners like any other: they count in the alliance's rates, its τ² and its bottom fraction.
- A year is drawn as two halves of six months (each half's rows multinomial over the partner's mix, its achievements
  binomial), so that a rule may look at each half; the year is their sum.
- The years of an alliance are consecutive five-year contracts: contract year 1 has no previous year (a new
  contract, as ``services.review`` sees it: year 1 has nothing before it), years 2 to 5 have the one before.

The rules are the domain's (``domain.performance.assess``, ``domain.review.classify``); this module repeats them on
arrays (every alliance of a year at once) so that thousands of alliances run in minutes. ``tests/domain/
test_review_simulation.py`` proves the mirror gives the domain's figures and the domain's verdict on seeded
alliances, partner by partner, for every rule.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from domain.performance import WINSOR_PERCENT, Z_998

BANDS = ("standard", "complex", "very_complex")
WEIGHTS = {"housing_sustained": Decimal(3), "into_work": Decimal(2), "wellbeing_up": Decimal(1)}
BASE_RATES = {  # each measure's achievement rate in each band at q = 1
    "housing_sustained": (0.40, 0.30, 0.22),
    "into_work": (0.25, 0.16, 0.10),
    "wellbeing_up": (0.50, 0.42, 0.35),
}
CAP = 0.95
MIX_MEAN = (0.5, 0.3, 0.2)
SENTINEL_MIXES = {"hard": (0.15, 0.35, 0.50), "easy": (0.80, 0.15, 0.05)}
SENTINEL_SIZE_NAMES = ("small", "medium", "large")
SENTINELS = tuple(f"{size}-{mix}" for size in SENTINEL_SIZE_NAMES for mix in SENTINEL_MIXES)
ALL_SENTINELS_FROM = 24  # partners: below it, two sentinels an alliance
CONTRACT_YEARS = 5
HALF = 6  # months in each half of a year
PERSISTENCE_FRACTION = 0.2  # domain.review.PERSISTENCE_FRACTION


@dataclass(frozen=True)
class Generator:
    """The generator's free parameters (``python -m bench review`` takes each as an option). The defaults are the
    ``gentle`` scenario above; ``SCENARIOS["issue"]`` is calibrated so that the shipped-before rule reproduces the
    issue's own simulation (see ``SCENARIOS``)."""

    size_median: float = 10  # rows a month, lognormal
    size_sdlog: float = 1.0
    size_min: int = 1
    mix_concentration: float = 10  # Dirichlet around MIX_MEAN
    sentinel_sizes: tuple[int, int, int] = (3, 10, 36)  # small, medium, large: rows a month
    sigma_q: float = 0.25  # sd of log true quality
    rho: float = 0.8  # its AR(1) year-to-year correlation
    base_scale: float = 1.0  # every base rate multiplied by it (the cap min(CAP, base x q) binds more when > 1)
    # Unmodelled case mix: a drawn partner's rows achieve exp(-mix_difficulty x (h - h_mean)) times what its quality
    # gives, h its mix's mean band index (0 standard, 1 complex, 2 very complex; h_mean = 0.7 for MIX_MEAN): within
    # each band a hard-mix partner's cases are harder than the band's average, an easy-mix one's easier. It is not
    # quality (the truth is q alone). Sentinels' cases are their bands' average (0 for them): "switching to easier
    # cases" moves rows between bands only.
    mix_difficulty: float = 0.0
    # Quality that goes with the mix: a drawn partner's log q is its AR(1) path minus mix_quality x (h - h_mean) (the
    # better partners take the easier cases). It is quality (the truth includes it), but the band rates the expected
    # figures use then favour a hard mix: an average partner taking easy cases is set against better partners.
    mix_quality: float = 0.0
    # How log q (and the unmodelled case mix) act on a row's chance: "log", min(CAP, base x q); "logit",
    # logit(p) = logit(base) + log q (a partner's edge is smaller in relative terms where the base rate is high).
    link: str = "log"

    def __post_init__(self) -> None:
        if self.link not in ("log", "logit"):
            raise ValueError(f"link must be log or logit, not {self.link!r}")

    @property
    def sentinel_size(self) -> dict[str, int]:
        return dict(zip(SENTINEL_SIZE_NAMES, self.sentinel_sizes, strict=True))

    def describe(self) -> dict[str, object]:
        return {
            "sizes": f"rows a month lognormal, median {self.size_median:g}, sd of log {self.size_sdlog:g}, "
            f"at least {self.size_min}",
            "case_mix": f"Dirichlet, mean {MIX_MEAN}, concentration {self.mix_concentration:g}",
            "quality": f"log q AR(1), sd {self.sigma_q:g}, rho {self.rho:g}, from the stationary distribution",
            "achievement": (
                f"min({CAP}, {self.base_scale:g} x base x q x d)"
                if self.link == "log"
                else f"logit p = logit({self.base_scale:g} x base) + log q + log d"
            )
            + (
                f", d = exp(-{self.mix_difficulty:g} x (h - {_H_MEAN:g})) for a drawn partner, h its mix's mean band "
                "index (0, 1, 2), 1 for a sentinel (unmodelled case mix, not quality)"
                if self.mix_difficulty
                else ", d = 1"
            ),
            "quality_with_mix": f"log q minus {self.mix_quality:g} x (h - {_H_MEAN:g}) for a drawn partner"
            if self.mix_quality
            else "none",
            "sentinels": {
                "sizes_rows_a_month": self.sentinel_size,
                "mixes": SENTINEL_MIXES,
                "per_alliance": f"all six from N = {ALL_SENTINELS_FROM}, else two (one size in turn)",
            },
        }


GENTLE = Generator()
# Calibrated (issue 29) so that the rule shipped before issue 29 (no persistence, ranked by O/E) reproduces the
# issue's own simulation (its "as the example contract runs" column, N = 30): σq stays the issue's 0.25 but acts on
# the logit, the partners are smaller (median 7 rows a month) with more extreme mixes (concentration 4), the
# sentinels are 1, 4 and 12 rows a month, and the mix goes with the outcomes: log q falls 0.1 and the unmodelled
# difficulty 0.2 per band of mean mix (so easier cases raise an average partner's flag chance, as the issue found).
# At 1,000 alliances, seed 1: worst sentinel 1.75% of years (issue 1.79), 8.4% of contracts (8.7), 95.0% of flags
# truly below average (97.5: harsher here), 69.8% in the worst decile (68.1), easier cases +0.57 pp (+0.57),
# a worst-decile partner flagged in a contract 70.5% (70.5).
ISSUE = Generator(
    size_median=7,
    mix_concentration=4,
    sentinel_sizes=(1, 4, 12),
    link="logit",
    mix_quality=0.1,
    mix_difficulty=0.2,
)
SCENARIOS = {"gentle": GENTLE, "issue": ISSUE}
_BASE = np.array([BASE_RATES[m] for m in WEIGHTS])  # (measure, band)
_W = np.array([float(w) for w in WEIGHTS.values()])
_BAND_INDEX = np.arange(len(BANDS), dtype=float)
_H_MEAN = float(np.dot(MIX_MEAN, _BAND_INDEX))


@dataclass(frozen=True)
class Alliances:
    """``A`` alliances of ``N`` partners; partner j's id is ``p{j:03d}`` (so id order is column order)."""

    rows_per_month: np.ndarray  # (A, N) int
    mix: np.ndarray  # (A, N, bands)
    sentinel: np.ndarray  # (A, N) int: index into SENTINELS, −1 for a drawn partner
    generator: Generator = GENTLE

    @property
    def log_difficulty(self) -> np.ndarray:
        """(A, N) the unmodelled case-mix term of log achievement (``Generator.mix_difficulty``; 0 for sentinels)."""
        h = self.mix @ _BAND_INDEX
        return np.where(self.sentinel >= 0, 0.0, -self.generator.mix_difficulty * (h - _H_MEAN))

    @property
    def shape(self) -> tuple[int, int]:
        a, n = self.rows_per_month.shape
        return int(a), int(n)


def partner_ids(n: int) -> list[str]:
    return [f"p{j:03d}" for j in range(n)]


def make_alliances(rng: np.random.Generator, alliances: int, partners: int, generator: Generator = GENTLE) -> Alliances:
    if partners < 2:
        raise ValueError("an alliance needs at least two partners")
    g = generator
    size = np.exp(math.log(g.size_median) + g.size_sdlog * rng.standard_normal((alliances, partners)))
    rows = np.maximum(g.size_min, np.rint(size)).astype(np.int64)
    mix = rng.dirichlet(np.array(MIX_MEAN) * g.mix_concentration, size=(alliances, partners))
    sentinel = np.full((alliances, partners), -1)
    for a in range(alliances):
        chosen = (
            range(len(SENTINELS))
            if partners >= ALL_SENTINELS_FROM
            else [2 * (a % 3), 2 * (a % 3) + 1]  # the hard and easy partner of one size, in turn
        )
        for column, s in enumerate(chosen):
            size_name, mix_name = SENTINELS[s].split("-")
            rows[a, column] = g.sentinel_size[size_name]
            mix[a, column] = SENTINEL_MIXES[mix_name]
            sentinel[a, column] = s
    return Alliances(rows_per_month=rows, mix=mix, sentinel=sentinel, generator=g)


def log_quality_path(rng: np.random.Generator, alliances: Alliances, years: int) -> np.ndarray:
    """(years, A, N) log true quality: AR(1) from the stationary distribution; sentinels 0."""
    a, n = alliances.shape
    g = alliances.generator
    x = np.empty((years, a, n))
    x[0] = g.sigma_q * rng.standard_normal((a, n))
    innovation = math.sqrt(1 - g.rho**2) * g.sigma_q
    for t in range(1, years):
        x[t] = g.rho * x[t - 1] + innovation * rng.standard_normal((a, n))
    if g.mix_quality:
        x -= g.mix_quality * (alliances.mix @ _BAND_INDEX - _H_MEAN)
    x[:, alliances.sentinel >= 0] = 0.0
    return x


@dataclass(frozen=True)
class HalfYear:
    rows: np.ndarray  # (A, N, bands) int
    achieved: np.ndarray  # (A, N, measures, bands) int


def draw_half(rng: np.random.Generator, alliances: Alliances, log_quality: np.ndarray) -> HalfYear:
    rows = rng.multinomial(HALF * alliances.rows_per_month, alliances.mix)
    g = alliances.generator
    edge = (log_quality + alliances.log_difficulty)[:, :, None, None]
    if g.link == "log":
        probability = np.minimum(CAP, g.base_scale * _BASE[None, None] * np.exp(edge))
    else:
        base = g.base_scale * _BASE[None, None]
        probability = 1 / (1 + (1 - base) / base * np.exp(-edge))
    return HalfYear(rows=rows, achieved=rng.binomial(rows[:, :, None, :], probability))


def whole_year(first: HalfYear, second: HalfYear) -> HalfYear:
    return HalfYear(rows=first.rows + second.rows, achieved=first.achieved + second.achieved)


@dataclass(frozen=True)
class Figures:
    """``domain.performance.assess`` on arrays: every partner comparable (each has rows; rates strictly in (0, 1))."""

    observed: np.ndarray  # (A, N)
    expected: np.ndarray
    variance: np.ndarray
    tau2: np.ndarray  # (A,) as applied (0 when not)

    @property
    def ratio(self) -> np.ndarray:
        return self.observed / self.expected

    @property
    def standard_error(self) -> np.ndarray:
        return np.sqrt(self.variance) / self.expected

    @property
    def z_adjusted(self) -> np.ndarray:
        se = self.standard_error
        return (self.ratio - 1) / np.sqrt(se * se + self.tau2[:, None])


def assess(year: HalfYear, *, overdispersion: bool = True) -> Figures:
    rows = year.rows.astype(float)
    achieved = year.achieved.astype(float)
    rates = achieved.sum(axis=1) / rows.sum(axis=1)[:, None, :]  # (A, measures, bands)
    observed = np.einsum("m,anmb->an", _W, achieved)
    expected = np.einsum("m,anb,amb->an", _W, rows, rates)
    variance = np.einsum("m,anb,amb->an", _W * _W, rows, rates * (1 - rates))
    if not (expected > 0).all() or not (variance > 0).all():
        raise ValueError("a simulated partner is not comparable: the mirror assumes every partner is")
    z = (observed - expected) / np.sqrt(variance)
    k = z.shape[1]
    cut = k * WINSOR_PERCENT // 100
    if cut:
        ordered = np.sort(z, axis=1)
        z = np.clip(z, ordered[:, cut : cut + 1], ordered[:, k - 1 - cut : k - cut])
    phi = (z * z).sum(axis=1) / k
    weights = 1 / (np.sqrt(variance) / expected) ** 2
    sum_w = weights.sum(axis=1)
    denominator = sum_w - (weights * weights).sum(axis=1) / sum_w
    excess = (k * phi > k - 1) & (denominator > 0)
    tau2 = np.where(excess, (k * phi - (k - 1)) / np.where(denominator > 0, denominator, 1.0), 0.0)
    if not overdispersion:
        tau2 = np.zeros_like(tau2)
    return Figures(observed=observed, expected=expected, variance=variance, tau2=tau2)


def bottom_count(comparable: int, fraction: float) -> int:
    """``domain.review.bottom_count``: ⌊k × fraction⌋, at least one (exact for the fractions used here)."""
    return max(1, math.floor(Decimal(comparable) * Decimal(str(fraction))))


def rank_key(figures: Figures, rank_by: str) -> np.ndarray:
    if rank_by == "ratio":
        return figures.ratio
    if rank_by == "z":
        return figures.z_adjusted
    raise ValueError(f"rank_by must be z or ratio, not {rank_by!r}")


def bottom(figures: Figures, rank_by: str, fraction: float) -> np.ndarray:
    """(A, N) bool: the lowest ``bottom_count`` by the key, ties by partner id (column order)."""
    key = rank_key(figures, rank_by)
    order = np.argsort(key, axis=1, kind="stable")  # stable: equal keys keep column (id) order
    n = key.shape[1]
    chosen = np.zeros(key.shape, dtype=bool)
    np.put_along_axis(chosen, order[:, : bottom_count(n, fraction)], True, axis=1)
    return chosen


def below(figures: Figures, z: float) -> np.ndarray:
    return figures.z_adjusted < -z


# The rules compared. A year without a previous one uses the first-year rule; a later year the later-year rule.
FIRST_YEAR_RULES = ("plain", "none", "limit_998", "both_halves")
LATER_YEAR_RULES = ("plain", "persistence")


def flags(
    year: Figures,
    *,
    rank_by: str,
    fraction: float,
    z: float,
    rule: str,
    last_year: Figures | None = None,
    halves: tuple[Figures, Figures] | None = None,
) -> np.ndarray:
    """(A, N) bool: who ``domain.review.classify`` flags (every partner with twelve accepted months).

    ``plain``: bottom fraction and below the limit at ``z``; ``none``: nobody (``persistence`` with no previous
    year, as the contract behaved before issue 29); ``limit_998``: bottom fraction and below the 99.8% limit
    (z 3.09 or ``z`` if higher); ``both_halves``: plain, and below the limit at ``z`` in each half-year assessed on
    its own; ``persistence``: plain, and in last year's bottom fifth by the same key."""
    in_bottom = bottom(year, rank_by, fraction)
    if rule == "plain":
        return in_bottom & below(year, z)
    if rule == "none":
        return np.zeros_like(in_bottom)
    if rule == "limit_998":
        return in_bottom & below(year, max(z, Z_998))
    if rule == "both_halves":
        if halves is None:
            raise ValueError("both_halves needs the half-years")
        return in_bottom & below(year, z) & below(halves[0], z) & below(halves[1], z)
    if rule == "persistence":
        if last_year is None:
            raise ValueError("persistence needs last year")
        return in_bottom & below(year, z) & bottom(last_year, rank_by, PERSISTENCE_FRACTION)
    raise ValueError(f"unknown rule {rule!r}")
