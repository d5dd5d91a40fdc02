"""prefect.yaml deployed with `prefect deploy --all` to a real Prefect server, run by `prefect worker start`
processes on the application's PostgreSQL: two alliances at once, and a worker killed mid-cycle."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from domain.periods import Period
from integrations.workspace import Workspace
from models.audit import verify_chain
from models.db import ensure_schema, session_scope
from tests.conftest import EXAMPLE, _postgres_engine
from tests.helpers import clean_rows, return_bytes
from tests.prefect_server import LocalPrefectServer, http_json, local_prefect_server

REPO = Path(__file__).resolve().parents[2]
PREFECT = str(Path(sys.executable).with_name("prefect"))
OCTOBER = Period(2026, 10)
PARTNERS = ("harbour-trust", "city-mind", "northfield-works")
FINISHED = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@dataclass(frozen=True)
class Deployed:
    server: LocalPrefectServer
    deployments: dict[str, dict[str, Any]]  # name -> the server's record


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployed]:
    """A Prefect server with the `alliance-process` pool and everything in prefect.yaml deployed to it."""
    with local_prefect_server() as server:
        env = server.client_env()
        _cli(["work-pool", "create", "alliance-process", "--type", "process"], env)
        _cli(["--no-prompt", "deploy", "--all"], env)
        records = http_json(f"{server.api_url}/deployments/filter", {})
        yield Deployed(server, {d["name"]: d for d in records})


def test_prefect_deploy_all_registers_every_deployment_on_the_process_pool(deployed: Deployed) -> None:
    assert sorted(deployed.deployments) == ["intake", "monthly-cycle", "partner-review", "reminders"]
    for name, record in deployed.deployments.items():
        assert record["work_pool_name"] == "alliance-process"
        if name == "intake":
            assert record["schedules"] == []  # a share of a cycle: started by the cycle
        else:
            assert [s["active"] for s in record["schedules"]] == [True]
            assert record["schedules"][0]["schedule"]["timezone"] == "Europe/London"
        (step,) = record["pull_steps"]
        assert step["prefect.deployments.steps.set_working_directory"]["directory"] == str(REPO)
    pool = http_json(f"{deployed.server.api_url}/work_pools/alliance-process")
    assert pool["type"] == "process"


def test_two_alliances_run_their_cycles_at_once_on_one_worker_each_in_its_own_database(
    deployed: Deployed, tmp_path: Path
) -> None:
    with _pg() as north_db, _pg() as south_db:
        north = _workspace(tmp_path / "north", north_db, versions=1)
        south = _workspace(tmp_path / "south", south_db, versions=2)
        with _worker(deployed.server, tmp_path / "worker.log"):
            runs = [
                _start(deployed, "monthly-cycle", {"period": str(OCTOBER), "workspace": str(ws.root)})
                for ws in (north, south)
            ]
            finished = [_wait(deployed.server, run_id, timeout=240) for run_id in runs]

        assert [r["state_type"] for r in finished] == ["COMPLETED", "COMPLETED"], _states(finished)
        starts = [_moment(r["start_time"]) for r in finished]
        ends = [_moment(r["end_time"]) for r in finished]
        assert max(starts) < min(ends), "the two cycles did not overlap"
        assert _versions(north_db) == {p: [1] for p in PARTNERS}
        assert _versions(south_db) == {p: [1, 2] for p in PARTNERS}
        for db in (north_db, south_db):
            assert _count(db, "SELECT count(*) FROM payment_run") == 1


def test_a_cycle_in_two_shares_runs_them_on_other_workers_and_pays_once(deployed: Deployed, tmp_path: Path) -> None:
    with _pg() as db:
        workspace = _workspace(tmp_path / "alliance", db, versions=2)
        logs = [tmp_path / f"worker-{n}.log" for n in range(3)]
        # one flow run per worker at a time: the cycle on one, each share necessarily on another
        with (
            _worker(deployed.server, logs[0], limit=1),
            _worker(deployed.server, logs[1], limit=1),
            _worker(deployed.server, logs[2], limit=1),
        ):
            cycle_id = _start(deployed, "monthly-cycle", {"period": str(OCTOBER), "shares": 2}, workspace)
            cycle = _wait(deployed.server, cycle_id, timeout=300)
        assert cycle["state_type"] == "COMPLETED", _states([cycle])
        shares = http_json(
            f"{deployed.server.api_url}/flow_runs/filter",
            {"flow_runs": {"deployment_id": {"any_": [deployed.deployments["intake"]["id"]]}}},
        )
        shares = [s for s in shares if s["parameters"]["workspace"] == str(workspace.root.resolve())]
        assert sorted(s["name"] for s in shares) == ["share 1 of 2", "share 2 of 2"]
        assert [s["state_type"] for s in shares] == ["COMPLETED", "COMPLETED"], _states(shares)
        # a worker that runs a flow run logs its "View at .../flow-run/<id>" (one that lost the claim does not)
        runs = [cycle_id, *(s["id"] for s in shares)]
        ran_on = {
            run: [n for n, log in enumerate(logs) if f"flow-run/{run}" in log.read_text(errors="replace")]
            for run in runs
        }
        assert sorted(ran_on.values()) == [[0], [1], [2]], ran_on  # three runs, each on a worker of its own

        assert _versions(db) == {p: [1, 2] for p in PARTNERS}
        assert _count(db, "SELECT count(*) FROM submission") == 2 * len(PARTNERS)
        assert _count(db, "SELECT count(*) FROM payment_run WHERE period = '2026-10'") == 1


def test_a_worker_killed_mid_cycle_loses_nothing_and_pays_nothing_twice(deployed: Deployed, tmp_path: Path) -> None:
    with _pg() as db:
        workspace = _workspace(tmp_path / "alliance", db, versions=4)
        files = len(list(workspace.inbox.rglob("*.xlsx")))
        with _worker(deployed.server, tmp_path / "worker-1.log") as first:
            interrupted = _start(deployed, "monthly-cycle", {"period": str(OCTOBER)}, workspace)
            _wait_until(lambda: _count(db, "SELECT count(*) FROM submission") >= 2, timeout=240)
            flow_run = _descendants(first.pid)  # the worker starts each flow run in a session of its own
            assert flow_run, "the worker has no flow run process to kill"
            _kill(first, signal.SIGKILL)
            first.wait(timeout=30)
            survivors = _survivors(flow_run, timeout=30)
            assert not survivors, f"the flow run outlived its worker's SIGKILL: {survivors}"
        recorded_before = _count(db, "SELECT count(*) FROM submission")
        assert recorded_before < files, "the cycle finished before the worker was killed: nothing was tested"
        assert http_json(f"{deployed.server.api_url}/flow_runs/{interrupted}")["state_type"] not in {"COMPLETED"}

        with _worker(deployed.server, tmp_path / "worker-2.log"):
            again = _wait(deployed.server, _start(deployed, "monthly-cycle", {"period": str(OCTOBER)}, workspace), 240)
            assert again["state_type"] == "COMPLETED", _states([again])
            once_more = _wait(
                deployed.server, _start(deployed, "monthly-cycle", {"period": str(OCTOBER)}, workspace), 240
            )
            assert once_more["state_type"] == "COMPLETED", _states([once_more])

        assert _count(db, "SELECT count(*) FROM submission") == files
        assert _count(db, "SELECT count(DISTINCT sha256) FROM submission") == files
        assert _versions(db) == {p: [1, 2, 3, 4] for p in PARTNERS}
        accepted = _rows(db, "SELECT partner_id, version FROM submission WHERE status = 'accepted' ORDER BY partner_id")
        assert sorted(accepted) == sorted((p, 4) for p in PARTNERS)
        assert _count(db, "SELECT count(*) FROM payment_run WHERE period = '2026-10'") == 1
        assert _count(db, "SELECT count(*) FROM notification WHERE kind = 'return_processed'") == files
        assert _count(db, "SELECT count(*) FROM notification") == _count(
            db, "SELECT count(DISTINCT dedup_key) FROM notification"
        )
        assert _count(db, "SELECT count(*) FROM audit_entry WHERE action LIKE 'submission.%'") == files
        with session_scope(db) as session:
            assert verify_chain(session).ok


# --- helpers -------------------------------------------------------------------------------------------------------


def _cli(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([PREFECT, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@contextmanager
def _pg() -> Iterator[Engine]:
    for engine in _postgres_engine():
        ensure_schema(engine)
        yield engine


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _workspace(root: Path, db: Engine, *, versions: int) -> Workspace:
    """A workspace whose `.env` names its PostgreSQL database, with ``versions`` returns per partner in its inbox."""
    root.mkdir()
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    (root / ".env").write_text(f"ALLIANCE_DATABASE_URL={_url(db)}\n")
    workspace = Workspace.at(root)
    contract = workspace.load_contract()
    workspace.inbox.mkdir()
    for partner in PARTNERS:
        for version in range(1, versions + 1):
            content = return_bytes(contract, partner, OCTOBER, rows=clean_rows(3 + version, OCTOBER))
            path = workspace.inbox / partner / f"{partner}-{OCTOBER}-{version}.xlsx"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(content)
            stamp = time.time() - 3600 + version * 60  # versions arrive in order
            os.utime(path, (stamp, stamp))
    return workspace


@contextmanager
def _worker(server: LocalPrefectServer, log_path: Path, limit: int = 4) -> Iterator[subprocess.Popen[bytes]]:
    env = server.client_env()
    env.pop("ALLIANCE_DATABASE_URL", None)  # each workspace names its own
    env.update(PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="1")
    command = [PREFECT, "worker", "start", "--pool", "alliance-process", "--limit", str(limit)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    except BaseException:
        print(f"---- worker log ({log_path}) ----\n{log_path.read_text(errors='replace')[-6000:]}", file=sys.stderr)
        raise
    finally:
        if process.poll() is None:
            _kill(process, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _kill(process, signal.SIGKILL)
                process.wait(timeout=10)


def _kill(worker: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the worker's process group and the flow runs it started, each in a session (process group) of its own:
    `os.killpg(worker.pid, ...)` alone leaves a flow run running (and writing) without its worker."""
    below = _descendants(worker.pid)
    groups = {worker.pid}
    for pid in below:
        with suppress(ProcessLookupError):
            groups.add(os.getpgid(pid))
    for group in groups:
        with suppress(ProcessLookupError):
            os.killpg(group, sig)
    for pid in below:  # and each one by itself, in case one left its group in between
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc: Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        below = children.get(todo.pop(), [])
        found += below
        todo += below
    return found


def _survivors(pids: list[int], *, timeout: float) -> dict[int, str]:
    """The processes of ``pids`` still alive after ``timeout`` seconds, with their state and command line.

    A SIGKILLed process is not gone when kill() returns: it dies when next scheduled, and a large
    one takes a moment to tear down on a loaded machine (CI once caught one still running)."""
    deadline = time.monotonic() + timeout
    while (alive := [pid for pid in pids if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return {pid: _describe(pid) for pid in alive}


def _describe(pid: int) -> str:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError):
        return "gone"
    return f"state {state}: {command[:200]}"


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _start(deployed: Deployed, name: str, parameters: dict[str, Any], workspace: Workspace | None = None) -> str:
    if workspace is not None:
        parameters = {**parameters, "workspace": str(workspace.root)}
    deployment_id = deployed.deployments[name]["id"]
    run = http_json(
        f"{deployed.server.api_url}/deployments/{deployment_id}/create_flow_run", {"parameters": parameters}
    )
    return str(run["id"])


def _wait(server: LocalPrefectServer, run_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = http_json(f"{server.api_url}/flow_runs/{run_id}")
        if run["state_type"] in FINISHED:
            return dict(run)
        time.sleep(0.5)
    raise TimeoutError(f"flow run {run_id} not finished after {timeout:.0f}s: {run['state_type']}")


def _wait_until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.05)


def _states(runs: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{r['name']}: {r['state_type']} {((r.get('state') or {}).get('message') or '')[:500]}" for r in runs
    )


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _count(db: Engine, sql: str) -> int:
    with db.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def _rows(db: Engine, sql: str) -> list[tuple[Any, ...]]:
    with db.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql))]


def _versions(db: Engine) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for partner, version in _rows(db, "SELECT partner_id, version FROM submission ORDER BY partner_id, version"):
        found.setdefault(partner, []).append(version)
    return found
