import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from domain.errors import IntegrityError, UsageError
from domain.payments import core_instalment
from domain.periods import Period
from integrations.inbox import read_file
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import Deps, production_deps
from services.intake import process_file
from services.payment_reports import payment_report
from services.payments import run_payments
from services.statements import statements_folder, write_statements
from tests.conftest import EXAMPLE
from tests.helpers import clean_rows, named_partner, return_bytes
from tests.services.payments_helpers import frozen_rows

OCTOBER = Period(2026, 10)
ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)


def deps_for(workspace: Workspace) -> Deps:
    deps = production_deps(workspace, clock=lambda: datetime(2026, 11, 16, 9, tzinfo=UTC))
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps


def submit(deps: Deps, name: str, content: bytes, at: datetime = ON_TIME) -> str:
    path = Path(deps.workspace.root) / name
    path.write_bytes(content)
    return process_file(deps, read_file(path, received_at=at, sender=named_partner(content))).status


def test_the_same_inputs_return_the_same_run(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    assert submit(deps, "a.xlsx", return_bytes(deps.contract)) == "accepted"
    first = run_payments(deps, OCTOBER)
    again = run_payments(deps, OCTOBER)
    assert first.created and not again.created
    assert again.run.id == first.run.id


def test_outcome_lines_sum_to_payable_and_report_has_the_fields(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    submit(deps, "b.xlsx", return_bytes(deps.contract, "city-mind"))
    run_payments(deps, OCTOBER)
    with session_scope(deps.engine) as session:
        report = payment_report(session, contract=deps.contract, period=OCTOBER)
    assert sum(p["outcome_pence"] for p in report["partners"]) == report["payable_pence"]
    for p in report["partners"]:
        assert p["total_pence"] == p["core_pence"] + p["outcome_pence"] + p["adjustment_pence"]
        assert set(p) >= {"core_pence", "outcome_pence", "adjustment_pence", "total_pence", "points"}
    assert {"alliance_factor", "pool_pence", "payable_pence", "run_id", "version"} <= set(report)


def test_a_late_return_makes_a_new_version_whose_adjustments_net_off_what_was_paid(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    first = run_payments(deps, OCTOBER).run
    assert (
        submit(deps, "late.xlsx", return_bytes(deps.contract, "city-mind"), datetime(2026, 11, 20, tzinfo=UTC))
        == "accepted"
    )
    second = run_payments(deps, OCTOBER)
    assert second.created and second.run.version == 2
    with session_scope(deps.engine) as session:
        lines1 = repo.lines_of(session, run_id=first.id or 0)
        lines2 = repo.lines_of(session, run_id=second.run.id or 0)
    paid_v1 = {p: sum(line.amount_pence for line in lines1 if line.partner_id == p) for p in deps.contract.partner_ids}
    net_v2 = {p: sum(line.amount_pence for line in lines2 if line.partner_id == p) for p in deps.contract.partner_ids}
    due_v2 = {
        p: sum(line.amount_pence for line in lines2 if line.partner_id == p and line.kind != "adjustment")
        for p in deps.contract.partner_ids
    }
    for partner in deps.contract.partner_ids:
        assert paid_v1[partner] + net_v2[partner] == due_v2[partner]
    assert net_v2["city-mind"] > 0  # the late partner's outcome payment is paid by the correction


def test_a_restated_month_under_changed_terms_says_so_on_the_lines_it_changes(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    path = deps.workspace.contract_path
    path.write_text(path.read_text().replace("annual_core: 48000,", "annual_core: 60000,"))
    deps.contract = deps.workspace.load_contract()
    submit(deps, "late.xlsx", return_bytes(deps.contract, "city-mind"), datetime(2026, 11, 20, tzinfo=UTC))
    second = run_payments(deps, OCTOBER).run
    with session_scope(deps.engine) as session:
        adjustments = [x for x in repo.lines_of(session, run_id=second.id or 0) if x.kind == "adjustment"]
    said = {(x.partner_id, json.loads(x.working)["of_kind"]) for x in adjustments if "terms changed" in x.explanation}
    assert ("harbour-trust", "core") in said  # its core rose with the new annual_core
    assert ("northfield-works", "core") not in said  # a line the change left as it was says nothing of it


def test_a_rejected_resubmission_does_not_replace_the_accepted_return(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract))
    assert submit(deps, "b.xlsx", return_bytes(deps.contract, rows=[], summary=None)) == "rejected"
    with session_scope(deps.engine) as session:
        accepted = repo.accepted_submissions(session, period=str(OCTOBER))
        assert [(s.partner_id, s.version) for s in accepted] == [("harbour-trust", 1)]


def test_a_corrected_return_supersedes_the_earlier_one(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract))
    from tests.helpers import clean_rows

    submit(deps, "b.xlsx", return_bytes(deps.contract, rows=clean_rows(6)))
    with session_scope(deps.engine) as session:
        accepted = repo.accepted_submissions(session, period=str(OCTOBER))
        assert [(s.version, s.row_count) for s in accepted] == [(2, 6)]


def test_identical_bytes_are_processed_once(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    content = return_bytes(deps.contract)
    assert submit(deps, "a.xlsx", content) == "accepted"
    assert submit(deps, "copy of a.xlsx", content) == "duplicate"


def test_a_late_return_for_a_closed_period_leaves_the_old_run_byte_for_byte_unchanged(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    first = run_payments(deps, OCTOBER).run
    write_statements(deps, first)
    old_rows = frozen_rows(deps, first.id or 0)
    old_files = {p.name: p.read_bytes() for p in statements_folder(deps, first).iterdir()}

    submit(deps, "late.xlsx", return_bytes(deps.contract, "city-mind"), datetime(2026, 12, 2, tzinfo=UTC))
    second = run_payments(deps, OCTOBER).run
    write_statements(deps, second)
    assert (second.version, second.base_version) == (2, 1)
    assert frozen_rows(deps, first.id or 0) == old_rows
    assert {p.name: p.read_bytes() for p in statements_folder(deps, first).iterdir()} == old_files

    with session_scope(deps.engine) as session:
        v1 = repo.lines_of(session, run_id=first.id or 0)
        v2 = repo.lines_of(session, run_id=second.id or 0)
    adjustments = {(a.partner_id, json.loads(a.working)["of_kind"]): a for a in v2 if a.kind == "adjustment"}
    for line in v1:
        # each adjustment takes off exactly what v1 made due for that partner and kind
        assert adjustments[(line.partner_id, line.kind)].amount_pence == -line.amount_pence
    settling = ("carried", "recovery", "brought_forward")
    net = {
        p: sum(x.amount_pence for x in v2 if x.partner_id == p and x.kind not in settling)
        for p in deps.contract.partner_ids
    }
    assert net["city-mind"] > 0  # the late partner's outcome share
    assert net["harbour-trust"] < 0  # its share of a pool now split with city-mind
    assert net["northfield-works"] == 0
    assert sum(net.values()) == second.payable_pence - first.payable_pence
    # The overpayment is held back, not paid as a negative: recovered from harbour-trust's following payments.
    held = [x for x in v2 if x.partner_id == "harbour-trust" and x.kind == "carried"]
    assert [x.amount_pence for x in held] == [-net["harbour-trust"]]
    assert sum(x.amount_pence for x in v2 if x.partner_id == "harbour-trust") == 0


def test_a_key_used_for_other_inputs_is_refused(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    first = run_payments(deps, OCTOBER, key="finance-batch-17")
    assert run_payments(deps, OCTOBER, key="finance-batch-17").run.id == first.run.id
    submit(deps, "b.xlsx", return_bytes(deps.contract, "city-mind"))
    with pytest.raises(IntegrityError, match="never reused"):
        run_payments(deps, OCTOBER, key="finance-batch-17")
    assert run_payments(deps, OCTOBER).run.version == 2


def test_old_runs_are_refused_updates_and_deletes_by_the_database(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"))
    run_payments(deps, OCTOBER)
    for statement in (
        "UPDATE payment_line SET amount_pence = amount_pence + 1",
        "DELETE FROM payment_run",
        "UPDATE payment_run SET payable_pence = 0",
    ):
        with pytest.raises(DatabaseError, match="append-only"), deps.engine.begin() as connection:
            connection.execute(text(statement))


def test_statements_reconcile_with_the_database_and_carry_the_year_to_date(workspace: Workspace) -> None:
    deps = deps_for(workspace)
    september = Period(2026, 9)
    earlier = [{**row, "participant_id": f"S{n}"} for n, row in enumerate(clean_rows(3, september))]
    assert submit(deps, "s.xlsx", return_bytes(deps.contract, period=september, rows=earlier)) == "accepted"
    assert submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust")) == "accepted"
    for period in (september, OCTOBER):
        write_statements(deps, run_payments(deps, period).run)
    run = run_payments(deps, OCTOBER).run
    folder = statements_folder(deps, run)
    with session_scope(deps.engine) as session:
        lines = repo.lines_of(session, run_id=run.id or 0)
        sept = repo.lines_of(session, run_id=(repo.latest_run(session, period="2026-09") or run).id or 0)
    summary = load_workbook(folder / "officers-summary-2026-10-v1.xlsx")["Summary"]
    table = {row[1]: row[2:] for row in summary.iter_rows(values_only=True) if row[1] in deps.contract.partner_ids}
    for partner in deps.contract.partner_ids:
        own = [x.amount_pence for x in lines if x.partner_id == partner]
        book = load_workbook(folder / f"{partner}-2026-10-v1.xlsx")
        statement = list(book["Statement"].iter_rows(values_only=True))
        payable = next(r for r in statement if r[0] == "payable by this statement")
        assert pounds(payable[1]) == sum(own)
        assert pounds(table[partner][6]) == sum(own)  # core, outcome, taken off, held back, recovered, brought
        ytd = list(book["Year to date"].iter_rows(values_only=True))
        assert [r[0] for r in ytd[1:-1]] == ["2026-09", "2026-10"]
        sept_total = sum(x.amount_pence for x in sept if x.partner_id == partner)
        assert pounds(ytd[-1][4]) == sum(own) + sept_total == pounds(table[partner][7])
    harbour = load_workbook(folder / "harbour-trust-2026-10-v1.xlsx")["Audit"]
    rows = list(harbour.iter_rows(values_only=True))
    assert ("alliance factor f = A / T within collar and cap", "0.8") in [r[:2] for r in rows]
    assert ("housing_sustained", "standard", 1, 3) in [r[:4] for r in rows]


def pounds(value: object) -> int:
    """An amount read back from a workbook, in pence (exact: the writer stored decimal text)."""
    return int(Decimal(str(value)) * 100)


def test_a_contract_at_the_bounds_of_its_validation_is_paid_on_both_databases(engine: Engine, tmp_path: Path) -> None:
    # Issue 31, case 10: the bounds (domain.contract.MAX_POUNDS, MAX_POINTS, MAX_RATE) hold in the records and money.
    text = EXAMPLE.read_text()
    for old, new in [
        (r"annual_core: [0-9.]+,", "annual_core: 1000000000000,"),
        (r"weight: \d+,", "weight: 1000000,"),
        (r"monthly_target: \d+\}", "monthly_target: 1000000}"),
        (r"bands: \{[^}]*\}", "bands: {standard: 1000000, complex: 1000000, very_complex: 1000000}"),
        (r"annual_outcome_pool: \d+", "annual_outcome_pool: 1000000000000"),
        (r"cap: [0-9.]+", "cap: 100"),
    ]:
        text, count = re.subn(old, new, text)
        assert count
    (tmp_path / "alliance.yaml").write_text(text)
    deps = deps_for(Workspace(root=tmp_path, database_url=engine.url.render_as_string(hide_password=False)))
    assert submit(deps, "a.xlsx", return_bytes(deps.contract)) == "accepted"
    result = run_payments(deps, OCTOBER)
    with session_scope(deps.engine) as session:
        report = payment_report(session, contract=deps.contract, period=OCTOBER)
    assert result.created and report["payable_pence"] > 0
    assert sum(p["core_pence"] for p in report["partners"]) == 3 * core_instalment(10**14, 7)  # October: month 7


def test_a_month_still_to_come_is_never_paid_on_both_databases(engine: Engine, tmp_path: Path) -> None:
    # Issue 31, case 3: a final run paid core for 2030-01 in 2026-12; every face pays through run_payments.
    (tmp_path / "alliance.yaml").write_text(EXAMPLE.read_text())
    deps = deps_for(Workspace(root=tmp_path, database_url=engine.url.render_as_string(hide_password=False)))
    with pytest.raises(UsageError, match=r"period 2026-12 has not begun \(it is 2026-11 now\)"):
        run_payments(deps, Period(2026, 12))
    with session_scope(deps.engine) as session:
        assert repo.periods_with_runs(session) == []
    assert run_payments(deps, Period(2026, 11)).created  # this month's core is due, paid in advance
