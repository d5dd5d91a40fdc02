"""Session functions for the annual review: the year's counts, reviews, replies, board decisions."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from models.tables import (
    BoardDecisionRecord,
    FundingAdjustment,
    ParticipantRecord,
    PaymentRun,
    ReviewCase,
    ReviewRecord,
    ReviewReply,
    Submission,
)


@dataclass(frozen=True)
class CountRow:
    partner_id: str
    period: str
    band: str
    achieved: frozenset[str]
    rows: int


def year_counts(session: Session, *, periods: Sequence[str]) -> list[CountRow]:
    """Rows of every accepted return in ``periods``, grouped by partner, month, band and what they achieved."""
    query = (
        select_columns(
            col(Submission.partner_id),
            col(Submission.period),
            col(ParticipantRecord.complexity_band),
            col(ParticipantRecord.achieved),
            func.count(),
        )
        .join(Submission, col(Submission.id) == col(ParticipantRecord.submission_id))
        .where(col(Submission.status) == "accepted", col(Submission.period).in_(list(periods)))
        .group_by(
            col(Submission.partner_id),
            col(Submission.period),
            col(ParticipantRecord.complexity_band),
            col(ParticipantRecord.achieved),
        )
    )
    return [
        CountRow(partner or "", period or "", band, frozenset(a for a in achieved.split(",") if a), int(rows))
        for partner, period, band, achieved, rows in session.execute(query)
    ]


def submissions_in(session: Session, *, periods: Sequence[str]) -> list[Submission]:
    """Every version filed for ``periods`` (the data-quality record), oldest first."""
    query = (
        select(Submission)
        .where(col(Submission.period).in_(list(periods)), col(Submission.partner_id).is_not(None))
        .order_by(col(Submission.partner_id), col(Submission.period), col(Submission.version))
    )
    return list(session.exec(query))


def latest_run_period(session: Session) -> str | None:
    return session.exec(select(func.max(PaymentRun.period))).first()


def review_of(session: Session, *, year: int) -> ReviewRecord | None:
    return session.exec(select(ReviewRecord).where(ReviewRecord.year == year)).first()


def cases_of(session: Session, *, review_id: int) -> list[ReviewCase]:
    query = select(ReviewCase).where(ReviewCase.review_id == review_id).order_by(col(ReviewCase.partner_id))
    return list(session.exec(query))


def case_of(session: Session, *, review_id: int, partner_id: str) -> ReviewCase | None:
    query = select(ReviewCase).where(ReviewCase.review_id == review_id, ReviewCase.partner_id == partner_id)
    return session.exec(query).first()


def add_reply(session: Session, *, reply: ReviewReply) -> ReviewReply:
    session.add(reply)
    session.flush()
    return reply


def replies_of(session: Session, *, case_id: int) -> list[ReviewReply]:
    query = select(ReviewReply).where(ReviewReply.case_id == case_id).order_by(col(ReviewReply.id))
    return list(session.exec(query))


def decisions_of(session: Session, *, case_id: int) -> list[BoardDecisionRecord]:
    query = select(BoardDecisionRecord).where(BoardDecisionRecord.case_id == case_id)
    return list(session.exec(query.order_by(col(BoardDecisionRecord.id))))


def decision_by_key(session: Session, *, decision_key: str) -> BoardDecisionRecord | None:
    query = select(BoardDecisionRecord).where(BoardDecisionRecord.decision_key == decision_key)
    return session.exec(query).first()


def active_adjustments(session: Session, *, partner_id: str | None = None) -> list[FundingAdjustment]:
    """Step-downs in force: not reversals themselves, and not reversed by one."""
    query = select(FundingAdjustment).order_by(col(FundingAdjustment.id))
    if partner_id is not None:
        query = query.where(FundingAdjustment.partner_id == partner_id)
    every = list(session.exec(query))
    reversed_ids = {a.reverses_id for a in every if a.reverses_id is not None}
    return [a for a in every if a.reverses_id is None and a.id not in reversed_ids]


def adjustment_of(session: Session, *, decision_id: int) -> FundingAdjustment | None:
    query = select(FundingAdjustment).where(FundingAdjustment.decision_id == decision_id)
    return session.exec(query).first()


def add_adjustment(
    session: Session,
    *,
    partner_id: str,
    from_period: str,
    percent: int,
    reason: str,
    decided_by: str,
    decided_at: datetime,
    decision_id: int | None,
    reverses_id: int | None = None,
) -> FundingAdjustment:
    adjustment = FundingAdjustment(
        partner_id=partner_id,
        from_period=from_period,
        percent=percent,
        reason=reason,
        decided_by=decided_by,
        decided_at=decided_at,
        decision_id=decision_id,
        reverses_id=reverses_id,
    )
    session.add(adjustment)
    session.flush()
    return adjustment
