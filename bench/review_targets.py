"""DESIGN.md section 6's targets for the review, measured on simulated alliances (``bench.review_sim``).

Each figure is pooled over the alliances and given with its standard error, computed with the alliance as the
cluster (years of one alliance share its partners and, with persistence, its flags): for a figure Σa / Σb over
alliances i, ``se = √(n/(n−1) · Σ(a_i − R·b_i)²) / Σb``. A target is *decided* when the figure is at least two
standard errors from it.

Year 1 of a contract (no previous year) and years 2 to 5 are reported apart; the two five-year targets are per
contract. "Truly below average": true q < 1 (the sentinels' q, the median of the quality distribution). "The true
worst decile": the lowest ⌊N × 0.1⌋ (at least one) of the alliance by true q that year, the same rounding as the
bottom fraction; over a contract, by the mean of log q over its five years.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench import review_sim as sim

# (name, words, target, "max" = at most / "min" = at least, per: "year" or "contract")
TARGETS = (
    ("average_flagged_percent", "an average partner of any size or mix flagged (worst sentinel), % of years", 1.0,
     "max", "year"),
    ("average_flagged_in_contract_percent", "... flagged at least once in a 5-year contract (worst sentinel), %", 3.0,
     "max", "contract"),
    ("flags_truly_below_average_percent", "flags of partners truly below average, %", 95.0, "min", "year"),
    ("flags_in_worst_decile_percent", "flags of partners in the true worst decile, %", 75.0, "min", "year"),
    ("easier_cases_change_pp", "easy minus hard mix, same size, average quality: flag chance, pp a year "
     "(largest in size)", 0.3, "abs", "year"),
    ("worst_decile_flagged_in_contract_percent", "a worst-decile partner flagged at least once in 5 years, %", 40.0,
     "min", "contract"),
)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    rank_by: str
    first_year: str
    later_years: str

    @property
    def name(self) -> str:
        return f"rank_by={self.rank_by}, year 1: {self.first_year}, later: {self.later_years}"


def rules_compared() -> list[Rule]:
    shipped_before = [Rule("ratio", "plain", "plain"), Rule("ratio", "none", "persistence")]
    candidates = [
        Rule(rank_by, first, "persistence") for rank_by in ("ratio", "z") for first in ("limit_998", "both_halves")
    ]
    return [*shipped_before, Rule("z", "plain", "plain"), *candidates]


@dataclass
class Simulated:
    partners: int
    alliances: int
    years: int
    sentinel: np.ndarray  # (A, N)
    log_quality: np.ndarray  # (years, A, N)
    flags: dict[tuple[str, str], np.ndarray]  # (rank_by, rule) -> (years, A, N) bool (False in years it does not apply)
    draws: list[tuple[sim.HalfYear, sim.HalfYear]] | None = None  # each year's halves, when kept (the domain check)

    def contract_year(self, t: int) -> int:
        return t % sim.CONTRACT_YEARS + 1

    def of(self, rule: Rule) -> np.ndarray:
        first = np.array([self.contract_year(t) == 1 for t in range(self.years)])
        return np.where(
            first[:, None, None], self.flags[rule.rank_by, rule.first_year], self.flags[rule.rank_by, rule.later_years]
        )


def simulate(
    *,
    partners: int,
    alliances: int,
    years: int,
    seed: int,
    fraction: float = 0.10,
    z: float = 1.96,
    keep: bool = False,
    generator: sim.Generator = sim.GENTLE,
) -> Simulated:
    rng = np.random.default_rng(seed)
    population = sim.make_alliances(rng, alliances, partners, generator)
    x = sim.log_quality_path(rng, population, years)
    shape = (years, alliances, partners)
    out = {
        (rank_by, rule): np.zeros(shape, dtype=bool)
        for rank_by in ("ratio", "z")
        for rule in (*sim.FIRST_YEAR_RULES, *sim.LATER_YEAR_RULES)
    }
    last: sim.Figures | None = None
    draws = []
    for t in range(years):
        first, second = sim.draw_half(rng, population, x[t]), sim.draw_half(rng, population, x[t])
        if keep:
            draws.append((first, second))
        year = sim.assess(sim.whole_year(first, second))
        halves = (sim.assess(first), sim.assess(second))
        contract_year = t % sim.CONTRACT_YEARS + 1
        rules = sim.FIRST_YEAR_RULES if contract_year == 1 else sim.LATER_YEAR_RULES
        for rank_by in ("ratio", "z"):
            for rule in rules:
                out[rank_by, rule][t] = sim.flags(
                    year, rank_by=rank_by, fraction=fraction, z=z, rule=rule, last_year=last, halves=halves
                )
        last = year
    return Simulated(partners, alliances, years, population.sentinel, x, out, draws if keep else None)


def clustered(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Σa/Σb over alliances and its cluster standard error (NaN when Σb = 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    total = b.sum()
    if total == 0:
        return math.nan, math.nan
    r = a.sum() / total
    n = len(a)
    se = math.sqrt(n / (n - 1) * float(((a - r * b) ** 2).sum())) / total if n > 1 else math.nan
    return float(r), se


def worst(values: np.ndarray, partners: int) -> np.ndarray:
    """(…, A, N) bool: the lowest ⌊N/10⌋ (at least one) along the last axis, ties by column."""
    order = np.argsort(values, axis=-1, kind="stable")
    chosen = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(chosen, order[..., : sim.bottom_count(partners, 0.10)], True, axis=-1)
    return chosen


def _sentinel_columns(s: Simulated) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """sentinel -> (alliances holding it, its column there)."""
    out = {}
    for k in range(len(sim.SENTINELS)):
        a, col = np.nonzero(s.sentinel == k)
        out[k] = (a, col)
    return out


def _per_alliance(values: np.ndarray, alliances: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n)
    np.add.at(out, alliances, values)
    return out


def year_figures(s: Simulated, flagged: np.ndarray, years: list[int]) -> dict[str, tuple[float, float, str]]:
    """The per-year targets over ``years`` (indices): (value, se, which)."""
    f = flagged[years]  # (Y, A, N)
    x = s.log_quality[years]
    n_years = len(years)
    columns = _sentinel_columns(s)
    rates: dict[str, tuple[float, float]] = {}
    for k, (a, col) in columns.items():
        if len(a) == 0:
            continue
        hits = f[:, a, col].sum(axis=0)
        r, se = clustered(_per_alliance(hits, a, s.alliances), _per_alliance(np.full(len(a), n_years), a, s.alliances))
        rates[sim.SENTINELS[k]] = (100 * r, 100 * se)
    name, (rate, rate_se) = max(rates.items(), key=lambda kv: kv[1][0])
    changes: dict[str, tuple[float, float]] = {}
    for size in sim.SENTINEL_SIZE_NAMES:
        hard, easy = sim.SENTINELS.index(f"{size}-hard"), sim.SENTINELS.index(f"{size}-easy")
        a_h, c_h = columns[hard]
        a_e, c_e = columns[easy]
        if len(a_h) == 0:
            continue
        assert (a_h == a_e).all()
        diff = f[:, a_e, c_e].sum(axis=0).astype(float) - f[:, a_h, c_h].sum(axis=0)
        r, se = clustered(
            _per_alliance(diff, a_h, s.alliances), _per_alliance(np.full(len(a_h), n_years), a_h, s.alliances)
        )
        changes[size] = (100 * r, 100 * se)
    size, (change, change_se) = max(changes.items(), key=lambda kv: abs(kv[1][0]))
    count = f.sum(axis=(0, 2))
    below = (f & (x < 0)).sum(axis=(0, 2))
    in_worst = (f & worst(x, s.partners)).sum(axis=(0, 2))
    b, b_se = clustered(below, count)
    w, w_se = clustered(in_worst, count)
    return {
        "average_flagged_percent": (rate, rate_se, name),
        "flags_truly_below_average_percent": (100 * b, 100 * b_se, ""),
        "flags_in_worst_decile_percent": (100 * w, 100 * w_se, ""),
        "easier_cases_change_pp": (change, change_se, size),
        "flags_per_alliance_year": (float(count.sum()) / (n_years * s.alliances), math.nan, ""),
    }


def contract_figures(s: Simulated, flagged: np.ndarray) -> dict[str, tuple[float, float, str]]:
    contracts = s.years // sim.CONTRACT_YEARS
    f = flagged[: contracts * sim.CONTRACT_YEARS].reshape(contracts, sim.CONTRACT_YEARS, s.alliances, s.partners)
    x = s.log_quality[: contracts * sim.CONTRACT_YEARS].reshape(f.shape).mean(axis=1)  # (C, A, N)
    ever: np.ndarray = np.asarray(f.any(axis=1))  # (C, A, N)
    rates: dict[str, tuple[float, float]] = {}
    for k, (a, col) in _sentinel_columns(s).items():
        if len(a) == 0:
            continue
        hits = ever[:, a, col].sum(axis=0)
        r, se = clustered(
            _per_alliance(hits, a, s.alliances), _per_alliance(np.full(len(a), contracts), a, s.alliances)
        )
        rates[sim.SENTINELS[k]] = (100 * r, 100 * se)
    name, (rate, rate_se) = max(rates.items(), key=lambda kv: kv[1][0])
    w = worst(x, s.partners)
    d, d_se = clustered((ever & w).sum(axis=(0, 2)), w.sum(axis=(0, 2)))
    return {
        "average_flagged_in_contract_percent": (rate, rate_se, name),
        "worst_decile_flagged_in_contract_percent": (100 * d, 100 * d_se, ""),
    }


def _judged(key: str, value: float, se: float, which: str) -> dict[str, Any]:
    target = next(t for t in TARGETS if t[0] == key)
    _, _, goal, sense, _ = target
    if math.isnan(value):
        return {"value": None, "se": None, "target": goal, "met": None, "decided": None, "note": "no flags"}
    met = value <= goal if sense == "max" else value >= goal if sense == "min" else abs(value) <= goal
    distance = goal - value if sense == "max" else value - goal if sense == "min" else goal - abs(value)
    out: dict[str, Any] = {
        "value": round(value, 2),
        "se": round(se, 2),
        "target": f"{'<=' if sense != 'min' else '>='} {goal:g}" if sense != "abs" else f"|x| <= {goal:g}",
        "met": bool(met),
        "decided": bool(abs(distance) >= 2 * se),
    }
    if which:
        out["worst_case"] = which
    return out


def report(s: Simulated, rules: Iterable[Rule]) -> dict[str, Any]:
    first = [t for t in range(s.years) if s.contract_year(t) == 1]
    later = [t for t in range(s.years) if s.contract_year(t) > 1]
    out: dict[str, Any] = {}
    for rule in rules:
        flagged = s.of(rule)
        section: dict[str, Any] = {}
        for label, years in (("year_1", first), ("years_2_to_5", later)):
            figures = year_figures(s, flagged, years)
            per_year = figures.pop("flags_per_alliance_year")[0]
            section[label] = {k: _judged(k, *v) for k, v in figures.items()}
            section[label]["flags_per_alliance_year"] = round(per_year, 3)
        section["contract"] = {k: _judged(k, *v) for k, v in contract_figures(s, flagged).items()}
        judged = [v for part in section.values() for v in part.values() if isinstance(v, dict)]
        section["all_targets_met"] = all(v["met"] is not False for v in judged)
        section["missed"] = [
            f"{label}: {k}" for label, part in section.items() if isinstance(part, dict)
            for k, v in part.items() if isinstance(v, dict) and v["met"] is False
        ]  # fmt: skip
        out[rule.name] = section
    return out
