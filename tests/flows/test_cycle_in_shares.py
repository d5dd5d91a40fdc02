"""monthly-cycle split into shares: each share an `intake` deployment run (here run in this process in place of
a worker on another machine), whole partners per share, the outcomes read back, payment only once all ended."""

import os
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

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
    """Stands in for the Prefect server and its workers: each share started runs at once as the `intake` flow, with
    these deps, unless it is to crash or never to be picked up; `read_flow_run` tells how each ended."""

    def __init__(self, deps: Deps, crashing: set[int] | None = None, never_started: set[int] | None = None) -> None:
        self.deps = deps
        self.crashing = crashing or set()
        self.never_started = never_started or set()
        self.shares: dict[int, list[str]] = {}  # share number -> its partners
        self.states: dict[UUID, str] = {}

    def run_deployment(self, name: str, parameters: dict[str, Any], flow_run_name: str, **options: Any) -> Any:
        assert name == "intake/intake" and options["timeout"] == 0
        wanted = set(parameters["files"])
        number = int(flow_run_name.split()[1])
        self.shares[number] = sorted({f.sender or "" for f in self.deps.inbox.files() if f.sha256 in wanted})
        run_id = uuid4()
        if number in self.crashing:
            self.states[run_id] = "CRASHED"
        elif number in self.never_started:
            self.states[run_id] = "SCHEDULED"
        else:
            intake(files=parameters["files"], workspace=parameters["workspace"], deps=self.deps)
            self.states[run_id] = "COMPLETED"
        return SimpleNamespace(id=run_id)

    def get_client(self, sync_client: bool) -> Any:
        workers = self

        class Client:
            def __enter__(self) -> "Client":
                return self

            def __exit__(self, *_: object) -> None:
                return None

            def read_flow_run(self, run_id: UUID) -> Any:
                kind = workers.states[run_id]
                state = SimpleNamespace(type=SimpleNamespace(value=kind), is_final=lambda: kind != "SCHEDULED")
                return SimpleNamespace(id=run_id, state=state, state_name=kind.title())

        return Client()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(intake_flow, "run_deployment", self.run_deployment)
        monkeypatch.setattr(intake_flow, "get_client", self.get_client)
        monkeypatch.setattr(intake_flow, "SHARE_POLL_SECONDS", 0.01)


def test_a_cycle_in_two_shares_files_every_return_once_each_partner_whole_in_one_share(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inbox(workspace)
    deps = deps_for(workspace)
    workers = Workers(deps)
    workers.install(monkeypatch)

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
    workers = Workers(deps, crashing={2})
    workers.install(monkeypatch)

    with pytest.raises(SharesIncomplete) as failed:
        monthly_cycle(period="2026-10", shares=2, deps=deps)
    unfinished = len(workers.shares[2])  # one file per partner
    assert unfinished in (1, 2)
    assert f"{unfinished} of 3 file(s) were not processed" in str(failed.value)
    assert re.search(r"not completed: share 2 \(run [0-9a-f-]{36}: Crashed\)", str(failed.value))
    with session_scope(deps.engine) as session:
        assert repo.periods_with_runs(session) == []  # nothing paid while a share is unfinished
        assert len(repo.submissions_for_period(session, period="2026-10")) == 3 - unfinished

    again = monthly_cycle(period="2026-10", deps=deps)  # the next run, in one process this time
    assert sorted(o.partner_id or "" for o in again.outcomes) == workers.shares[2]
    with session_scope(deps.engine) as session:
        assert len(repo.submissions_for_period(session, period="2026-10")) == 3
        assert len(repo.runs_of(session, period="2026-10")) == 1


def test_a_share_no_worker_picks_up_fails_the_cycle_at_the_deadline_unpaid(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _inbox(workspace, versions=1)
    deps = deps_for(workspace)
    Workers(deps, never_started={1}).install(monkeypatch)
    monkeypatch.setattr(intake_flow, "SHARE_DEADLINE_SECONDS", 0.5)

    with pytest.raises(SharesIncomplete, match=r"not completed: share 1 \(run .*: Scheduled\).*Is a worker polling"):
        monthly_cycle(period="2026-10", shares=2, deps=deps)
    with session_scope(deps.engine) as session:
        assert repo.periods_with_runs(session) == []


def test_loose_files_or_one_partner_are_not_shared_out(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    contract = workspace.load_contract()
    workspace.inbox.mkdir()
    (workspace.inbox / "loose.xlsx").write_bytes(return_bytes(contract, "harbour-trust"))
    (workspace.inbox / "city-mind").mkdir()
    (workspace.inbox / "city-mind" / "c.xlsx").write_bytes(return_bytes(contract, "city-mind"))
    workers = Workers(deps_for(workspace))
    workers.install(monkeypatch)

    report = monthly_cycle(period="2026-10", shares=4, deps=deps_for(workspace))

    assert workers.shares == {}  # a loose file: all in one place, in order
    assert sorted(o.status for o in report.outcomes) == ["accepted", "quarantined"]  # loose: no sender (issue 31)


def test_zero_shares_is_refused(workspace: Workspace) -> None:
    with pytest.raises(UsageError, match="at least one share"):
        monthly_cycle(period="2026-10", shares=0, deps=deps_for(workspace))
