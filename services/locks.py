"""An officer re-opening a partner's return: unlocking a locked one with a reason, or sending an accepted one back
with feedback. Each is audited and told to the partner (and the officers); the payment run follows the returns.

Sending back is for an accepted return the office finds wrong after the checks passed (a spot check, a query): the
version stays as it was sent, its status becomes ``sent_back`` with the officer's feedback as a finding, so the
partner sees the month "sent back" and sends a corrected version; until then no return of the partner's counts for
the month, and the next payment run (made at once where the month was paid) posts the difference as adjustments.
"""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from domain.access import Principal, authorise_person
from domain.contract import Partner
from domain.errors import UsageError
from domain.findings import Finding
from domain.periods import Period
from domain.return_status import SENT_BACK
from models import ledger, repo
from models.audit import append_audit
from models.db import session_scope
from models.tables import FindingRecord, Submission
from services import messages, outbox
from services.deps import Deps

SENT_BACK_CODE = "RETURN_SENT_BACK"
FEEDBACK_LIMIT = 2000  # characters of an officer's feedback


def unlock_return(deps: Deps, period: Period, *, partner_id: str, reason: str, by: "str | Principal") -> None:
    """Re-open one partner's locked return for the period so that a correction can be accepted."""
    partner = deps.contract.known_partner(partner_id)
    if not reason.strip():
        raise UsageError("give the reason for unlocking: --reason TEXT (it is kept in the audit log)")
    if isinstance(by, str) and not by.strip():
        raise UsageError("say who unlocks the return: --by NAME")
    by = authorise_person(deps.contract.roles, by, "period unlock")  # with roles: an officer
    now = deps.clock()
    with session_scope(deps.engine) as session:
        if ledger.current_lock(session, period=str(period), partner_id=partner_id) is None:
            raise UsageError(f"{partner_id}'s return for {period} is not locked: nothing to unlock")
        event = ledger.add_lock_event(
            session, period=str(period), partner_id=partner_id, action="unlock", by=by, reason=reason.strip(), at=now
        )
        append_audit(
            session,
            at=now,
            actor=by,
            action="return.unlocked",
            subject=f"{partner_id}/{period}",
            detail={"reason": reason.strip(), "event_id": event.id},
        )
        text = messages.return_unlocked(partner_name=partner.name, period=str(period), by=by, reason=reason.strip())
        payload = {"period": str(period), "partner": partner_id}
        _tell(deps, session, partner, key=f"unlocked:{event.id}", kind="return_unlocked", text=text, payload=payload)


@dataclass(frozen=True)
class SentBack:
    submission: Submission
    by: str
    rerun: bool  # the month was paid: a new run version posts the difference


def send_back(
    deps: Deps,
    period: Period,
    *,
    partner_id: str,
    feedback: str,
    by: "str | Principal",
    submission_id: int | None = None,
) -> SentBack:
    """Send the partner's accepted return for ``period`` back with ``feedback``: it no longer counts for the month
    until the partner sends a corrected version. A locked return (its run approved) must be unlocked first."""
    partner = deps.contract.known_partner(partner_id)
    feedback = " ".join(feedback.split())
    if not feedback:
        raise UsageError("write the feedback for the partner: what is wrong and what to send instead")
    if len(feedback) > FEEDBACK_LIMIT:
        raise UsageError(f"the feedback is {len(feedback):,} characters; keep it within {FEEDBACK_LIMIT:,}")
    if isinstance(by, str) and not by.strip():
        raise UsageError("say who sends the return back: --by NAME")
    name = authorise_person(deps.contract.roles, by, "period send-back")
    now = deps.clock()
    with session_scope(deps.engine) as session:
        ledger.serialise_period(session, period=str(period))
        accepted = _accepted(session, period, partner_id)
        if accepted is None:
            raise UsageError(f"{partner_id} has no accepted return for {period}: there is nothing to send back")
        if submission_id is not None and accepted.id != submission_id:  # the version the officer was looking at
            raise UsageError(
                f"this is not the accepted version of {partner_id}'s return for {period} (version "
                f"{accepted.version} is): open that version to send it back"
            )
        if ledger.current_lock(session, period=str(period), partner_id=partner_id) is not None:
            raise UsageError(
                f"{partner_id}'s return for {period} is locked by an approved payment run: unlock it first (with "
                "the reason), then send it back"
            )
        assert accepted.id is not None
        accepted.status = SENT_BACK
        session.add(accepted)
        finding = Finding(SENT_BACK_CODE, value=feedback)
        session.add(
            FindingRecord(
                submission_id=accepted.id,
                code=finding.code,
                severity=finding.severity.value,
                value=feedback,
                message=finding.message,
                fix=finding.fix,
            )
        )
        accepted.error_count += 1
        append_audit(
            session,
            at=now,
            actor=name,
            action="return.sent_back",
            subject=f"{partner_id}/{period}",
            detail={"submission_id": accepted.id, "version": accepted.version, "feedback": feedback},
        )
        text = messages.return_sent_back(
            partner_name=partner.name, period=str(period), version=accepted.version or 0, by=name, feedback=feedback
        )
        payload = {"period": str(period), "partner": partner_id, "submission": accepted.id}
        _tell(
            deps, session, partner, key=f"sent-back:{accepted.id}", kind="return_sent_back", text=text, payload=payload
        )
        paid = bool(repo.runs_of(session, period=str(period)))
    if paid:
        from services.payments import run_payments

        run_payments(deps, period)
    return SentBack(accepted, name, rerun=paid)


def _accepted(session: Session, period: Period, partner_id: str) -> Submission | None:
    found = [s for s in repo.accepted_submissions(session, period=str(period)) if s.partner_id == partner_id]
    return found[-1] if found else None


def _tell(
    deps: Deps, session: Session, partner: Partner, *, key: str, kind: str, text: str, payload: dict[str, Any]
) -> None:
    """The partner (everywhere the contract says it is told things) and the officers, once each."""
    now, officers = deps.clock(), deps.contract.alliance.officers_channel
    dedup = f"{key}:{partner.slack_channel or partner.id}"
    outbox.tell_partner(session, partner, dedup_key=dedup, kind=kind, at=now, text=text, payload=payload)
    repo.enqueue(
        session, dedup_key=f"{key}:{officers}", channel=officers, kind=kind, at=now, text=text, payload=payload
    )
