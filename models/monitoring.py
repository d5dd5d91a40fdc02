"""Session functions for the gaming monitors: partners' months in figures, and participants cycling in and out."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Integer, case, cast, func, literal
from sqlalchemy import select as select_columns
from sqlmodel import Session, col

from models.tables import ParticipantRecord, Submission


@dataclass(frozen=True)
class MonthRow:
    partner_id: str
    band: str
    achieved: frozenset[str]
    new: bool  # referred within the month
    rows: int


def month_rows(session: Session, *, period: str, first_day: date) -> list[MonthRow]:
    """The period's accepted rows grouped by partner, band, what they achieved and whether referred that month."""
    is_new = case((col(ParticipantRecord.referral_date) >= first_day, 1), else_=0)
    query = (
        select_columns(
            col(Submission.partner_id),
            col(ParticipantRecord.complexity_band),
            col(ParticipantRecord.achieved),
            is_new,
            func.count(),
        )
        .join(Submission, col(Submission.id) == col(ParticipantRecord.submission_id))
        .where(col(Submission.status) == "accepted", col(Submission.period) == period)
        .group_by(
            col(Submission.partner_id), col(ParticipantRecord.complexity_band), col(ParticipantRecord.achieved), is_new
        )
    )
    return [
        MonthRow(partner or "", band, frozenset(a for a in achieved.split(",") if a), bool(new), int(rows))
        for partner, band, achieved, new, rows in session.execute(query)
    ]


@dataclass(frozen=True)
class CyclingRow:
    partner_id: str
    participants: int
    reentered: int
    rereferred: int


def cycling(session: Session, *, periods: Sequence[str]) -> list[CyclingRow]:
    """Per partner over ``periods`` (consecutive months, oldest first): distinct participants, how many were absent
    from a month between their first and last, and how many came with more than one referral date."""
    if not periods:
        return []
    index = case(*((col(Submission.period) == p, literal(i)) for i, p in enumerate(periods)), else_=literal(-1))
    per_participant = (
        select_columns(
            col(Submission.partner_id).label("partner_id"),
            func.min(index).label("first"),
            func.max(index).label("last"),
            func.count(func.distinct(col(Submission.period))).label("months"),
            func.count(func.distinct(col(ParticipantRecord.referral_date))).label("referrals"),
        )
        .join(Submission, col(Submission.id) == col(ParticipantRecord.submission_id))
        .where(col(Submission.status) == "accepted", col(Submission.period).in_(list(periods)))
        .group_by(col(Submission.partner_id), col(ParticipantRecord.participant_id))
        .subquery()
    )
    gap = case((per_participant.c.last - per_participant.c.first + 1 > per_participant.c.months, 1), else_=0)
    again = case((per_participant.c.referrals > 1, 1), else_=0)
    query = select_columns(
        per_participant.c.partner_id,
        func.count(),
        cast(func.sum(gap), Integer),
        cast(func.sum(again), Integer),
    ).group_by(per_participant.c.partner_id)
    return [
        CyclingRow(partner or "", int(n), int(reentered or 0), int(rereferred or 0))
        for partner, n, reentered, rereferred in session.execute(query)
    ]
