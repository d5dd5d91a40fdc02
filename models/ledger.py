"""Session functions for the payment ledger: runs, their approval, and locked returns."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, col, select

from models.tables import PaymentApproval, PaymentLine, PaymentRun, ReturnLock


@dataclass(frozen=True)
class RunState:
    run: PaymentRun
    approval: PaymentApproval | None
    superseded: bool

    @property
    def status(self) -> str:
        """final (no approval needed) | approved | draft | superseded (a draft never approved)."""
        if not self.run.requires_approval:
            return "final"
        if self.approval is not None:
            return "approved"
        return "superseded" if self.superseded else "draft"

    @property
    def payable(self) -> bool:
        return self.status in ("final", "approved")

    @property
    def payable_at(self) -> datetime | None:
        if not self.run.requires_approval:
            return self.run.created_at
        return self.approval.approved_at if self.approval else None


def serialise_period(session: Session, *, period: str) -> None:
    """Hold the period until this transaction ends: posting a run, approving it and accepting a
    return for the period then happen one at a time. (SQLite's BEGIN IMMEDIATE already does.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(hashtext(:period))").bindparams(period=period))  # type: ignore[call-overload]


# pg_advisory_xact_lock(int4, int4), beside the audit chain's (0x616C6C69, 1): one payment run or approval at a time
# across periods, since each settles against balances the others change. (SQLite's BEGIN IMMEDIATE already does.)
_PAYMENTS_LOCK = (0x616C6C69, 2)


def serialise_payments(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:a, :b)").bindparams(a=_PAYMENTS_LOCK[0], b=_PAYMENTS_LOCK[1]))  # type: ignore[call-overload]


def run_states(session: Session, *, period: str) -> list[RunState]:
    """Every version of a period's run, oldest first, with its approval and status."""
    runs = list(session.exec(select(PaymentRun).where(PaymentRun.period == period).order_by(col(PaymentRun.version))))
    ids = [r.id for r in runs]
    approvals = {a.run_id: a for a in session.exec(select(PaymentApproval).where(col(PaymentApproval.run_id).in_(ids)))}
    return [RunState(r, approvals.get(r.id or 0), superseded=r is not runs[-1]) for r in runs]


def state_of(session: Session, *, run: PaymentRun) -> RunState:
    return next(s for s in run_states(session, period=run.period) if s.run.id == run.id)


def last_payable(states: list[RunState]) -> RunState | None:
    """The version whose amounts the period has been paid (what a correction adjusts against)."""
    return next((s for s in reversed(states) if s.payable), None)


def payable_runs(session: Session, *, periods: list[str]) -> list[RunState]:
    """Every payable version of the given periods, in the order they became payable."""
    states = [s for p in periods for s in run_states(session, period=p) if s.payable]
    return sorted(states, key=lambda s: (s.payable_at, s.run.id))


def add_approval(session: Session, *, run_id: int, by: str, at: datetime) -> PaymentApproval:
    approval = PaymentApproval(run_id=run_id, approved_by=by, approved_at=at)
    session.add(approval)
    session.flush()
    return approval


def lines_of_runs(session: Session, *, run_ids: list[int]) -> list[PaymentLine]:
    if not run_ids:
        return []
    query = select(PaymentLine).where(col(PaymentLine.run_id).in_(run_ids)).order_by(col(PaymentLine.id))
    return list(session.exec(query))


def lock_events(session: Session, *, period: str) -> list[ReturnLock]:
    return list(session.exec(select(ReturnLock).where(ReturnLock.period == period).order_by(col(ReturnLock.id))))


def current_lock(session: Session, *, period: str, partner_id: str) -> ReturnLock | None:
    """The lock in force on a partner's return for the period, or None when it is open."""
    last = session.exec(
        select(ReturnLock)
        .where(ReturnLock.period == period, ReturnLock.partner_id == partner_id)
        .order_by(col(ReturnLock.id).desc())
        .limit(1)
    ).first()
    return last if last is not None and last.action == "lock" else None


def add_lock_event(
    session: Session,
    *,
    period: str,
    partner_id: str,
    action: str,
    by: str,
    at: datetime,
    reason: str = "",
    run_id: int | None = None,
) -> ReturnLock:
    event = ReturnLock(period=period, partner_id=partner_id, action=action, run_id=run_id, by=by, reason=reason, at=at)
    session.add(event)
    session.flush()
    return event
