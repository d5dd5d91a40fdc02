"""Who the annual review puts under formal review, who is watched, and why (DESIGN.md section 6).

Flagged: among the bottom ``bottom_fraction`` of comparable partners by O/E (at least one),
*and* below its lower control limit (adjusted z < −control_limit_z), *and* at least
``min_accepted_months`` accepted returns (and, with ``persistence``, in last year's bottom
fifth too). Bottom-fraction partners that miss one of the other tests are on the watch list.
Every partner gets a reason in words a board member can read without the statistics.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist

from domain.contract import Review
from domain.performance import AlliancePerformance, PartnerPerformance

PERSISTENCE_FRACTION = Decimal("0.2")


class Standing(StrEnum):
    flagged = "flagged"  # under formal review: the board decides
    watch = "watch"  # a concern, not a review
    clear = "clear"


class Basis(StrEnum):
    """The rule that decided a partner's standing (stable codes, as findings have)."""

    FLAGGED = "REVIEW_FLAGGED"
    NOT_SIGNIFICANT = "REVIEW_NOT_SIGNIFICANT"
    INCOMPLETE = "REVIEW_INCOMPLETE"
    NOT_PERSISTENT = "REVIEW_NOT_PERSISTENT"
    NO_DATA = "REVIEW_NO_DATA"
    NOT_IN_BOTTOM = "REVIEW_NOT_IN_BOTTOM"


@dataclass(frozen=True)
class PartnerStanding:
    performance: PartnerPerformance
    standing: Standing
    basis: Basis
    rank: int | None  # 1 = lowest O/E among comparable partners
    ranked: int  # how many partners were comparable
    bottom: int  # how many of them make the bottom fraction
    accepted_months: int
    lower_limit: float | None  # at the configured z
    reason: str

    @property
    def partner_id(self) -> str:
        return self.performance.partner_id

    @property
    def flagged(self) -> bool:
        return self.standing is Standing.flagged

    @property
    def watch(self) -> bool:
        return self.standing is Standing.watch


def bottom_count(comparable: int, fraction: Decimal) -> int:
    """How many partners make the bottom fraction: ⌊k × fraction⌋, at least one."""
    if comparable == 0:
        return 0
    return max(1, math.floor(comparable * fraction))


def ranking(performance: AlliancePerformance) -> list[PartnerPerformance]:
    """Comparable partners, lowest O/E first (ties by partner id, so the order never depends on input order)."""
    comparable = [p for p in performance.partners if p.ratio is not None and p.comparable]
    return sorted(comparable, key=lambda p: (p.ratio, p.partner_id))


def bottom_ids(performance: AlliancePerformance, fraction: Decimal) -> set[str]:
    ranked = ranking(performance)
    return {p.partner_id for p in ranked[: bottom_count(len(ranked), fraction)]}


def chance_percent(z: float) -> float:
    """How often a partner of exactly average quality falls this far below by chance (one-sided)."""
    return NormalDist().cdf(-z) * 100


def classify(
    performance: AlliancePerformance,
    *,
    review: Review,
    accepted_months: Mapping[str, int],
    names: Mapping[str, str] | None = None,
    last_year_bottom_fifth: set[str] | None = None,
) -> tuple[PartnerStanding, ...]:
    """Every partner's standing, in partner id order."""
    z_limit = float(review.control_limit_z)
    ranked = ranking(performance)
    k = len(ranked)
    bottom = bottom_count(k, review.bottom_fraction)
    rank_of = {p.partner_id: i + 1 for i, p in enumerate(ranked)}
    names = names or {}
    result = []
    for p in performance.partners:
        months = accepted_months.get(p.partner_id, 0)
        rank = rank_of.get(p.partner_id)
        limits = p.limits(z_limit)
        context = _Context(
            name=names.get(p.partner_id, p.partner_id),
            p=p,
            rank=rank,
            ranked=k,
            bottom=bottom,
            months=months,
            review=review,
            lower=limits[0] if limits else None,
        )
        standing, basis = _decide(context, z_limit, last_year_bottom_fifth)
        result.append(
            PartnerStanding(
                performance=p,
                standing=standing,
                basis=basis,
                rank=rank,
                ranked=k,
                bottom=bottom,
                accepted_months=months,
                lower_limit=context.lower,
                reason=context.reason(basis),
            )
        )
    return tuple(sorted(result, key=lambda s: s.partner_id))


def _decide(c: "_Context", z_limit: float, last_year: set[str] | None) -> tuple[Standing, Basis]:
    if c.rank is None:
        return Standing.watch, Basis.NO_DATA
    if c.rank > c.bottom:
        return Standing.clear, Basis.NOT_IN_BOTTOM
    if c.months < c.review.min_accepted_months:
        return Standing.watch, Basis.INCOMPLETE
    z = c.p.z_adjusted
    if z is None or z >= -z_limit:
        return Standing.watch, Basis.NOT_SIGNIFICANT
    if c.review.persistence and c.p.partner_id not in (last_year or set()):
        return Standing.watch, Basis.NOT_PERSISTENT
    return Standing.flagged, Basis.FLAGGED


@dataclass(frozen=True)
class _Context:
    name: str
    p: PartnerPerformance
    rank: int | None
    ranked: int
    bottom: int
    months: int
    review: Review
    lower: float | None

    def reason(self, basis: Basis) -> str:
        if basis is Basis.NO_DATA:
            return (
                f"On the watch list: {self.name} has no accepted returns with outcomes to compare this year, "
                "so its results cannot be set against its case mix."
            )
        share = f"{self.p.ratio:.0%}" if self.p.ratio is not None else "n/a"
        where = (
            f"{self.name} achieved {share} of the outcomes expected for the cases it took "
            f"({self.p.observed:,.1f} against {self.p.expected:,.1f} expected), "
            f"ranking {self.rank} of {self.ranked}"
        )
        lower = f"{self.lower:.0%}" if self.lower is not None else "n/a"
        needed = self.review.min_accepted_months
        if basis is Basis.NOT_IN_BOTTOM:
            return f"Not under review: {where}; only the lowest {self.bottom} are considered."
        if basis is Basis.INCOMPLETE:
            return (
                f"On the watch list, not under review: {where}, in the lowest {self.bottom}, but only "
                f"{self.months} of the {needed} months of accepted returns the review needs, so the year is incomplete."
            )
        if basis is Basis.NOT_SIGNIFICANT:
            return (
                f"On the watch list, not under review: {where}, in the lowest {self.bottom}, but not below the "
                f"lower control limit of {lower}: for a partner of its size a shortfall like this can be chance."
            )
        chance = chance_percent(float(self.review.control_limit_z))
        significant = (
            f"{where}, in the lowest {self.bottom}, and below the lower control limit of {lower} "
            f"(a partner of average quality falls that low by chance in under {chance:.1f}% of years), "
            f"with {self.months} months of accepted returns (at least {needed} needed)"
        )
        if basis is Basis.NOT_PERSISTENT:
            return (
                f"On the watch list, not under review: {significant}; but it was not in the lowest fifth last "
                "year, and the alliance's persistence rule needs both years."
            )
        return f"Flagged for review: {significant}."
