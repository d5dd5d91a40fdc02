"""Spot checks: each accepted version's claimed outcomes sampled for officers, their findings recorded, and
the claims not verified withdrawn (the next payment run for the period recovers what they were paid).

The rules (sample size by risk, the seeded draw, what a withdrawal takes off) are in ``domain.spot_checks``.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError as DatabaseIntegrityError
from sqlmodel import Session

from domain.access import Principal, authorise_impartial, authorise_person
from domain.contract import Contract
from domain.errors import IntegrityError, UsageError
from domain.periods import Period
from domain.spot_checks import (
    Claim,
    MonthClaims,
    Recovery,
    Result,
    RiskFound,
    RiskInputs,
    WithdrawnRow,
    draw,
    recovery_of,
    risks,
    rows_with_withdrawals,
    sample_size,
)
from models import checks, ledger, repo
from models.audit import append_audit
from models.db import session_scope
from models.tables import SpotCheckClaim, SpotCheckDraw, SpotCheckResult, Submission
from services import messages, outbox
from services.deps import Deps


@dataclass(frozen=True)
class DrawMade:
    period: str
    partner_id: str
    version: int
    claims: int  # what it was drawn from
    sample: list[Claim]
    risks: list[RiskFound]
    seed: str


def draw_spot_checks(deps: Deps, period: Period) -> list[DrawMade]:
    """A draw for every accepted version of the period that has none yet; officers told of the new ones."""
    contract = deps.contract
    now = deps.clock()
    made: list[DrawMade] = []
    with session_scope(deps.engine) as session:
        ledger.serialise_period(session, period=str(period))  # two cycles at once draw once (and unique anyway)
        for submission in repo.accepted_submissions(session, period=str(period)):
            if submission.id is None or checks.draw_of(session, submission_id=submission.id) is not None:
                continue
            made.append(_draw(session, deps, contract, period, submission, now))
        if made:
            # The draws' own ids name this message (a digest: 200 partners' would overflow an index).
            drawn = ",".join(f"{m.partner_id}.{m.version}" for m in made)
            repo.enqueue(
                session,
                dedup_key=f"spot-checks:{period}:{hashlib.sha256(drawn.encode()).hexdigest()[:16]}",
                channel=contract.alliance.officers_channel,
                kind="spot_checks_drawn",
                at=now,
                text=messages.spot_checks_drawn(
                    period=str(period),
                    drawn=[(_name(contract, m.partner_id), len(m.sample), [r.text() for r in m.risks]) for m in made],
                ),
                payload={"period": str(period), "draws": [[m.partner_id, m.version, len(m.sample)] for m in made]},
            )
    return made


def periods_to_draw(deps: Deps, target: Period, received: list[Period]) -> list[Period]:
    """The periods whose returns arrived this cycle, and any of the last twelve months with an accepted version
    not drawn from yet (a cycle that stopped between paying and drawing)."""
    with session_scope(deps.engine) as session:
        recent = [str(target.plus(-n)) for n in range(12)]
        undrawn = {Period.parse(p) for p in checks.undrawn_periods(session, periods=recent)}
    return sorted(set(received) | undrawn)


def _draw(
    session: Session, deps: Deps, contract: Contract, period: Period, submission: Submission, now: datetime
) -> DrawMade:
    assert submission.id is not None and submission.partner_id is not None
    partner_id = submission.partner_id
    rows = checks.claimed_rows(session, submission_id=submission.id)
    claims = [Claim(r.participant_id, m) for r in rows for m in sorted(r.achieved)]
    fresh = set(claims) - checks.drawn_before(session, period=str(period), partner_id=partner_id)
    found = risks(_risk_inputs(session, submission, period, len(claims)))
    settings = contract.spot_checks
    size = sample_size(base=settings.sample_size, most=settings.max_sample, risks_found=len(found), claims=len(fresh))
    seed = deps.seeds()
    chosen = draw(fresh, size, seed)
    where = {r.participant_id: r for r in rows}
    record = checks.add_draw(
        session,
        draw=SpotCheckDraw(
            period=str(period),
            partner_id=partner_id,
            submission_id=submission.id,
            seed=seed,
            claims=len(fresh),
            sample_size=len(chosen),
            risks=json.dumps([[r.risk.value, r.text()] for r in found]),
            drawn_at=now,
        ),
        claims=[
            SpotCheckClaim(
                draw_id=0,
                participant_id=c.participant_id,
                measure=c.measure,
                band=where[c.participant_id].band,
                sheet_row=where[c.participant_id].sheet_row,
            )
            for c in chosen
        ],
    )
    append_audit(
        session,
        at=now,
        actor="monthly-cycle",
        action="spot_checks.drawn",
        subject=f"{partner_id}/{period}/v{submission.version}",
        detail={
            "draw_id": record.id,
            "seed": seed,
            "drawn_from": len(fresh),
            "sample_size": len(chosen),
            "risks": [r.risk.value for r in found],
        },
    )
    return DrawMade(str(period), partner_id, submission.version or 0, len(fresh), chosen, found, seed)


def _risk_inputs(session: Session, submission: Submission, period: Period, claims: int) -> RiskInputs:
    assert submission.partner_id is not None
    recent = [str(period.plus(-n)) for n in (2, 1, 0)]
    history = repo.recent_months(session, partner_id=submission.partner_id, before=str(period), limit=6)
    return RiskInputs(
        rows=submission.row_count,
        claims=claims,
        warnings=submission.warning_count,
        rejected=checks.versions_rejected(session, partner_id=submission.partner_id, periods=recent),
        months_looked_at=f"{recent[0]} to {recent[-1]}",
        history=[MonthClaims(m.rows, sum(m.achieved.values())) for m in history],
        failed_before=checks.failed_since(
            session, partner_id=submission.partner_id, first_period=str(period.plus(-12)), before=str(period)
        ),
    )


def _name(contract: Contract, partner_id: str) -> str:
    partner = contract.partner(partner_id)
    return partner.name if partner else partner_id


# --- Officers' findings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckRecorded:
    result: SpotCheckResult
    claim: SpotCheckClaim
    created: bool  # False: the same finding had been recorded already
    recovery: Recovery | None = None  # not verified: what becomes of the money paid for it
    run_version: int | None = None  # taken_off: the run that leaves it out; recover: the run that paid it


def record_check(
    deps: Deps,
    *,
    period: Period,
    partner_id: str,
    participant_id: str,
    measure: str,
    result: str,
    by: "str | Principal",
    reason: str = "",
) -> CheckRecorded:
    """An officer's finding on a claim drawn: ``verified``, or ``not_verified`` (withdrawn, the partner told)."""
    contract = deps.contract
    contract.known_partner(partner_id)
    try:
        outcome = Result(result)
    except ValueError:
        raise UsageError(f"--result must be verified or not_verified, not {result!r}") from None
    reason = reason.strip()
    if outcome is Result.not_verified and not reason:
        raise UsageError("say why the claim could not be verified: --reason TEXT (the partner is told, it is audited)")
    if isinstance(by, str) and not by.strip():
        raise UsageError("say who checked the claim: --by NAME")
    authorise_impartial(contract.roles, by, partner_id, task="check its claims", instead="officer")
    by = authorise_person(contract.roles, by.strip() if isinstance(by, str) else by, "checks record")
    try:
        return _record(deps, period, partner_id, Claim(participant_id.strip(), measure.strip()), outcome, by, reason)
    except DatabaseIntegrityError:
        # Another officer recorded this claim at the same moment: theirs stands (the same finding, or a refusal).
        return _record(deps, period, partner_id, Claim(participant_id.strip(), measure.strip()), outcome, by, reason)


def _record(
    deps: Deps, period: Period, partner_id: str, wanted: Claim, outcome: Result, by: str, reason: str
) -> CheckRecorded:
    now = deps.clock()
    with session_scope(deps.engine) as session:
        draws = checks.draws_in(session, periods=[str(period)], partner_id=partner_id)
        found = [
            c
            for c in checks.checked_claims(session, draw_ids=[d.id for d in draws if d.id is not None])
            if Claim(c.claim.participant_id, c.claim.measure) == wanted
        ]
        if not found:
            raise UsageError(
                f"{wanted.participant_id} {wanted.measure} is not among {partner_id}'s claims drawn for {period}: "
                f"see `alliance checks list --period {period} --partner {partner_id}`"
            )
        checked = found[0]
        recovery: Recovery | None = None
        version: int | None = None
        if outcome is Result.not_verified:
            recovery, version = _recovery(session, str(period), partner_id, wanted)
        if checked.result is not None:
            if checked.result.result == outcome.value:
                return CheckRecorded(checked.result, checked.claim, False, recovery, version)
            raise IntegrityError(
                f"{wanted.participant_id} {wanted.measure} for {period} was recorded {checked.result.result} by "
                f"{checked.result.by} on {checked.result.recorded_at:%d/%m/%Y}: a spot check's finding is final"
            )
        assert checked.claim.id is not None
        record = checks.add_result(
            session,
            result=SpotCheckResult(
                claim_id=checked.claim.id, result=outcome.value, by=by, reason=reason, recorded_at=now
            ),
        )
        append_audit(
            session,
            at=now,
            actor=by,
            action=f"spot_check.{outcome.value}",
            subject=f"{partner_id}/{period}/{wanted.participant_id}/{wanted.measure}",
            detail={"result_id": record.id, "claim_id": checked.claim.id, "reason": reason},
        )
        if recovery is not None:  # not verified
            partner = deps.contract.partner(partner_id)
            assert partner is not None
            outbox.tell_partner(
                session,
                partner,
                dedup_key=f"spot-check-withdrawn:{record.id}",
                kind="claim_withdrawn",
                at=now,
                text=messages.claim_withdrawn(
                    partner_name=partner.name,
                    period=str(period),
                    participant_id=wanted.participant_id,
                    measure=wanted.measure,
                    reason=reason,
                    recovery=recovery,
                ),
                payload={"period": str(period), "result_id": record.id},
            )
        return CheckRecorded(record, checked.claim, True, recovery, version)


def _recovery(session: Session, period: str, partner_id: str, claim: Claim) -> tuple[Recovery, int | None]:
    """What the period's runs have done and will do about the claim, and the run version that says so."""
    accepted = next((s for s in repo.accepted_submissions(session, period=period) if s.partner_id == partner_id), None)
    still_claimed = False
    if accepted is not None and accepted.id is not None:
        rows = checks.rows_claiming(session, submission_id=accepted.id, participant_ids=[claim.participant_id])
        still_claimed = claim.participant_id in rows and claim.measure in rows[claim.participant_id][1]
    states = ledger.run_states(session, period=period)
    latest = states[-1].run if states else None
    left_out = latest is not None and [partner_id, claim.participant_id, claim.measure] in json.loads(
        latest.inputs
    ).get("withdrawn", [])
    payable = ledger.last_payable(states)
    paid = (
        payable is not None
        and accepted is not None
        and [partner_id, accepted.sha256, accepted.version] in json.loads(payable.run.inputs).get("returns", [])
    )
    recovery = recovery_of(still_claimed=still_claimed, left_out_by_latest_run=left_out, paid=paid)
    if recovery is Recovery.taken_off and latest is not None:
        return recovery, latest.version
    if recovery is Recovery.recover and payable is not None:
        return recovery, payable.run.version
    return recovery, None


def checks_table(
    session: Session, *, periods: list[Period], partner_id: str | None = None, contract: Contract | None = None
) -> list[dict[str, object]]:
    """Every claim drawn in ``periods`` with its finding, as `alliance checks list --json` prints it; ``partner_id``
    one partner's only (with ``contract``: refused if it has no such partner)."""
    if partner_id is not None and contract is not None:
        contract.known_partner(partner_id)
    draws = checks.draws_in(session, periods=[str(p) for p in periods], partner_id=partner_id)
    versions = {d.id: d for d in draws}
    table: list[dict[str, object]] = []
    for c in checks.checked_claims(session, draw_ids=[d.id for d in draws if d.id is not None]):
        draw_record = versions[c.claim.draw_id]
        table.append(
            {
                "period": draw_record.period,
                "partner": draw_record.partner_id,
                "participant_id": c.claim.participant_id,
                "measure": c.claim.measure,
                "band": c.claim.band,
                "sheet_row": c.claim.sheet_row,
                "result": c.result.result if c.result else "to_check",
                "by": c.result.by if c.result else None,
                "reason": c.result.reason if c.result else None,
                "seed": draw_record.seed,
            }
        )
    return table


# --- Withdrawn claims, for payments and reviews --------------------------------------------------


@dataclass(frozen=True)
class Withdrawal:
    """A claim not verified that the accepted return still makes (what a payment run takes off)."""

    partner_id: str
    claim: Claim
    band: str
    achieved: frozenset[str]  # everything the row claims: the row moves to the group of what is left


def withdrawals(session: Session, *, period: str, accepted: list[Submission]) -> list[Withdrawal]:
    """The claims of the period found not verified that the accepted versions still make."""
    wanted: dict[str, list[Claim]] = {}
    for _, partner_id, claim in checks.not_verified(session, periods=[period]):
        wanted.setdefault(partner_id, []).append(claim)
    found: list[Withdrawal] = []
    for submission in accepted:
        claims = wanted.get(submission.partner_id or "")
        if not claims or submission.id is None:
            continue
        rows = checks.rows_claiming(
            session, submission_id=submission.id, participant_ids=[c.participant_id for c in claims]
        )
        for claim in sorted(claims):
            row = rows.get(claim.participant_id)
            if row is not None and claim.measure in row[1]:
                found.append(Withdrawal(submission.partner_id or "", claim, row[0], row[1]))
    return found


def withdrawn_rows(withdrawn: list[Withdrawal]) -> dict[str, list[WithdrawnRow]]:
    """Per partner, the rows its withdrawals take measures from (for regrouping its counts)."""
    by_partner: dict[str, list[Withdrawal]] = {}
    for w in withdrawn:
        by_partner.setdefault(w.partner_id, []).append(w)
    return {
        pid: rows_with_withdrawals({w.claim.participant_id: (w.band, w.achieved) for w in own}, [w.claim for w in own])
        for pid, own in by_partner.items()
    }


def withdrawn_rows_in(session: Session, *, periods: list[str]) -> dict[tuple[str, str], list[WithdrawnRow]]:
    """(partner id, period) -> the rows of its accepted version that withdrawn claims take measures from."""
    found: dict[tuple[str, str], list[WithdrawnRow]] = {}
    for period in sorted({p for p, _, _ in checks.not_verified(session, periods=periods)}):
        accepted = repo.accepted_submissions(session, period=period)
        for partner_id, rows in withdrawn_rows(withdrawals(session, period=period, accepted=accepted)).items():
            found[partner_id, period] = rows
    return found
