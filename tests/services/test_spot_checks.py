"""Spot checks on SQLite and PostgreSQL: seeded draws sized by risk, officers' findings, exact recovery."""

import itertools
import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from domain.errors import AccessDenied, IntegrityError, UsageError
from domain.payments import calculate_payments
from domain.periods import Period
from domain.spot_checks import Claim, Recovery, draw
from models import checks, ledger, repo
from models.audit import entries, verify_chain
from models.db import session_scope
from models.tables import Notification, ParticipantRecord, Submission
from services.deps import Deps
from services.payments import periods_with_new_withdrawals, run_payments
from services.review import assess_year
from services.spot_checks import CheckRecorded, checks_table, draw_spot_checks, record_check
from tests.services.review_helpers import PARTNERS, REVIEW_AT, START, Clock, review_deps, seed_year

PARTNER = "partner-05"


def seeded(root: Path, engine: Engine | None = None, months: int = 3) -> Deps:
    deps = review_deps(root, Clock(REVIEW_AT), engine=engine)
    counter = itertools.count()
    deps.seeds = lambda: f"test-seed-{next(counter)}"
    seed_year(deps, months=dict.fromkeys(PARTNERS, months))
    return deps


def claims_in_return(deps: Deps, partner_id: str, period: Period) -> list[Claim]:
    with session_scope(deps.engine) as session:
        [submission] = [s for s in repo.accepted_submissions(session, period=str(period)) if s.partner_id == partner_id]
        assert submission.id is not None
        rows = checks.claimed_rows(session, submission_id=submission.id)
    return [Claim(r.participant_id, m) for r in rows for m in r.achieved]


def test_each_accepted_return_gets_one_draw_anyone_can_repeat_from_its_seed(engine: Engine, tmp_path: Path) -> None:
    deps = seeded(tmp_path / "ws", engine)
    made = draw_spot_checks(deps, START)
    assert sorted(m.partner_id for m in made) == PARTNERS
    assert all(len(m.sample) == deps.contract.spot_checks.sample_size for m in made)  # no risk in a first month
    mine = next(m for m in made if m.partner_id == PARTNER)
    assert mine.sample == draw(claims_in_return(deps, PARTNER, START), len(mine.sample), mine.seed)
    assert draw_spot_checks(deps, START) == []  # drawn once
    with session_scope(deps.engine) as session:
        audited = [e for e in entries(session, action_prefix="spot_checks.drawn") if e.subject.startswith(PARTNER)]
        assert json.loads(audited[0].detail)["seed"] == mine.seed
        officers = repo.notifications(session)
        assert [n.kind for n in officers] == ["spot_checks_drawn"]
        assert officers[0].channel == deps.contract.alliance.officers_channel and officers[0].partner_id is None


def test_poor_data_quality_and_past_failures_each_enlarge_the_sample(tmp_path: Path) -> None:
    deps = seeded(tmp_path / "ws")
    with session_scope(deps.engine) as session:
        session.add(
            Submission(
                sha256="r" * 64,
                filename="bad.xlsx",
                stored_path="archive/bad",
                received_at=REVIEW_AT,
                partner_id=PARTNER,
                period=str(START.plus(1)),
                version=2,
                status="rejected",
            )
        )
    first = {m.partner_id: m for m in draw_spot_checks(deps, START)}
    record_check(
        deps,
        period=START,
        partner_id=PARTNER,
        participant_id=first[PARTNER].sample[0].participant_id,
        measure=first[PARTNER].sample[0].measure,
        result="not_verified",
        by="Olive Officer",
        reason="no evidence of the tenancy",
    )
    second = {m.partner_id: m for m in draw_spot_checks(deps, START.plus(1))}
    base = deps.contract.spot_checks.sample_size
    assert len(second["partner-01"].sample) == base
    assert [r.risk.value for r in second[PARTNER].risks] == ["data_quality", "past_failures"]
    assert len(second[PARTNER].sample) == 3 * base


def record(
    deps: Deps, claim: Claim, result: str = "not_verified", reason: str = "no evidence", by: str = "Olive Officer"
) -> CheckRecorded:
    return record_check(
        deps,
        period=START,
        partner_id=PARTNER,
        participant_id=claim.participant_id,
        measure=claim.measure,
        result=result,
        by=by,
        reason=reason,
    )


def partner_points(deps: Deps, period: Period, withdrawn: list[Claim]) -> dict[str, Decimal]:
    """Every partner's points counted row by row from the stored returns, the withdrawn claims left out."""
    weights = {m.id: m.weight for m in deps.contract.framework.measures}
    points: dict[str, Decimal] = {}
    with session_scope(deps.engine) as session:
        for s in repo.accepted_submissions(session, period=str(period)):
            rows = session.exec(select(ParticipantRecord).where(ParticipantRecord.submission_id == s.id)).all()
            total = Decimal(0)
            for row in rows:
                for measure in filter(None, row.achieved.split(",")):
                    if s.partner_id == PARTNER and Claim(row.participant_id, measure) in withdrawn:
                        continue
                    total += weights[measure] * deps.contract.framework.bands[row.complexity_band]
            points[s.partner_id or ""] = total
    return points


def test_a_claim_not_verified_is_recovered_exactly_by_the_next_run(engine: Engine, tmp_path: Path) -> None:
    deps = seeded(tmp_path / "ws", engine)
    first = run_payments(deps, START).run
    sample = next(m for m in draw_spot_checks(deps, START) if m.partner_id == PARTNER).sample
    found = record(deps, sample[0], reason="the tenancy letter is for another address")
    assert (found.created, found.recovery, found.run_version) == (True, Recovery.recover, 1)
    assert record(deps, sample[1], result="verified", reason="").recovery is None
    with session_scope(deps.engine) as session:
        assert periods_with_new_withdrawals(session, contract=deps.contract) == [START]
        assert checks.last_findings(session, periods=[str(START), str(START.plus(1))]) == {str(START): REVIEW_AT}
    second = run_payments(deps, START)
    assert second.created and second.run.version == 2

    expected = calculate_payments(deps.contract, START, partner_points(deps, START, [sample[0]]))
    with session_scope(deps.engine) as session:
        before = repo.lines_of(session, run_id=first.id or 0)
        after = repo.lines_of(session, run_id=second.run.id or 0)
        assert periods_with_new_withdrawals(session, contract=deps.contract) == []

    def amount(lines: list, partner: str, kind: str) -> int:  # type: ignore[type-arg]
        return sum(x.amount_pence for x in lines if x.partner_id == partner and x.kind == kind)

    for payment in expected.partners:
        pid = payment.partner_id
        assert amount(after, pid, "outcome") == payment.outcome_pence  # restated as if never claimed
        assert amount(after, pid, "core") == amount(before, pid, "core")
        was = amount(before, pid, "outcome")
        adjustment = [x for x in after if x.partner_id == pid and x.kind == "adjustment"]
        assert sum(x.amount_pence for x in adjustment) == -was - amount(before, pid, "core")
    recovered = amount(before, PARTNER, "outcome") - next(
        p.outcome_pence for p in expected.partners if p.partner_id == PARTNER
    )
    assert recovered > 0
    net = sum(x.amount_pence for x in after if x.partner_id == PARTNER and x.kind not in ("carried", "recovery"))
    assert net == -recovered  # the version takes back exactly what the claim was paid
    held = sum(x.amount_pence for x in after if x.partner_id == PARTNER and x.kind == "carried")
    assert held == recovered  # held back from this version, recovered from the following payments
    outcome = next(x for x in after if x.partner_id == PARTNER and x.kind == "outcome")
    assert sample[0].participant_id in outcome.explanation and "withdrawn after spot checks" in outcome.explanation
    adjusted = next(
        x
        for x in after
        if x.partner_id == PARTNER
        and x.kind == "adjustment"
        and "of_kind" in x.working
        and json.loads(x.working)["of_kind"] == "outcome"
    )
    assert "1 claim(s) withdrawn after spot checks" in adjusted.explanation
    assert run_payments(deps, START).created is False  # recovered once
    again = record(deps, sample[0], reason="asked again")
    assert (again.created, again.recovery, again.run_version) == (False, Recovery.taken_off, 2)
    assert again.result.reason == "the tenancy letter is for another address"  # the first finding stands

    with session_scope(deps.engine) as session:
        told = [n for n in repo.notifications(session) if n.kind == "claim_withdrawn"]
        assert [(n.partner_id, n.channel) for n in told] == [(PARTNER, f"#{PARTNER}")]
        assert "another address" in told[0].text and "recovered by an adjustment" in told[0].text
        audited = entries(session, action_prefix="spot_check.")
        assert {e.action for e in audited} == {"spot_check.not_verified", "spot_check.verified"}
        assert "another address" in next(e.detail for e in audited if e.action == "spot_check.not_verified")
        assert verify_chain(session).ok


def test_a_finding_is_once_only_and_only_for_a_claim_drawn(tmp_path: Path) -> None:
    deps = seeded(tmp_path / "ws")
    sample = next(m for m in draw_spot_checks(deps, START) if m.partner_id == PARTNER).sample
    undrawn = next(c for c in claims_in_return(deps, PARTNER, START) if c not in sample)
    with pytest.raises(UsageError, match="is not among partner-05's claims drawn for 2026-04"):
        record(deps, undrawn)
    with pytest.raises(UsageError, match="say why"):
        record(deps, sample[0], reason="  ")
    with pytest.raises(UsageError, match="verified or not_verified"):
        record(deps, sample[0], result="maybe")
    record(deps, sample[0])
    record(deps, sample[0])  # the same finding again: nothing new
    with pytest.raises(IntegrityError, match="a spot check's finding is final"):
        record(deps, sample[0], result="verified")
    with session_scope(deps.engine) as session:
        assert len([n for n in session.exec(select(Notification)) if n.kind == "claim_withdrawn"]) == 1
        table = checks_table(session, periods=[START], partner_id=PARTNER)
    assert {r["result"] for r in table} == {"not_verified", "to_check"}


def test_a_corrected_version_is_drawn_from_the_claims_not_drawn_before(tmp_path: Path) -> None:
    deps = seeded(tmp_path / "ws")
    first = next(m for m in draw_spot_checks(deps, START) if m.partner_id == PARTNER)
    with session_scope(deps.engine) as session:
        [old] = [s for s in repo.accepted_submissions(session, period=str(START)) if s.partner_id == PARTNER]
        old.status = "superseded"
        session.add(old)
        new = Submission(
            sha256="c" * 64,
            filename="corrected.xlsx",
            stored_path="archive/c",
            received_at=REVIEW_AT,
            partner_id=PARTNER,
            period=str(START),
            version=2,
            status="accepted",
            row_count=2,
        )
        session.add(new)
        session.flush()
        kept = first.sample[0]
        session.add(
            ParticipantRecord(
                submission_id=new.id or 0,
                participant_id=kept.participant_id,
                referral_date=START.first_day,
                complexity_band="standard",
                achieved=kept.measure,
            )
        )
        session.add(
            ParticipantRecord(
                submission_id=new.id or 0,
                participant_id="NEW-1",
                referral_date=START.first_day,
                complexity_band="standard",
                achieved="into_work",
            )
        )
    [again] = draw_spot_checks(deps, START)
    assert again.version == 2 and again.claims == 1 and again.sample == [Claim("NEW-1", "into_work")]


def test_the_review_leaves_withdrawn_claims_out(tmp_path: Path) -> None:
    deps = seeded(tmp_path / "ws", months=12)
    with session_scope(deps.engine) as session:
        before = assess_year(session, contract=deps.contract, year=1).performance.partner(PARTNER)
    sample = next(m for m in draw_spot_checks(deps, START) if m.partner_id == PARTNER).sample
    record(deps, sample[0])
    with session_scope(deps.engine) as session:
        after = assess_year(session, contract=deps.contract, year=1).performance.partner(PARTNER)
    weight = next(m.weight for m in deps.contract.framework.measures if m.id == sample[0].measure)
    assert before is not None and after is not None
    assert before.observed - after.observed == pytest.approx(float(weight))
    assert before.rows == after.rows


def test_with_officer_approval_the_recovery_is_a_draft_paid_once_approved(tmp_path: Path) -> None:
    from services.payment_approval import approve_run

    root = tmp_path / "ws"
    deps = seeded(root)
    path = root / "alliance.yaml"
    path.write_text(path.read_text().replace("require_officer_approval: false", "require_officer_approval: true"))
    deps.contract = deps.workspace.load_contract()
    first = run_payments(deps, START).run
    sample = next(m for m in draw_spot_checks(deps, START) if m.partner_id == PARTNER).sample
    assert record(deps, sample[0]).recovery is Recovery.leave_out  # v1 is a draft: nothing was paid
    with session_scope(deps.engine) as session:
        [told] = [n for n in repo.notifications(session) if n.kind == "claim_withdrawn"]
        assert "has not been made yet" in told.text and "recovered by an adjustment" not in told.text
    with pytest.raises(UsageError, match="the claims withdrawn after spot checks for 2026-04 changed after run v1"):
        approve_run(deps, START, by="Olive Officer")
    second = run_payments(deps, START).run
    assert second.version == 2 and second.base_version is None  # v1 was never payable: nothing to adjust
    approve_run(deps, START, by="Olive Officer")
    expected = calculate_payments(deps.contract, START, partner_points(deps, START, [sample[0]]))
    with session_scope(deps.engine) as session:
        lines = repo.lines_of(session, run_id=second.id or 0)
        assert ledger.state_of(session, run=second).status == "approved"
    paid = {p.partner_id: p.outcome_pence for p in expected.partners}
    assert {
        pid: sum(x.amount_pence for x in lines if x.partner_id == pid and x.kind == "outcome") for pid in paid
    } == paid
    assert not [x for x in lines if x.kind == "adjustment"]
    assert first.version == 1


def test_two_officers_recording_the_same_claim_at_once_record_one_finding(engine: Engine, tmp_path: Path) -> None:
    import threading

    deps = seeded(tmp_path / "ws", engine)
    claim = next(m for m in draw_spot_checks(deps, START) if m.partner_id == PARTNER).sample[0]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def officer(result: str) -> None:
        barrier.wait()
        try:
            record(deps, claim, result=result, reason="seen")
            outcomes.append(f"recorded {result}")
        except IntegrityError as exc:
            outcomes.append(f"refused: {exc}")

    threads = [threading.Thread(target=officer, args=(r,)) for r in ("verified", "not_verified")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(deps.engine) as session:
        table = [
            r
            for r in checks_table(session, periods=[START], partner_id=PARTNER)
            if r["participant_id"] == claim.participant_id and r["measure"] == claim.measure
        ]
    assert len(table) == 1 and table[0]["result"] in ("verified", "not_verified")
    assert sorted(o.split(":")[0] for o in outcomes) == ["recorded " + table[0]["result"], "refused"]
    assert all("finding is final" in o for o in outcomes if o.startswith("refused"))


def test_an_officer_who_acts_for_the_partner_does_not_check_its_claims(tmp_path: Path) -> None:
    from integrations.workspace import load_contract

    deps = seeded(tmp_path / "ws")
    path = deps.workspace.contract_path
    roles = f'roles:\n  officers: ["Olive Officer", "Dual Role"]\n  partners: {{{PARTNER}: ["Dual Role"]}}\n'
    path.write_text(path.read_text() + roles)
    deps.contract = load_contract(path)
    claim = next(m for m in draw_spot_checks(deps, START) if m.partner_id == PARTNER).sample[0]
    with pytest.raises(AccessDenied, match=f"Dual Role acts for {PARTNER} .roles.partners. and so cannot check its"):
        record(deps, claim, result="verified", by="dual role")
    with session_scope(deps.engine) as session:
        assert {r["result"] for r in checks_table(session, periods=[START], partner_id=PARTNER)} == {"to_check"}
    assert record(deps, claim, result="verified").created  # another officer may
