from datetime import UTC, datetime
from pathlib import Path

from domain.periods import Period
from integrations.inbox import read_file
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import Deps, production_deps
from services.intake import process_file
from services.payments import payment_report, run_payments
from tests.helpers import return_bytes

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
    return process_file(deps, read_file(path, received_at=at)).status


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
