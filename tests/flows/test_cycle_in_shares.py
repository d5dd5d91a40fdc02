"""monthly-cycle split into shares: each share an `intake` deployment run (here run in this process in place of
a worker on another machine), whole partners per share, the outcomes read back, payment only once all ended."""

import os
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

import flows.intake as intake_flow
from domain.errors import UsageError
from flows.intake import SharesIncomplete, intake
from flows.monthly_cycle import monthly_cycle
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services.deps import Deps
from tests.flows.test_monthly_cycle import deps_for
from tests.helpers import clean_rows, return_bytes

PARTNERS = ["harbour-trust", "city-mind", "northfield-works"]


def _inbox(workspace: Workspace, versions: int = 2) -> None:
    contract = workspace.load_contract()
    arrived = datetime(2026, 11, 3, 10, tzinfo=UTC).timestamp()
    for n in range(versions):
        for k, partner in enumerate(PARTNERS):
            folder = workspace.inbox / partner
            folder.mkdir(parents=True, exist_ok=True)
            rows = [{**row, "participant_id": f"{partner[:4]}-{i}"} for i, row in enumerate(clean_rows(count=4 + n))]
            if partner == "city-mind" and n == 0:
                rows[1]["complexity_band"] = "easy"  # a first version with an error: rejected, feedback says where
            path = folder / f"{partner}-v{n + 1}.xlsx"
            path.write_bytes(return_bytes(contract, partner, rows=rows))
            stamp = arrived + 60 * (len(PARTNERS) * n + k)
            os.utime(path, (stamp, stamp))


class Workers:
    """Stands in for run_deployment: each share runs as the `intake` flow, with these deps, unless told to fail."""

    def __init__(self, deps: Deps, failing: set[int] | None = None) -> None:
        self.deps = deps
        self.failing = failing or set()
        self.shares: dict[int, list[str]] = {}  # share number -> its partners

    def __call__(self, name: str, parameters: dict[str, Any], flow_run_name: str, **_: Any) -> Any:
        assert name == "intake/intake"
        wanted = set(parameters["files"])
        number = int(flow_run_name.split()[1])
        self.shares[number] = sorted({f.sender or "" for f in self.deps.inbox.files() if f.sha256 in wanted})
        if number in self.failing:
            state = SimpleNamespace(type=SimpleNamespace(value="CRASHED"), name="Crashed")
        else:
            intake(files=parameters["files"], workspace=parameters["workspace"], deps=self.deps)
            state = SimpleNamespace(type=SimpleNamespace(value="COMPLETED"), name="Completed")
        return SimpleNamespace(id=f"run-{number}", state=state)


def test_a_cycle_in_two_shares_files_every_return_once_each_partner_whole_in_one_share(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inbox(workspace)
    deps = deps_for(workspace)
    workers = Workers(deps)
    monkeypatch.setattr(intake_flow, "run_deployment", workers)

    report = monthly_cycle(period="2026-10", shares=2, deps=deps)

    assert len(workers.shares) == 2
    assert sorted(p for share in workers.shares.values() for p in share) == sorted(PARTNERS)  # no partner split
    # outcomes as the in-process cycle gives them: arrival order, what was filed, where the errors are
    assert [o.filename for o in report.outcomes] == [f"{p}-v{n}.xlsx" for n in (1, 2) for p in PARTNERS]
    assert [(o.status, o.version) for o in report.outcomes] == [
        ("accepted", 1),
        ("rejected", 1),
        ("accepted", 1),
        ("accepted", 2),
        ("accepted", 2),
        ("accepted", 2),
    ]
    rejected = report.outcomes[1]
    assert [(f.code, f.sheet, f.column) for f in rejected.findings if f.severity.value == "error"] == [
        ("BAND_UNKNOWN", "Participants", "complexity_band")
    ]
    assert rejected.feedback_path and os.path.exists(rejected.feedback_path)
    assert len(report.runs) == 1 and report.runs[0].created
    with session_scope(deps.engine) as session:
        assert len(repo.runs_of(session, period="2026-10")) == 1
        filed = repo.submissions_for_period(session, period="2026-10")
    assert sorted((s.partner_id, s.version) for s in filed) == sorted((p, v) for p in PARTNERS for v in (1, 2))


def test_a_share_that_does_not_finish_fails_the_cycle_unpaid_and_leaves_its_files_for_the_next_run(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inbox(workspace, versions=1)
    deps = deps_for(workspace)
    workers = Workers(deps, failing={2})
    monkeypatch.setattr(intake_flow, "run_deployment", workers)

    with pytest.raises(SharesIncomplete) as failed:
        monthly_cycle(period="2026-10", shares=2, deps=deps)
    unfinished = len(workers.shares[2])  # one file per partner
    assert unfinished in (1, 2)
    assert f"{unfinished} of 3 file(s) were not processed" in str(failed.value)
    assert "not completed: share 2 (run run-2: Crashed)" in str(failed.value)
    with session_scope(deps.engine) as session:
        assert repo.periods_with_runs(session) == []  # nothing paid while a share is unfinished
        assert len(repo.submissions_for_period(session, period="2026-10")) == 3 - unfinished

    again = monthly_cycle(period="2026-10", deps=deps)  # the next run, in one process this time
    assert sorted(o.partner_id or "" for o in again.outcomes) == workers.shares[2]
    with session_scope(deps.engine) as session:
        assert len(repo.submissions_for_period(session, period="2026-10")) == 3
        assert len(repo.runs_of(session, period="2026-10")) == 1


def test_loose_files_or_one_partner_are_not_shared_out(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    contract = workspace.load_contract()
    workspace.inbox.mkdir()
    (workspace.inbox / "loose.xlsx").write_bytes(return_bytes(contract, "harbour-trust"))
    (workspace.inbox / "city-mind").mkdir()
    (workspace.inbox / "city-mind" / "c.xlsx").write_bytes(return_bytes(contract, "city-mind"))
    workers = Workers(deps_for(workspace))
    monkeypatch.setattr(intake_flow, "run_deployment", workers)

    report = monthly_cycle(period="2026-10", shares=4, deps=deps_for(workspace))

    assert workers.shares == {}  # a loose file could be any partner's next version: all in one place, in order
    assert sorted(o.status for o in report.outcomes) == ["accepted", "accepted"]


def test_zero_shares_is_refused(workspace: Workspace) -> None:
    with pytest.raises(UsageError, match="at least one share"):
        monthly_cycle(period="2026-10", shares=0, deps=deps_for(workspace))
