"""Two officers at once, on SQLite and PostgreSQL: two approvals of the same draft, an approval racing a late
return, two cycles for the same period in parallel. One approval, one run per inputs, each message once, and the
audit chain intact; the loser of each race gets an answer, never a database error.

The callers are threads released together by a barrier: each has its own connection, so they contend for the
database for real (the drivers release the GIL while they wait on a lock). "Two cycles" are the services the
monthly cycle calls (intake of the same inbox, then its payment step `pay_period`), not two Prefect flows: the
flow only orders these calls, and the Prefect harness would serialise more than it tests.
"""

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from domain.errors import UsageError
from domain.periods import Period
from integrations.workspace import Workspace
from models import ledger, repo
from models.audit import verify_chain
from models.db import session_scope
from models.tables import AuditEntry, Notification, PaymentApproval, PaymentRun, ReturnLock
from services.deps import Deps, production_deps
from services.intake import Outcome, process_file
from services.payment_approval import ApprovalResult, approve_run
from services.payments import RunResult, current_inputs, run_payments
from services.statements import pay_period, statements_folder, write_statements
from tests.helpers import clean_rows, return_bytes
from tests.services.conftest import CYCLE_AT
from tests.services.payments_helpers import LATER, submit, with_approval

OCTOBER = Period(2026, 10)


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Each call in its own thread, all released together; what each returned, or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(number: int) -> None:
        barrier.wait()
        try:
            results[number] = calls[number]()
        except BaseException as exc:  # noqa: BLE001 - every failure is asserted on by the test
            results[number] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads), "a caller is still waiting: a deadlock"
    return results


def on(engine: Engine, deps: Deps) -> Deps:
    deps = replace(deps, engine=engine)
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


def audited(session: Session, action: str) -> list[AuditEntry]:
    return [e for e in session.exec(select(AuditEntry)) if e.action == action]


def told(session: Session, kind: str) -> Counter[tuple[str | None, str]]:
    """Messages of one kind, by partner and destination: each should be there once."""
    return Counter((n.partner_id, n.channel) for n in session.exec(select(Notification)) if n.kind == kind)


def test_two_officers_approving_the_same_draft_at_once_record_one_approval(
    engine: Engine, workspace: Workspace
) -> None:
    deps = on(engine, with_approval(workspace, CYCLE_AT))
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    draft = run_payments(deps, OCTOBER).run

    def officer(name: str) -> ApprovalResult:
        """What `alliance payments approve` does: approve, then write the statements (also when approved already)."""
        result = approve_run(deps, OCTOBER, by=name)
        write_statements(deps, result.run)
        return result

    results = at_once(lambda: officer("Ada Officer"), lambda: officer("Grace Officer"))

    assert all(isinstance(r, ApprovalResult) for r in results), results  # no IntegrityError, no traceback
    winner, loser = sorted(results, key=lambda r: not r.new)
    assert (winner.new, loser.new) == (True, False)
    assert loser.approved_by == winner.approved_by in ("Ada Officer", "Grace Officer")  # "already approved by X"
    assert (winner.locked, loser.locked) == (["harbour-trust"], [])
    with session_scope(engine) as session:
        approvals = list(session.exec(select(PaymentApproval)))
        assert [(a.run_id, a.approved_by) for a in approvals] == [(draft.id, winner.approved_by)]
        assert [(e.subject, e.actor) for e in audited(session, "payment_run.approved")] == [
            (f"{OCTOBER}/v1", winner.approved_by)
        ]
        assert [(lock.partner_id, lock.action) for lock in session.exec(select(ReturnLock))] == [
            ("harbour-trust", "lock")
        ]
        statements = told(session, "statement_issued")
        assert set(statements.values()) == {1} and len(statements) == len(deps.contract.partners)
        assert verify_chain(session).ok


@pytest.mark.parametrize("first", ["approval", "late return"])
def test_an_approval_racing_a_late_correction_either_pays_it_or_locks_it_out(
    engine: Engine, workspace: Workspace, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    """Whichever takes the period first wins; the other sees what it did: the approved draft never pays a return
    other than the one accepted, and a return accepted after the draft was computed is never paid by it."""
    deps = on(engine, with_approval(workspace, CYCLE_AT))
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    correction = return_bytes(deps.contract, "harbour-trust", rows=clean_rows(6))

    # Both are released together; the one named `first` takes the period's lock, then the other sets off to wait
    # on it. The order is fixed so that both outcomes are tested, the overlap is real.
    holding = threading.Event()
    real = ledger.serialise_period
    leader = threading.local()

    def serialise_period(session: Session, *, period: str) -> None:
        real(session, period=period)
        session.connection()  # on SQLite the lock is the transaction's BEGIN IMMEDIATE: take it now, before telling
        if getattr(leader, "is_first", False):
            holding.set()

    monkeypatch.setattr(ledger, "serialise_period", serialise_period)

    def approve() -> ApprovalResult:
        leader.is_first = first == "approval"
        if not leader.is_first:
            assert holding.wait(10)
        return approve_run(deps, OCTOBER, by="Ada Officer")

    def send_late() -> Outcome:
        leader.is_first = first == "late return"
        if not leader.is_first:
            assert holding.wait(10)
        return submit(deps, "late.xlsx", correction, LATER)

    approval, outcome = at_once(approve, send_late)

    assert isinstance(outcome, Outcome), outcome
    if first == "approval":
        assert isinstance(approval, ApprovalResult) and approval.new and approval.locked == ["harbour-trust"]
        assert outcome.status == "rejected"
        assert [f.code for f in outcome.findings if f.severity.value == "error"] == ["RETURN_LOCKED"]
    else:
        assert outcome.status == "accepted"
        assert isinstance(approval, UsageError) and "changed after run v1" in str(approval)
    with session_scope(engine) as session:
        approved = [s.run for s in ledger.run_states(session, period=str(OCTOBER)) if s.approval is not None]
        inputs = current_inputs(session, contract=deps.contract, period=OCTOBER, now=CYCLE_AT)
        # The returns an approved run paid are the accepted ones; a correction accepted first leaves none approved.
        assert [r.inputs_hash for r in approved] == ([inputs.digest] if first == "approval" else [])
        assert len(audited(session, "payment_run.approved")) == len(approved)
        refused = told(session, "locked_return_received")
        assert list(refused.values()) == ([1] * len(refused) if first == "approval" else [])
        assert verify_chain(session).ok
    # The cycle after: the correction is paid by a new version, and only then can it be approved.
    again = run_payments(deps, OCTOBER)
    assert again.created == (first == "late return")


def test_two_cycles_for_the_same_period_at_once_post_one_run_and_tell_each_partner_once(
    engine: Engine, workspace: Workspace
) -> None:
    deps = on(engine, production_deps(workspace, clock=lambda: CYCLE_AT))
    inbox = deps.workspace.inbox
    for partner in deps.contract.partners:  # each from its own folder
        (inbox / partner.id).mkdir(parents=True, exist_ok=True)
        (inbox / partner.id / f"{partner.id}.xlsx").write_bytes(return_bytes(deps.contract, partner.id))

    def cycle() -> tuple[list[Outcome], RunResult]:
        """The monthly cycle's steps for the period: intake of the inbox, then the payment step."""
        with session_scope(deps.engine) as session:
            files = [f for f in deps.inbox.files() if repo.submission_by_sha(session, sha256=f.sha256) is None]
        outcomes = [process_file(deps, f) for f in files]
        return outcomes, pay_period(deps, OCTOBER)

    results = at_once(cycle, cycle)

    assert not [r for r in results if isinstance(r, BaseException)], results
    statuses: dict[str, list[str]] = {}
    for outcomes, _ in results:
        for o in outcomes:
            statuses.setdefault(o.filename, []).append(o.status)
    assert all(s in (["accepted"], ["accepted", "duplicate"]) for s in map(sorted, statuses.values())), statuses
    assert sorted(statuses) == sorted(f"{p.id}.xlsx" for p in deps.contract.partners)
    runs = [run for _, run in results]
    assert sorted(r.created for r in runs) == [False, True]
    assert runs[0].run.id == runs[1].run.id
    with session_scope(engine) as session:
        posted = list(session.exec(select(PaymentRun)))
        assert [(r.period, r.version) for r in posted] == [(str(OCTOBER), 1)]
        inputs = current_inputs(session, contract=deps.contract, period=OCTOBER, now=CYCLE_AT)
        assert posted[0].inputs_hash == inputs.digest and len(inputs.accepted) == len(deps.contract.partners)
        assert len(audited(session, "payment_run.created")) == 1
        statements = told(session, "statement_issued")
        assert set(statements.values()) == {1} and {p for p, _ in statements} == set(deps.contract.partner_ids)
        processed = told(session, "return_processed")
        assert set(processed.values()) == {1} and {p for p, _ in processed} == set(deps.contract.partner_ids)
        assert verify_chain(session).ok
    # Both cycles wrote the same statements: each whole, under its own name, with nothing half-written left.
    written = sorted(p.name for p in statements_folder(deps, runs[0].run).iterdir())
    assert written == sorted(
        [*(f"{p}-2026-10-v1.xlsx" for p in deps.contract.partner_ids), "officers-summary-2026-10-v1.xlsx"]
    )
