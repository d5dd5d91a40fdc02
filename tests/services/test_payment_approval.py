"""With officer approval: drafts, approval that locks the returns it paid, unlocking, exports."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from domain.errors import UsageError
from domain.periods import Period
from integrations.workspace import Workspace
from models import ledger, repo
from models.db import session_scope
from models.tables import AuditEntry, Notification
from services.deps import Deps
from services.finance_export import export_csv
from services.locks import unlock_return
from services.payment_approval import approve_run
from services.payment_reports import payment_report
from services.payments import run_payments
from services.settlements import balances
from services.statements import statements_folder, write_statements
from tests.helpers import clean_rows, return_bytes
from tests.services.conftest import CYCLE_AT
from tests.services.payments_helpers import LATER, submit, with_approval

OCTOBER = Period(2026, 10)


def kinds(deps: Deps, kind: str) -> list[Notification]:
    with session_scope(deps.engine) as session:
        return [n for n in repo.notifications(session) if n.kind == kind]


def test_a_run_is_a_draft_until_an_officer_approves_it(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run = run_payments(deps, OCTOBER).run
    write_statements(deps, run)
    with session_scope(deps.engine) as session:
        assert payment_report(session, contract=deps.contract, period=OCTOBER)["status"] == "draft"
        with pytest.raises(UsageError, match="draft awaiting approval"):
            export_csv(session, contract=deps.contract, period=OCTOBER)
    folder = statements_folder(deps, run)
    assert sorted(p.name for p in folder.iterdir()) == ["officers-summary-2026-10-v1-draft.xlsx"]
    assert kinds(deps, "statement_issued") == []
    assert len(kinds(deps, "payment_run_draft")) == 1

    result = approve_run(deps, OCTOBER, by="Ada Officer")
    write_statements(deps, result.run)
    assert result.new and result.locked == ["harbour-trust"]
    assert len(kinds(deps, "statement_issued")) == len(deps.contract.partners)
    assert {p.name for p in folder.iterdir()} >= {"harbour-trust-2026-10-v1.xlsx", "officers-summary-2026-10-v1.xlsx"}
    with session_scope(deps.engine) as session:
        report = payment_report(session, contract=deps.contract, period=OCTOBER)
        assert (report["status"], report["approved_by"]) == ("approved", "Ada Officer")
        entries = [e.action for e in session.exec(select(AuditEntry))]
    assert "payment_run.approved" in entries
    again = approve_run(deps, OCTOBER, by="Someone Else")
    assert not again.new and again.approved_by == "Ada Officer"


def test_approval_locks_the_paid_return_and_unlocking_lets_a_correction_through(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    approve_run(deps, OCTOBER, by="Ada Officer")

    refused = submit(deps, "b.xlsx", return_bytes(deps.contract, "harbour-trust", rows=clean_rows(6)), LATER)
    assert refused.status == "rejected"
    assert [f.code for f in refused.findings if f.severity.value == "error"] == ["RETURN_LOCKED"]
    assert len(kinds(deps, "locked_return_received")) == 1
    assert not run_payments(deps, OCTOBER).created  # nothing new to pay

    with pytest.raises(UsageError, match="reason"):
        unlock_return(deps, OCTOBER, partner_id="harbour-trust", reason=" ", by="Ada Officer")
    unlock_return(deps, OCTOBER, partner_id="harbour-trust", reason="wrong month for two rows", by="Ada Officer")
    with pytest.raises(UsageError, match="not locked"):
        unlock_return(deps, OCTOBER, partner_id="harbour-trust", reason="again", by="Ada Officer")
    assert {n.channel for n in kinds(deps, "return_unlocked")} == {"#harbour-trust", "#alliance-officers"}

    corrected = submit(deps, "c.xlsx", return_bytes(deps.contract, "harbour-trust", rows=clean_rows(8)), LATER)
    assert (corrected.status, corrected.version) == ("accepted", 3)
    second = run_payments(deps, OCTOBER).run
    assert (second.version, second.base_version) == (2, 1)
    with session_scope(deps.engine) as session:
        assert ledger.current_lock(session, period=str(OCTOBER), partner_id="harbour-trust") is None
    approve_run(deps, OCTOBER, by="Ada Officer")
    with session_scope(deps.engine) as session:
        lock = ledger.current_lock(session, period=str(OCTOBER), partner_id="harbour-trust")
        assert lock is not None and lock.run_id == second.id


def test_a_stale_draft_cannot_be_approved(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    submit(deps, "b.xlsx", return_bytes(deps.contract, "city-mind"), LATER)
    with pytest.raises(UsageError, match="changed after run v1"):
        approve_run(deps, OCTOBER, by="Ada Officer")


def test_a_draft_never_approved_is_not_what_a_correction_adjusts_against(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)  # v1, draft
    submit(deps, "b.xlsx", return_bytes(deps.contract, "city-mind"), LATER)
    second = run_payments(deps, OCTOBER).run  # v2: v1 was never paid, so nothing to take off
    assert second.base_version is None
    with session_scope(deps.engine) as session:
        assert [line.kind for line in repo.lines_of(session, run_id=second.id or 0)].count("adjustment") == 0
        states = ledger.run_states(session, period=str(OCTOBER))
        assert [s.status for s in states] == ["superseded", "draft"]


def test_the_finance_export_pays_each_version_once(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    approve_run(deps, OCTOBER, by="Ada Officer")
    submit(deps, "b.xlsx", return_bytes(deps.contract, "city-mind"), LATER)  # late, never locked
    late_deps = with_approval(workspace, CYCLE_AT + timedelta(days=5))
    run_payments(late_deps, OCTOBER)
    with session_scope(deps.engine) as session:
        first, note = export_csv(session, contract=deps.contract, period=OCTOBER)
        assert "v2 of 2026-10 is a draft" in note
    approve_run(late_deps, OCTOBER, by="Ada Officer")
    with session_scope(deps.engine) as session:
        second, note = export_csv(session, contract=deps.contract, period=OCTOBER)
        v1, _ = export_csv(session, contract=deps.contract, period=OCTOBER, version=1)
        report = payment_report(session, contract=deps.contract, period=OCTOBER)
    assert v1 == first and note == ""
    rows1 = list(csv.DictReader(io.StringIO(first)))
    rows2 = list(csv.DictReader(io.StringIO(second)))
    assert [r["reference"] for r in rows2][0] == "ALLIANCE-2026-10-v2-city-mind"
    paid = {r["partner_id"]: int(r["total_pence"]) for r in rows1}
    for r in rows2:
        paid[r["partner_id"]] += int(r["total_pence"])
        assert Decimal(r["total"]) * 100 == int(r["total_pence"]) != 0  # no zero rows
        assert r["reason"] and r["runs"].startswith("2026-10/v2")
    # Paid over both files, and what is held back to recover = what the latest version says is due for the month
    due = {p["partner"]: p["core_pence"] + p["outcome_pence"] for p in report["partners"]}
    with session_scope(deps.engine) as session:
        owed = balances(session)
    assert {p: paid.get(p, 0) + owed.get(p, 0) for p in due} == due
    assert owed["harbour-trust"] < 0  # its outcome share went down: recovered from later payments
    assert int(next(r for r in rows2 if r["partner_id"] == "city-mind")["total_pence"]) > 0


def test_a_partner_name_that_looks_like_a_formula_is_text_in_the_csv(workspace: Workspace) -> None:
    path = workspace.root / "alliance.yaml"
    path.write_text(path.read_text().replace("name: City Mind", "name: \"=HYPERLINK('x')\""))
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    approve_run(deps, OCTOBER, by="Ada Officer")
    with session_scope(deps.engine) as session:
        text, _ = export_csv(session, contract=deps.contract, period=OCTOBER)
    assert "'=HYPERLINK('x')" in text


def test_approving_needs_a_name_and_a_run(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    with pytest.raises(UsageError, match="no payment run"):
        approve_run(deps, OCTOBER, by="Ada")
    with pytest.raises(UsageError, match="--by"):
        approve_run(deps, OCTOBER, by=" ")


def test_without_the_approval_setting_runs_are_final_and_cannot_be_approved(deps: Deps) -> None:
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    with pytest.raises(UsageError, match="final already"):
        approve_run(deps, OCTOBER, by="Ada")


def test_the_year_to_date_counts_a_corrected_month_once(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    approve_run(deps, OCTOBER, by="Ada Officer")
    submit(deps, "b.xlsx", return_bytes(deps.contract, "city-mind"), LATER)
    second = run_payments(deps, OCTOBER).run
    approve_run(deps, OCTOBER, by="Ada Officer")
    write_statements(deps, second)
    with session_scope(deps.engine) as session:
        due = {p["partner"]: p for p in payment_report(session, contract=deps.contract, period=OCTOBER)["partners"]}
        exported = export_csv(session, contract=deps.contract, period=OCTOBER)[0]
    book = load_workbook(statements_folder(deps, second) / "city-mind-2026-10-v2.xlsx")
    *_, total = book["Year to date"].iter_rows(values_only=True)
    assert [int(Decimal(str(v)) * 100) for v in total[2:5]] == [
        due["city-mind"]["core_pence"],
        due["city-mind"]["outcome_pence"],
        due["city-mind"]["core_pence"] + due["city-mind"]["outcome_pence"],
    ]
    row = next(r for r in csv.DictReader(io.StringIO(exported)) if r["partner_id"] == "city-mind")
    assert Decimal(row["core"]) == 0  # core was paid in full by v1; v2 pays only the outcome it adds
    assert Decimal(row["outcome"]) * 100 == due["city-mind"]["outcome_pence"]


def test_a_draft_made_before_another_version_was_approved_cannot_be_approved(workspace: Workspace) -> None:
    deps = with_approval(workspace, CYCLE_AT)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    first = run_payments(deps, OCTOBER).run
    # As if v2 had been posted while v1's approval was in flight: it adjusts against nothing.
    submit(deps, "b.xlsx", return_bytes(deps.contract, "city-mind"), LATER)
    second = run_payments(deps, OCTOBER).run
    assert second.base_version is None
    with session_scope(deps.engine) as session:
        ledger.add_approval(session, run_id=first.id or 0, by="Ada Officer", at=CYCLE_AT)
    with pytest.raises(UsageError, match="v1 was approved since"):
        approve_run(deps, OCTOBER, by="Ada Officer")
