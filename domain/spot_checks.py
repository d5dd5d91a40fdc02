"""Spot checks of claimed outcomes (pure): how many to draw from a partner, which, and what a withdrawal takes off.

Each month officers verify a sample of every partner's claimed outcomes (participant x measure
achieved) against evidence. The sample is larger where the risk is higher: each risk found adds
another ``spot_checks.sample_size`` claims, up to ``max_sample``:

- ``data_quality``: a version rejected in the month or the two before, or warnings on at least a
  tenth of the accepted return's rows;
- ``claims_rise``: claims per participant row this month well above the partner's own last months
  (at least ``MIN_HISTORY`` of them: a rise of a fifth and ``RISE_Z`` Poisson standard errors);
- ``past_failures``: a claim of the partner not verified in the last twelve months.

Which claims: every claim's rank is the SHA-256 of ``<seed>:<participant id>:<measure id>``; the
claims with the lowest ranks are drawn. Anyone holding the seed (recorded with the draw and in the
audit log) can repeat the draw, with any SHA-256 tool; nobody can foresee it before the seed exists.

A claim not verified is withdrawn: its row no longer counts the measure, for payments and reviews.
"""

import hashlib
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

MIN_HISTORY = 3
HISTORY_MONTHS = 6
RISE_Z = 2.0
RISE_RATIO = 1.2
WARNING_SHARE = 0.10
MIN_WARNINGS = 3


class Risk(StrEnum):
    data_quality = "data_quality"
    claims_rise = "claims_rise"
    past_failures = "past_failures"


RISK_TEXT: Mapping[Risk, str] = {
    Risk.data_quality: "poor data quality: {rejected} version(s) rejected in {months}, {warnings} warning(s) on "
    "{rows} row(s) of the accepted return",
    Risk.claims_rise: "claims rose: {rate:.2f} per participant this month against {base:.2f} over the {months} "
    "month(s) before (z = {z:.1f})",
    Risk.past_failures: "{failed} claim(s) not verified in spot checks in the last twelve months",
}


class Result(StrEnum):
    verified = "verified"
    not_verified = "not_verified"


class Recovery(StrEnum):
    """What becomes of the money for a claim not verified."""

    recover = "recover"  # a payable run paid it: the period's next run takes back what it was paid
    leave_out = "leave_out"  # no payable run has paid it yet: the period's next run simply leaves it out
    taken_off = "taken_off"  # the period's latest run already leaves it out
    not_claimed = "not_claimed"  # the accepted return no longer makes the claim: nothing is due either way


def recovery_of(*, still_claimed: bool, left_out_by_latest_run: bool, paid: bool) -> Recovery:
    """``paid``: the period's last payable run was computed from the return that makes the claim."""
    if not still_claimed:
        return Recovery.not_claimed
    if left_out_by_latest_run:
        return Recovery.taken_off
    return Recovery.recover if paid else Recovery.leave_out


@dataclass(frozen=True, order=True)
class Claim:
    participant_id: str
    measure: str


@dataclass(frozen=True)
class RiskFound:
    risk: Risk
    params: Mapping[str, int | float | str]

    def text(self) -> str:
        return RISK_TEXT[self.risk].format(**self.params)


@dataclass(frozen=True)
class MonthClaims:
    rows: int
    claims: int


@dataclass(frozen=True)
class RiskInputs:
    """What the records say about one partner's month, for sizing its sample."""

    rows: int  # participant rows in the accepted return
    claims: int  # outcomes claimed in it
    warnings: int  # warnings on the accepted return
    rejected: int  # versions rejected this month and the two before
    months_looked_at: str  # e.g. "2026-08 to 2026-10"
    history: Sequence[MonthClaims] = ()  # the partner's accepted months before, newest first
    failed_before: int = 0  # claims not verified in the last twelve months


def risks(inputs: RiskInputs) -> list[RiskFound]:
    found = []
    if inputs.rejected > 0 or (inputs.warnings >= max(MIN_WARNINGS, WARNING_SHARE * inputs.rows) and inputs.rows):
        found.append(
            RiskFound(
                Risk.data_quality,
                {
                    "rejected": inputs.rejected,
                    "months": inputs.months_looked_at,
                    "warnings": inputs.warnings,
                    "rows": inputs.rows,
                },
            )
        )
    rise = _claims_rise(inputs)
    if rise is not None:
        found.append(rise)
    if inputs.failed_before > 0:
        found.append(RiskFound(Risk.past_failures, {"failed": inputs.failed_before}))
    return found


def _claims_rise(inputs: RiskInputs) -> RiskFound | None:
    recent = list(inputs.history[:HISTORY_MONTHS])
    rows_before = sum(m.rows for m in recent)
    if len(recent) < MIN_HISTORY or rows_before == 0 or inputs.rows == 0:
        return None
    base = sum(m.claims for m in recent) / rows_before
    rate = inputs.claims / inputs.rows
    expected = base * inputs.rows
    z = (inputs.claims - expected) / math.sqrt(expected) if expected > 0 else math.inf
    if rate < base * RISE_RATIO or z < RISE_Z:
        return None
    return RiskFound(
        Risk.claims_rise, {"rate": rate, "base": base, "months": len(recent), "z": z if math.isfinite(z) else 99.0}
    )


def sample_size(*, base: int, most: int, risks_found: int, claims: int) -> int:
    """``base`` claims, and ``base`` more for each risk found, at most ``most`` and the claims there are."""
    return max(0, min(claims, most, base * (1 + risks_found)))


def rank(seed: str, claim: Claim) -> str:
    return hashlib.sha256(f"{seed}:{claim.participant_id}:{claim.measure}".encode()).hexdigest()


def draw(claims: Iterable[Claim], size: int, seed: str) -> list[Claim]:
    """The ``size`` claims with the lowest ranks under ``seed`` (a simple random sample without replacement)."""
    if not seed:
        raise ValueError("a draw needs a seed")
    unique = set(claims)
    chosen = heapq.nsmallest(max(size, 0), unique, key=lambda c: (rank(seed, c), c.participant_id, c.measure))
    return sorted(chosen)


# --- Withdrawals -----------------------------------------------------------------------------------

Group = tuple[str, frozenset[str], int]  # (band, measures achieved, rows achieving exactly those)


@dataclass(frozen=True)
class WithdrawnRow:
    """One participant row of an accepted return with claims withdrawn from it."""

    band: str
    achieved: frozenset[str]  # what the row claims
    withdrawn: frozenset[str] = field(default_factory=frozenset)  # of those, not verified


def without_withdrawn(groups: Iterable[Group], rows: Iterable[WithdrawnRow]) -> list[Group]:
    """The groups as if the withdrawn measures had never been claimed (a row moves to the group of what is left)."""
    counted: dict[tuple[str, frozenset[str]], int] = {}
    for band, achieved, n in groups:
        counted[band, achieved] = counted.get((band, achieved), 0) + n
    for row in rows:
        taken = row.withdrawn & row.achieved
        if not taken:
            continue
        if counted.get((row.band, row.achieved), 0) < 1:
            raise ValueError(f"no row in band {row.band} claims {sorted(row.achieved)} to withdraw from")
        counted[row.band, row.achieved] -= 1
        left = row.achieved - taken
        counted[row.band, left] = counted.get((row.band, left), 0) + 1
    return [(band, achieved, n) for (band, achieved), n in sorted(counted.items(), key=_group_order) if n > 0]


def _group_order(item: tuple[tuple[str, frozenset[str]], int]) -> tuple[str, tuple[str, ...]]:
    (band, achieved), _ = item
    return band, tuple(sorted(achieved))


def rows_with_withdrawals(
    claimed: Mapping[str, tuple[str, frozenset[str]]], withdrawn: Iterable[Claim]
) -> list[WithdrawnRow]:
    """``claimed``: participant id -> (band, achieved) in the accepted return; one row per participant affected."""
    taken: dict[str, set[str]] = {}
    for claim in withdrawn:
        band_achieved = claimed.get(claim.participant_id)
        if band_achieved is not None and claim.measure in band_achieved[1]:
            taken.setdefault(claim.participant_id, set()).add(claim.measure)
    return [
        WithdrawnRow(claimed[pid][0], claimed[pid][1], frozenset(measures)) for pid, measures in sorted(taken.items())
    ]
