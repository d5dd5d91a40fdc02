"""The simulated years judged by the domain itself (``domain.performance.assess`` + ``domain.review.classify``), to
prove the numpy mirror (``bench.review_sim``) gives the same verdicts: used by ``python -m bench review`` (on the
first alliances of each run) and by ``tests/domain/test_review_simulation.py``."""

from typing import Any

import numpy as np

from bench import review_sim as sim
from bench.review_targets import Simulated
from domain.contract import FirstYearRule, RankBy, Review
from domain.performance import AlliancePerformance, BandCounts, assess
from domain.periods import Period
from domain.review import classify, previous_year

FIRST_HALF, SECOND_HALF = Period(2026, 4), Period(2026, 10)  # each half's counts filed under its first month
REVIEWS = {
    "plain": lambda rank_by: Review(persistence=False, rank_by=rank_by),
    "limit_998": lambda rank_by: Review(first_year=FirstYearRule.limit_998, rank_by=rank_by),
    "both_halves": lambda rank_by: Review(first_year=FirstYearRule.both_halves, rank_by=rank_by),
    "persistence": lambda rank_by: Review(rank_by=rank_by),
}


def counts(half: sim.HalfYear, a: int, period: Period) -> list[BandCounts]:
    ids = sim.partner_ids(half.rows.shape[1])
    measures = list(sim.WEIGHTS)
    return [
        BandCounts(
            pid,
            period,
            band,
            int(half.rows[a, j, b]),
            {m: int(half.achieved[a, j, i, b]) for i, m in enumerate(measures)},
        )
        for j, pid in enumerate(ids)
        for b, band in enumerate(sim.BANDS)
    ]


def performances(draw: tuple[sim.HalfYear, sim.HalfYear], a: int) -> tuple[AlliancePerformance, ...]:
    """The year, its first half and its second half, as ``services.review`` assesses them."""
    first, second = counts(draw[0], a, FIRST_HALF), counts(draw[1], a, SECOND_HALF)
    ids = sim.partner_ids(draw[0].rows.shape[1])
    return tuple(assess(c, sim.WEIGHTS, ids) for c in (first + second, first, second))


def domain_flags(s: Simulated, a: int, t: int, rank_by: str, rule: str) -> np.ndarray:
    """(N,) bool: who the domain flags in alliance ``a``, year ``t``, under ``rule``."""
    assert s.draws is not None, "simulate(..., keep=True)"
    year, first, second = performances(s.draws[t], a)
    review = REVIEWS[rule](RankBy(rank_by))
    previous = previous_year(performances(s.draws[t - 1], a)[0], review.rank_by) if rule == "persistence" else None
    standings = classify(
        year,
        review=review,
        accepted_months=dict.fromkeys(sim.partner_ids(s.partners), 12),
        previous=previous,
        halves=(first, second) if rule == "both_halves" else None,
    )
    return np.array([st.flagged for st in standings])  # partner id order = column order


def check(s: Simulated, alliances: int) -> dict[str, Any]:
    """The domain's verdict against the mirror's, partner by partner, on the first ``alliances``: every year, rule
    and ranking that applies in it."""
    judged = differ = flagged = 0
    for a in range(min(alliances, s.alliances)):
        for t in range(s.years):
            rules = sim.FIRST_YEAR_RULES if s.contract_year(t) == 1 else sim.LATER_YEAR_RULES
            for rank_by in ("ratio", "z"):
                for rule in rules:
                    if rule == "none":
                        continue
                    ours = domain_flags(s, a, t, rank_by, rule)
                    mirror = s.flags[rank_by, rule][t, a]
                    judged += len(ours)
                    flagged += int(ours.sum())
                    differ += int((ours != mirror).sum())
    return {"alliances": min(alliances, s.alliances), "verdicts": judged, "flags": flagged, "differ": differ}
