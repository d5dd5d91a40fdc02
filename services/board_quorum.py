"""Where the contract asks for it (``review.decision_quorum``), a step-down or a withdrawal (or reversing one on appeal)
takes that many different board members confirming the same decision (the same kind, percentage and month) before it
is recorded and takes effect. Each confirmation is audited; a member confirming twice counts once, however they
came (the portal, the CLI, the Prefect form: one person's key, and the database's unique constraint)."""

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session, col, select

from domain.board import Decision, DecisionKind
from models.audit import append_audit
from models.db import session_scope
from models.tables import BoardConfirmation
from services.deps import Deps


@dataclass(frozen=True)
class Confirmations:
    proposal: str  # "step_down/25/2027-06"
    members: list[str]  # who has confirmed this decision, first first
    reason: str  # the first member's reason: the decision's, once recorded
    needed: int

    @property
    def complete(self) -> bool:
        return len(self.members) >= self.needed


def needs_quorum(deps: Deps, decision: Decision) -> bool:
    """A decision that changes funding: a step-down, a withdrawal, or the reversal of one on appeal."""
    changes_funding = decision.funding_percent is not None or decision.kind is DecisionKind.reverse
    return deps.contract.review.decision_quorum > 1 and changes_funding


def proposal_of(decision: Decision) -> str:
    return f"{decision.kind.value}/{decision.funding_percent}/{decision.effective}"


def confirm(deps: Deps, *, case_id: int, year: int, decision: Decision, member_key: str) -> Confirmations:
    """Add ``decision.decided_by``'s confirmation (once) and say who has confirmed the same decision so far."""
    now, proposal = deps.clock(), proposal_of(decision)
    try:
        with session_scope(deps.engine) as session:
            session.add(
                BoardConfirmation(
                    case_id=case_id,
                    proposal=proposal,
                    member=decision.decided_by,
                    member_key=member_key,
                    reason=decision.reason,
                    confirmed_at=now,
                )
            )
            session.flush()
            append_audit(
                session,
                at=now,
                actor=decision.decided_by,
                action="review.board_confirmation",
                subject=f"year {year}/{decision.partner_id}",
                detail={"proposal": proposal, "reason": decision.reason},
            )
    except DatabaseIntegrityError:
        pass  # this member had confirmed it already: counted once
    with session_scope(deps.engine) as session:
        return _confirmations(session, case_id, proposal, deps.contract.review.decision_quorum)


def _confirmations(session: Session, case_id: int, proposal: str, needed: int) -> Confirmations:
    rows = session.exec(
        select(BoardConfirmation)
        .where(BoardConfirmation.case_id == case_id, BoardConfirmation.proposal == proposal)
        .order_by(col(BoardConfirmation.id))
    ).all()
    return Confirmations(proposal, [r.member for r in rows], rows[0].reason if rows else "", needed)


def pending(session: Session, *, case_id: int, needed: int) -> list[Confirmations]:
    """Proposals on a case still short of the quorum (for the board's page)."""
    proposals = session.exec(
        select(BoardConfirmation.proposal).where(BoardConfirmation.case_id == case_id).distinct()
    ).all()
    found = [_confirmations(session, case_id, p, needed) for p in proposals]
    return [c for c in found if not c.complete]
