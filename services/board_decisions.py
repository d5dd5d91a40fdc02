"""The board's decision on a flagged partner (DESIGN.md section 6): checked by ``domain.board``'s rules, confirmed by
a quorum where the contract asks for one, recorded once, applied to future core instalments, told to everyone it
concerns; a decision overdue is the chair's to chase, and never steps funding down.

The same for every face: the CLI (`alliance review decide`), the paused review's Prefect form and the portal.
"""

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session

from domain import board
from domain.access import Principal, authorise_impartial, authorise_person, person_of
from domain.board import Decision, DecisionContext, DecisionKind
from domain.contract import SLACK_USER_ID, Contract, person_key
from domain.errors import UsageError
from domain.periods import Period, format_day, london_date
from domain.review import Standing
from integrations.slack.mrkdwn import escape
from models import repo, reviews
from models.audit import append_audit
from models.db import session_scope
from models.tables import BoardDecisionRecord, ReviewCase, ReviewRecord, ReviewReply
from services import board_quorum, messages, outbox
from services.board_quorum import Confirmations
from services.deps import Deps
from services.payments import run_payments
from services.review import _flagged_case, _name, year_label

# --- The board's decision ----------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionResult:
    record: BoardDecisionRecord | None  # None: confirmed, waiting for more board members (review.decision_quorum)
    created: bool  # False: this very decision was already recorded (a resumed flow, a repeated command)
    rerun_periods: list[str]
    confirmations: Confirmations | None = None  # where a quorum is needed: who has confirmed so far


def decide(
    deps: Deps,
    *,
    year: int,
    partner_id: str,
    kind: str,
    decided_by: "str | Principal",
    reason: str,
    step_down_percent: int | None = None,
    effective: str | None = None,
    via: str = "cli",
) -> DecisionResult:
    """Record the board's decision (refused with every reason when it cannot stand) and apply its funding effect.
    ``decided_by``: a signed-in account, or a name (with roles, a board member's). Where the contract asks for a
    quorum, a step-down or withdrawal is recorded once enough different members have confirmed it."""
    contract = deps.contract
    try:
        decision_kind = DecisionKind(kind)
    except ValueError:
        options = ", ".join(k.value for k in DecisionKind)
        raise UsageError(f"decision {kind!r} is not one of {options}") from None
    contract.known_partner(partner_id)
    member_key = ""
    if isinstance(decided_by, Principal):
        authorise_impartial(contract.roles, decided_by, partner_id)
        member_key = person_of(decided_by)  # the same person from the portal, the CLI or the Prefect form
        decided_by = authorise_person(contract.roles, decided_by, "review decide")
    elif decided_by.strip():  # with roles: only a board member decides (the Prefect form asks again otherwise)
        decided_by = authorise_person(contract.roles, decided_by, "review decide")
        authorise_impartial(contract.roles, decided_by, partner_id)
    decision = Decision(
        partner_id=partner_id,
        kind=decision_kind,
        step_down_percent=step_down_percent,
        effective=Period.parse(effective) if effective else None,
        decided_by=decided_by.strip(),
        reason=reason.strip(),
    )
    if board_quorum.needs_quorum(deps, decision):
        confirmed = _confirm(deps, year, decision, member_key or person_key(decision.decided_by))
        if not confirmed.complete:
            return DecisionResult(None, created=False, rerun_periods=[], confirmations=confirmed)
        decision = replace(decision, decided_by=" and ".join(confirmed.members), reason=confirmed.reason)
    try:
        record, from_period, created = _record_decision(deps, year, decision, via)
    except DatabaseIntegrityError:
        # Another process recorded a decision for this case at the same moment: the same one, or refuse.
        with session_scope(deps.engine) as session:
            _, case = _flagged_case(session, contract=contract, year=year, partner_id=partner_id)
            assert case.id is not None
            latest = reviews.decisions_of(session, case_id=case.id)[-1:]
        if not latest or not _same(latest[0], decision):
            raise UsageError(
                f"another board decision on {partner_id} was recorded at the same moment: "
                f"see `alliance review show --year {year}` and decide again if needed"
            ) from None
        record, from_period, created = latest[0], None, False
    # Also on a repeat: a re-run interrupted the first time is finished (posting the same inputs is a no-op).
    rerun = _rerun_payments(deps, from_period) if from_period else []
    return DecisionResult(record, created=created, rerun_periods=rerun)


def _confirm(deps: Deps, year: int, decision: Decision, member_key: str) -> board_quorum.Confirmations:
    """One member's confirmation, once the decision itself could stand (refused with every reason otherwise)."""
    with session_scope(deps.engine) as session:
        review, case = _flagged_case(session, contract=deps.contract, year=year, partner_id=decision.partner_id)
        assert case.id is not None
        decisions = reviews.decisions_of(session, case_id=case.id)
        in_force = _step_down_in_force(decisions)
        found = board.problems(decision, _context(session, deps.contract, review, decisions, in_force, deps.clock()))
    if found:
        raise UsageError("the board's decision was not recorded: " + "; ".join(found))
    return board_quorum.confirm(deps, case_id=case.id, year=year, decision=decision, member_key=member_key)


def _record_decision(
    deps: Deps, year: int, decision: Decision, via: str
) -> tuple[BoardDecisionRecord, str | None, bool]:
    """The stored decision, the first period its funding change applies to, and whether it is new."""
    contract, now, partner_id, decision_kind = deps.contract, deps.clock(), decision.partner_id, decision.kind
    with session_scope(deps.engine) as session:
        review, case = _flagged_case(session, contract=contract, year=year, partner_id=partner_id)
        assert case.id is not None
        decisions = reviews.decisions_of(session, case_id=case.id)
        if decisions and _same(decisions[-1], decision):  # the same decision again (a resumed flow, a repeat)
            return decisions[-1], _funding_start(session, decisions[-1]), False
        in_force = _step_down_in_force(decisions)
        key = f"reverse/{in_force.id}" if decision_kind is DecisionKind.reverse and in_force else f"{year}/{partner_id}"
        found = board.problems(decision, _context(session, contract, review, decisions, in_force, now))
        if found:
            raise UsageError("the board's decision was not recorded: " + "; ".join(found))
        record = BoardDecisionRecord(
            decision_key=key,
            case_id=case.id,
            partner_id=partner_id,
            kind=decision_kind.value,
            step_down_percent=decision.funding_percent,
            effective=str(decision.effective) if decision.effective else None,
            decided_by=decision.decided_by,
            reason=decision.reason,
            decided_at=now,
            via=via,
            reverses_id=in_force.id if decision_kind is DecisionKind.reverse and in_force else None,
        )
        session.add(record)
        session.flush()
        from_period = _apply_funding(session, decision, record, in_force)
        append_audit(
            session,
            at=now,
            actor=decision.decided_by,
            action="review.board_decision",
            subject=f"year {year}/{partner_id}",
            detail={
                "decision_id": record.id,
                "kind": record.kind,
                "percent": record.step_down_percent,
                "effective": record.effective or from_period,
                "reason": record.reason,
                "via": via,
                "reverses": record.reverses_id,
            },
        )
        _tell(deps, session, year, decision, record, from_period)
        return record, from_period, True


def _funding_start(session: Session, record: BoardDecisionRecord) -> str | None:
    adjustment = reviews.adjustment_of(session, decision_id=record.id) if record.id is not None else None
    return adjustment.from_period if adjustment else None


def _decided(decisions: list[BoardDecisionRecord]) -> bool:
    """Whether the review has its decision (later reversals on appeal do not reopen it)."""
    return any(d.kind != DecisionKind.reverse for d in decisions)


def _same(stored: BoardDecisionRecord, decision: Decision) -> bool:
    return (
        stored.kind == decision.kind.value
        and stored.step_down_percent == decision.funding_percent
        and stored.effective == (str(decision.effective) if decision.effective else None)
        and stored.decided_by == decision.decided_by
        and stored.reason == decision.reason
    )


def _step_down_in_force(decisions: list[BoardDecisionRecord]) -> BoardDecisionRecord | None:
    reversed_ids = {d.reverses_id for d in decisions if d.reverses_id is not None}
    funding = [
        d for d in decisions if d.step_down_percent and d.kind != DecisionKind.reverse and d.id not in reversed_ids
    ]
    return funding[-1] if funding else None


def _context(
    session: Session,
    contract: Contract,
    review: ReviewRecord,
    decisions: list[BoardDecisionRecord],
    in_force: BoardDecisionRecord | None,
    now: datetime,
) -> DecisionContext:
    today = london_date(now)
    latest_run = reviews.latest_run_period(session)
    earliest = Period(today.year, today.month).next()
    if latest_run is not None:
        earliest = max(earliest, Period.parse(latest_run).next())
    return DecisionContext(
        flagged=True,
        percent_options=tuple(contract.review.step_down_percent_options),
        reply_closes=review.reply_closes,
        today=today,
        earliest_effective=earliest,
        step_down_in_force=in_force is not None,
        already_decided=_decided(decisions),
    )


def _apply_funding(
    session: Session, decision: Decision, record: BoardDecisionRecord, in_force: BoardDecisionRecord | None
) -> str | None:
    """The funding adjustment the decision puts in force; the first period it changes (None: no change)."""
    if decision.kind is DecisionKind.reverse and in_force is not None:
        active = reviews.active_adjustments(session, partner_id=decision.partner_id)
        reversed_adjustment = next(a for a in active if a.decision_id == in_force.id)
        reviews.add_adjustment(
            session,
            partner_id=decision.partner_id,
            from_period=reversed_adjustment.from_period,
            percent=0,
            reason=decision.reason,
            decided_by=decision.decided_by,
            decided_at=record.decided_at,
            decision_id=record.id,
            reverses_id=reversed_adjustment.id,
        )
        return reversed_adjustment.from_period
    percent = decision.funding_percent
    if percent is None or decision.effective is None:
        return None
    reviews.add_adjustment(
        session,
        partner_id=decision.partner_id,
        from_period=str(decision.effective),
        percent=percent,
        reason=decision.reason,
        decided_by=decision.decided_by,
        decided_at=record.decided_at,
        decision_id=record.id,
    )
    return str(decision.effective)


def _tell(
    deps: Deps, session: Session, year: int, decision: Decision, record: BoardDecisionRecord, from_period: str | None
) -> None:
    contract, now = deps.contract, deps.clock()
    partner = contract.partner(decision.partner_id)
    assert partner is not None
    if decision.kind is DecisionKind.reverse:
        effect = f"Core funding is restored from {from_period}; anything already withheld is repaid by adjustment."
    elif decision.funding_percent:
        effect = f"Core instalments from {decision.effective} are reduced by {decision.funding_percent}%."
    else:
        effect = "Core funding is unchanged."
    text = messages.board_decision(
        partner_name=partner.name,
        year_label=year_label(contract, year),
        decision=decision.describe(),
        by=decision.decided_by,
        reason=decision.reason,
        effect=effect,
    )
    key = f"review:{year}:decision:{record.id}"
    outbox.tell_partner(
        session,
        partner,
        dedup_key=f"{key}:{partner.slack_channel or partner.id}",
        kind="board_decision",
        at=now,
        text=text,
    )
    for channel in (contract.alliance.board_channel, contract.alliance.officers_channel):
        repo.enqueue(session, dedup_key=f"{key}:{channel}", channel=channel, kind="board_decision", at=now, text=text)


def _rerun_payments(deps: Deps, from_period: str) -> list[str]:
    """Periods already run from ``from_period`` on get a new version: the change is paid by adjustment lines."""
    with session_scope(deps.engine) as session:
        periods = [p for p in repo.periods_with_runs(session) if p >= from_period]
    return [p for p in periods if run_payments(deps, Period.parse(p)).created]


# --- Timeouts and what the board sees ----------------------------------------------------------


def chair_mention(contract: Contract) -> str:
    chair = contract.review.board_chair
    return f"<@{chair}>" if SLACK_USER_ID.match(chair) else escape(chair)  # a user id (in capitals) is mentioned


def record_timeout(deps: Deps, *, year: int, partner_id: str) -> bool:
    """The board did not decide in time: tell the chair, change nothing. False when a decision exists."""
    contract, now = deps.contract, deps.clock()
    with session_scope(deps.engine) as session:
        review, case = _flagged_case(session, contract=contract, year=year, partner_id=partner_id)
        assert case.id is not None
        if _decided(reviews.decisions_of(session, case_id=case.id)):
            return False
        key = f"review:{year}:timeout:{partner_id}"
        if repo.has_notification(session, dedup_key=key):
            return True
        append_audit(
            session,
            at=now,
            actor="partner-review",
            action="review.board_timeout",
            subject=f"year {year}/{partner_id}",
            detail={"deadline": review.board_deadline.isoformat(), "funding": "unchanged"},
        )
        repo.enqueue(
            session,
            dedup_key=key,
            channel=contract.alliance.board_channel,
            kind="review_timeout",
            at=now,
            text=messages.review_timeout(
                chair=chair_mention(contract),
                partner_name=_name(contract, partner_id),
                year_label=year_label(contract, year),
                deadline=format_day(london_date(review.board_deadline)),
            ),
        )
        return True


@dataclass(frozen=True)
class BoardCase:
    """What the board needs to decide one flagged partner (and the flow, to wait for it)."""

    year: int
    partner_id: str
    partner_name: str
    reply_closes: date
    board_deadline: datetime
    decided: bool
    brief: str  # markdown for the Prefect form


def board_cases(deps: Deps, *, year: int) -> list[BoardCase]:
    contract = deps.contract
    with session_scope(deps.engine) as session:
        review = reviews.review_of(session, year=year)
        if review is None or review.id is None:
            return []
        found = []
        for case in reviews.cases_of(session, review_id=review.id):
            if case.standing != Standing.flagged or case.id is None:
                continue
            decisions = reviews.decisions_of(session, case_id=case.id)
            replies = reviews.replies_of(session, case_id=case.id)
            found.append(
                BoardCase(
                    year=year,
                    partner_id=case.partner_id,
                    partner_name=_name(contract, case.partner_id),
                    reply_closes=review.reply_closes,
                    board_deadline=review.board_deadline,
                    decided=_decided(decisions),
                    brief=_brief(contract, review, case, replies),
                )
            )
        return found


def _brief(contract: Contract, review: ReviewRecord, case: ReviewCase, replies: list[ReviewReply]) -> str:
    name = _name(contract, case.partner_id)
    options = ", ".join(f"{o}%" for o in contract.review.step_down_percent_options)
    lines = [
        f"### Board decision: {name}, {year_label(contract, review.year)}",
        "",
        case.reason,
        "",
        f"O = {case.observed:,.1f}, E = {case.expected:,.1f}, O/E = {case.ratio or 0:.3f}, "
        f"z = {case.z_adjusted or 0:.2f}, lower limit = {case.lower_limit or 0:.3f}.",
        f"Evidence pack: `out/reviews/{review.year}/{case.evidence_path}`.",
        "",
        f"**Replies from the partner** (right of reply closed {format_day(review.reply_closes)}):",
    ]
    lines += [
        f"- {format_day(london_date(r.received_at))}, {_as_text(r.by)}: {_as_text(r.text or '')} "
        f"{_as_text(r.filename or '')}"
        for r in replies
    ]
    if not replies:
        lines.append("- none received")
    lines += [
        "",
        f"Decision: no_action, improvement_plan, step_down (percentage one of {options}, from an effective "
        "month YYYY-MM) or withdraw (from an effective month). Give who decided and why.",
    ]
    return "\n".join(lines)


_MARKDOWN = re.compile(r"([\\`*_\[\]<>!#|~])")


def _as_text(text: str) -> str:
    """The partner's words in the board's markdown form as written: one line, no markup of their own."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))
