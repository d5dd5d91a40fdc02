"""Who the annual review puts under formal review, who is watched, and why (DESIGN.md section 6).

Flagged: among the bottom ``bottom_fraction`` of comparable partners by ``rank_by`` (the
overdispersion-adjusted z-score, or O/E; at least one), *and* below its lower control limit
(adjusted z < −control_limit_z), *and* at least ``min_accepted_months`` accepted returns, *and*
one of three rules (``Rule``): with ``persistence``, for a partner ranked the year before, in last
year's bottom fifth by the same key; with ``persistence``, for a year with no previous one
(contract year 1, or a partner not ranked last year), the ``first_year`` rule: below its limit in
each half of the year too (``both_halves``) or below the 99.8% limit (``limit_998``); without
``persistence``, nothing more (``plain``: it fails DESIGN.md's targets, bench/review_targets.py).
Bottom-fraction partners that miss one of the tests are on the watch list. Every partner gets a
reason in words a board member can read without the statistics, naming the rule that applied.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist

from domain.contract import FirstYearRule, RankBy, Review
from domain.performance import Z_998, AlliancePerformance, PartnerPerformance

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
    # Issue 29: which rule flagged, and the first-year rule not met.
    FLAGGED_PERSISTENT = "REVIEW_FLAGGED_PERSISTENT"
    FLAGGED_FIRST_YEAR = "REVIEW_FLAGGED_FIRST_YEAR"
    FIRST_YEAR_NOT_MET = "REVIEW_FIRST_YEAR_NOT_MET"


class Rule(StrEnum):
    """The rule a partner was judged by this year (every reason names it)."""

    plain = "plain"  # persistence off: the bottom fraction and the limit
    persistence = "persistence"  # ranked last year: also in last year's bottom fifth
    first_year_both_halves = "first_year_both_halves"  # no previous year: also below the limit in each half
    first_year_limit_998 = "first_year_limit_998"  # no previous year: below the 99.8% limit


@dataclass(frozen=True)
class PreviousYear:
    """Last year's review as this year's persistence rule needs it (``previous_year``)."""

    ranked: frozenset[str]  # partners comparable last year: the persistence rule applies to them
    bottom_fifth: frozenset[str]  # of those, the bottom fifth by the same key


@dataclass(frozen=True)
class PartnerStanding:
    performance: PartnerPerformance
    standing: Standing
    basis: Basis
    rule: Rule
    rank: int | None  # 1 = lowest by the review's rank_by among comparable partners
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


def ranking(performance: AlliancePerformance, rank_by: RankBy = RankBy.ratio) -> list[PartnerPerformance]:
    """Comparable partners, lowest O/E (or adjusted z) first (ties by partner id, so the order never depends on
    input order)."""
    comparable = [p for p in performance.partners if p.ratio is not None and p.comparable]
    if rank_by is RankBy.z:
        return sorted(comparable, key=lambda p: (p.z_adjusted, p.partner_id))
    return sorted(comparable, key=lambda p: (p.ratio, p.partner_id))


def bottom_ids(performance: AlliancePerformance, fraction: Decimal, rank_by: RankBy = RankBy.ratio) -> set[str]:
    ranked = ranking(performance, rank_by)
    return {p.partner_id for p in ranked[: bottom_count(len(ranked), fraction)]}


def previous_year(performance: AlliancePerformance, rank_by: RankBy) -> PreviousYear:
    """What the persistence rule needs from last year's figures: who was ranked, and its bottom fifth."""
    return PreviousYear(
        ranked=frozenset(p.partner_id for p in ranking(performance, rank_by)),
        bottom_fifth=frozenset(bottom_ids(performance, PERSISTENCE_FRACTION, rank_by)),
    )


def control_limit(review: Review) -> float:
    """The contract's control limit as a z-score (a statistic, not money: the performance figures are floats)."""
    return float(review.control_limit_z)


def first_year_limit(review: Review) -> float:
    """The z-score ``limit_998`` asks a partner with no previous year to fall below: the 99.8% limit, or the
    contract's own when that is stricter."""
    return max(control_limit(review), Z_998)


def rule_for(review: Review, partner_id: str, previous: PreviousYear | None) -> Rule:
    if not review.persistence:
        return Rule.plain
    if previous is not None and partner_id in previous.ranked:
        return Rule.persistence
    if review.first_year is FirstYearRule.limit_998:
        return Rule.first_year_limit_998
    return Rule.first_year_both_halves


def chance_percent(z: float) -> float:
    """How often a partner of exactly average quality falls this far below by chance (one-sided)."""
    return NormalDist().cdf(-z) * 100


def classify(
    performance: AlliancePerformance,
    *,
    review: Review,
    accepted_months: Mapping[str, int],
    names: Mapping[str, str] | None = None,
    previous: PreviousYear | None = None,
    halves: tuple[AlliancePerformance, AlliancePerformance] | None = None,
) -> tuple[PartnerStanding, ...]:
    """Every partner's standing, in partner id order.

    ``previous``: last year's ranking (``previous_year``), None when there is no previous year; ``halves``: the
    year's two halves each assessed on its own, needed by the ``both_halves`` first-year rule."""
    z_limit = control_limit(review)
    ranked = ranking(performance, review.rank_by)
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
        rule = rule_for(review, p.partner_id, previous)
        standing, basis = _decide(context, z_limit, rule, previous, halves)
        result.append(
            PartnerStanding(
                performance=p,
                standing=standing,
                basis=basis,
                rule=rule,
                rank=rank,
                ranked=k,
                bottom=bottom,
                accepted_months=months,
                lower_limit=context.lower,
                reason=f"{context.reason(basis, rule)} {RULE_WORDS[rule]}",
            )
        )
    return tuple(sorted(result, key=lambda s: s.partner_id))


def _below_in_both_halves(
    partner_id: str, z_limit: float, halves: tuple[AlliancePerformance, AlliancePerformance] | None
) -> bool:
    if halves is None:
        raise ValueError("the both_halves first-year rule needs each half of the year assessed on its own")
    for half in halves:
        p = half.partner(partner_id)
        z = p.z_adjusted if p is not None else None
        if z is None or z >= -z_limit:
            return False
    return True


def _decide(
    c: "_Context",
    z_limit: float,
    rule: Rule,
    previous: PreviousYear | None,
    halves: tuple[AlliancePerformance, AlliancePerformance] | None,
) -> tuple[Standing, Basis]:
    if c.rank is None:
        return Standing.watch, Basis.NO_DATA
    if c.rank > c.bottom:
        return Standing.clear, Basis.NOT_IN_BOTTOM
    if c.months < c.review.min_accepted_months:
        return Standing.watch, Basis.INCOMPLETE
    z = c.p.z_adjusted
    if z is None or z >= -z_limit:
        return Standing.watch, Basis.NOT_SIGNIFICANT
    if rule is Rule.persistence:
        if previous is None or c.p.partner_id not in previous.bottom_fifth:
            return Standing.watch, Basis.NOT_PERSISTENT
        return Standing.flagged, Basis.FLAGGED_PERSISTENT
    if rule is Rule.first_year_limit_998:
        if z >= -first_year_limit(c.review):
            return Standing.watch, Basis.FIRST_YEAR_NOT_MET
        return Standing.flagged, Basis.FLAGGED_FIRST_YEAR
    if rule is Rule.first_year_both_halves:
        if not _below_in_both_halves(c.p.partner_id, z_limit, halves):
            return Standing.watch, Basis.FIRST_YEAR_NOT_MET
        return Standing.flagged, Basis.FLAGGED_FIRST_YEAR
    return Standing.flagged, Basis.FLAGGED


RULE_WORDS = {
    Rule.plain: "Rule applied: the bottom fraction and the control limit (the contract's persistence rule is off).",
    Rule.persistence: (
        "Rule applied: persistence (there is a previous year, so a partner is flagged only if it was also in the "
        "lowest fifth the year before)."
    ),
    Rule.first_year_both_halves: (
        "Rule applied: the first-year rule (there is no previous year to confirm it, so a partner is flagged only "
        "if it is also below its lower control limit in each half of the year, each half taken on its own)."
    ),
    Rule.first_year_limit_998: (
        "Rule applied: the first-year rule (there is no previous year to confirm it, so a partner is flagged only "
        "if it is below its 99.8% lower limit)."
    ),
}


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

    def reason(self, basis: Basis, rule: Rule) -> str:
        if basis is Basis.NO_DATA:
            return (
                f"On the watch list: {self.name} has no accepted returns with outcomes to compare this year, "
                "so its results cannot be set against its case mix."
            )
        share = f"{self.p.ratio:.0%}" if self.p.ratio is not None else "n/a"
        where = (
            f"{self.name} achieved {share} of the outcomes expected for the cases it took "
            f"({self.p.observed:,.1f} against {self.p.expected:,.1f} expected), "
            f"ranking {self.rank} of {self.ranked} by {self.key}"
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
        chance = chance_percent(control_limit(self.review))
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
        if basis is Basis.FIRST_YEAR_NOT_MET:
            missed = (
                "it is not below its lower control limit in each half of the year taken on its own"
                if rule is Rule.first_year_both_halves
                else f"it is not below its 99.8% lower limit (z = {first_year_limit(self.review):.2f})"
            )
            return (
                f"On the watch list, not under review: {significant}; but with no previous year to confirm it, "
                f"{missed}."
            )
        if basis is Basis.FLAGGED_PERSISTENT:
            return f"Flagged for review: {significant}, and in the lowest fifth the year before too."
        if basis is Basis.FLAGGED_FIRST_YEAR:
            confirmed = (
                "and below its lower control limit in each half of the year taken on its own"
                if rule is Rule.first_year_both_halves
                else "and below its 99.8% lower limit"
            )
            return f"Flagged for review: {significant}, {confirmed}."
        return f"Flagged for review: {significant}."

    @property
    def key(self) -> str:
        return "z-score for its size" if self.review.rank_by is RankBy.z else "outcomes for case mix (O/E)"
