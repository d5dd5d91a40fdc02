"""Session functions for spot checks: draws, the claims drawn, officers' results, and withdrawn claims."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from domain.spot_checks import Claim, Result
from models.tables import (
    ParticipantRecord,
    SpotCheckClaim,
    SpotCheckDraw,
    SpotCheckResult,
    Submission,
)


@dataclass(frozen=True)
class ClaimedRow:
    """A participant row of an accepted return that claims at least one outcome."""

    participant_id: str
    band: str
    achieved: frozenset[str]
    sheet_row: int | None


def claimed_rows(session: Session, *, submission_id: int) -> list[ClaimedRow]:
    query = (
        select(
            ParticipantRecord.participant_id,
            ParticipantRecord.complexity_band,
            ParticipantRecord.achieved,
            ParticipantRecord.sheet_row,
        )
        .where(ParticipantRecord.submission_id == submission_id, ParticipantRecord.achieved != "")
        .order_by(col(ParticipantRecord.id))
    )
    return [
        ClaimedRow(pid, band, frozenset(a for a in achieved.split(",") if a), row)
        for pid, band, achieved, row in session.exec(query)
    ]


def draw_of(session: Session, *, submission_id: int) -> SpotCheckDraw | None:
    return session.exec(select(SpotCheckDraw).where(SpotCheckDraw.submission_id == submission_id)).first()


def drawn_before(session: Session, *, period: str, partner_id: str) -> set[Claim]:
    """The partner's claims for the period already drawn (from earlier accepted versions)."""
    query = (
        select(SpotCheckClaim.participant_id, SpotCheckClaim.measure)
        .join(SpotCheckDraw, col(SpotCheckDraw.id) == col(SpotCheckClaim.draw_id))
        .where(SpotCheckDraw.period == period, SpotCheckDraw.partner_id == partner_id)
    )
    return {Claim(pid, measure) for pid, measure in session.exec(query)}


def draws_in(session: Session, *, periods: Sequence[str], partner_id: str | None = None) -> list[SpotCheckDraw]:
    query = (
        select(SpotCheckDraw)
        .where(col(SpotCheckDraw.period).in_(list(periods)))
        .order_by(col(SpotCheckDraw.period), col(SpotCheckDraw.partner_id), col(SpotCheckDraw.id))
    )
    if partner_id is not None:
        query = query.where(SpotCheckDraw.partner_id == partner_id)
    return list(session.exec(query))


def add_draw(session: Session, *, draw: SpotCheckDraw, claims: Sequence[SpotCheckClaim]) -> SpotCheckDraw:
    session.add(draw)
    session.flush()
    assert draw.id is not None
    for claim in claims:
        claim.draw_id = draw.id
    session.add_all(claims)
    session.flush()
    return draw


@dataclass(frozen=True)
class CheckedClaim:
    draw: SpotCheckDraw
    claim: SpotCheckClaim
    result: SpotCheckResult | None


def checked_claims(session: Session, *, draw_ids: Sequence[int]) -> list[CheckedClaim]:
    """Every claim of these draws with its result (None: not checked yet), by draw then participant and measure."""
    if not draw_ids:
        return []
    draws = {d.id: d for d in session.exec(select(SpotCheckDraw).where(col(SpotCheckDraw.id).in_(list(draw_ids))))}
    claims = list(
        session.exec(
            select(SpotCheckClaim)
            .where(col(SpotCheckClaim.draw_id).in_(list(draw_ids)))
            .order_by(col(SpotCheckClaim.draw_id), col(SpotCheckClaim.participant_id), col(SpotCheckClaim.measure))
        )
    )
    ids = [c.id for c in claims]
    results = {
        r.claim_id: r for r in session.exec(select(SpotCheckResult).where(col(SpotCheckResult.claim_id).in_(ids)))
    }
    return [CheckedClaim(draws[c.draw_id], c, results.get(c.id or 0)) for c in claims]


def add_result(session: Session, *, result: SpotCheckResult) -> SpotCheckResult:
    session.add(result)
    session.flush()
    return result


def last_findings(session: Session, *, periods: Sequence[str] | None = None) -> dict[str, datetime]:
    """Per period (None: every one): when its latest spot-check finding was recorded (periods without one left out)."""
    query = (
        select(SpotCheckDraw.period, func.max(SpotCheckResult.recorded_at))
        .join(SpotCheckClaim, col(SpotCheckClaim.draw_id) == col(SpotCheckDraw.id))
        .join(SpotCheckResult, col(SpotCheckResult.claim_id) == col(SpotCheckClaim.id))
        .group_by(col(SpotCheckDraw.period))
    )
    if periods is not None:
        query = query.where(col(SpotCheckDraw.period).in_(list(periods)))
    return {period: at for period, at in session.exec(query) if at is not None}


def not_verified(session: Session, *, periods: Sequence[str] | None = None) -> list[tuple[str, str, Claim]]:
    """(period, partner id, claim) of every claim found not verified, in these periods (None: all)."""
    query = (
        select(SpotCheckDraw.period, SpotCheckDraw.partner_id, SpotCheckClaim.participant_id, SpotCheckClaim.measure)
        .join(SpotCheckClaim, col(SpotCheckClaim.draw_id) == col(SpotCheckDraw.id))
        .join(SpotCheckResult, col(SpotCheckResult.claim_id) == col(SpotCheckClaim.id))
        .where(SpotCheckResult.result == Result.not_verified.value)
    )
    if periods is not None:
        query = query.where(col(SpotCheckDraw.period).in_(list(periods)))
    found = session.exec(query.order_by(col(SpotCheckDraw.period), col(SpotCheckDraw.partner_id)))
    return [(period, partner, Claim(pid, measure)) for period, partner, pid, measure in found]


def rows_claiming(
    session: Session, *, submission_id: int, participant_ids: Sequence[str]
) -> dict[str, tuple[str, frozenset[str]]]:
    """participant id -> (band, achieved) of their row in the submission, for the ids given."""
    if not participant_ids:
        return {}
    query = select(
        ParticipantRecord.participant_id, ParticipantRecord.complexity_band, ParticipantRecord.achieved
    ).where(
        ParticipantRecord.submission_id == submission_id,
        col(ParticipantRecord.participant_id).in_(sorted(set(participant_ids))),
    )
    return {pid: (band, frozenset(a for a in achieved.split(",") if a)) for pid, band, achieved in session.exec(query)}


def failed_since(session: Session, *, partner_id: str, first_period: str, before: str) -> int:
    """How many of the partner's claims drawn in [first_period, before) were found not verified."""
    query = (
        select(func.count())
        .select_from(SpotCheckResult)
        .join(SpotCheckClaim, col(SpotCheckClaim.id) == col(SpotCheckResult.claim_id))
        .join(SpotCheckDraw, col(SpotCheckDraw.id) == col(SpotCheckClaim.draw_id))
        .where(
            SpotCheckDraw.partner_id == partner_id,
            col(SpotCheckDraw.period) >= first_period,
            col(SpotCheckDraw.period) < before,
            SpotCheckResult.result == Result.not_verified.value,
        )
    )
    return session.exec(query).one()


def versions_rejected(session: Session, *, partner_id: str, periods: Sequence[str]) -> int:
    query = (
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.partner_id == partner_id,
            col(Submission.period).in_(list(periods)),
            Submission.status == "rejected",
        )
    )
    return session.exec(query).one()


def undrawn_periods(session: Session, *, periods: Sequence[str]) -> list[str]:
    """Those of ``periods`` with an accepted version that has no draw yet (a cycle stopped before drawing)."""
    query = (
        select(Submission.period)
        .outerjoin(SpotCheckDraw, col(SpotCheckDraw.submission_id) == col(Submission.id))
        .where(
            Submission.status == "accepted",
            col(Submission.period).in_(list(periods)),
            col(SpotCheckDraw.id).is_(None),
        )
        .distinct()
    )
    return sorted(p for p in session.exec(query) if p)
