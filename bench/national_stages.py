"""Each stage of a national cycle, run in a process of its own so its peak memory is its own.

`python -m bench national` generates the month once, then runs ``python -m bench.national_stages
STAGE ROOT`` per stage; each prints one JSON line: seconds, files, rows and peak RSS.
"""

import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STAGES = ("floor", "read", "validate", "feedback", "cycle")


def _files(root: Path) -> list[Path]:
    return sorted((root / "inbox").rglob("*.xlsx"))


def floor(root: Path) -> dict[str, Any]:
    """python-calamine reading every cell of every sheet of every return: no reader can do less."""
    from python_calamine import CalamineWorkbook

    cells = 0
    for path in _files(root):
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            grid = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            cells += sum(len(row) for row in grid)
    return {"cells": cells}


def read(root: Path) -> dict[str, Any]:
    from integrations.spreadsheets.reader import read_return

    rows = 0
    for path in _files(root):
        result = read_return(path.name, path.read_bytes())
        assert result.raw is not None, path
        rows += len(result.raw.table)
    return {"rows": rows}


def _read_all(root: Path) -> list[tuple[Path, Any]]:
    from integrations.spreadsheets.reader import read_return

    return [(path, read_return(path.name, path.read_bytes())) for path in _files(root)]


def validate(root: Path) -> dict[str, Any]:
    """The checks alone (offline: no records to compare with), on returns read beforehand."""
    from expectations.returns import validate_return
    from integrations.workspace import load_contract

    contract = load_contract(root / "alliance.yaml")
    read_ = _read_all(root)
    start = time.perf_counter()
    accepted = findings = 0
    for path, result in read_:
        validated = validate_return(result.raw, contract, sender=path.parent.name)
        accepted += validated.accepted
        findings += len(validated.findings)
    return {"seconds": time.perf_counter() - start, "accepted": accepted, "findings": findings}


def feedback(root: Path) -> dict[str, Any]:
    """The feedback workbooks the cycle writes, for returns read and checked beforehand."""
    import tempfile

    from expectations.returns import validate_return
    from integrations.spreadsheets.feedback import FeedbackHeading, write_feedback
    from integrations.workspace import load_contract

    contract = load_contract(root / "alliance.yaml")
    checked = [
        (path, result, validate_return(result.raw, contract, sender=path.parent.name))
        for path, result in _read_all(root)
    ]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        for path, result, validated in checked:
            write_feedback(
                Path(folder) / f"{path.stem}-feedback.xlsx",
                heading=FeedbackHeading(
                    partner_name=path.parent.name,
                    period="2026-10",
                    version=1,
                    filename=path.name,
                    status="accepted" if validated.accepted else "rejected",
                ),
                findings=result.findings + validated.findings,
                grids=result.raw.grids,
                changes=None,
                changes_note=None,
            )
        seconds = time.perf_counter() - start
    return {"seconds": seconds}


def cycle(root: Path) -> dict[str, Any]:
    """The `monthly-cycle` flow, as a deployment runs it, on a fresh SQLite database (Prefect's ephemeral
    server started beforehand by a trivial flow: its start-up is not the cycle's)."""
    from prefect import flow

    from bench.national import CYCLE, RECEIVED
    from flows.monthly_cycle import monthly_cycle
    from integrations.workspace import Workspace
    from services.deps import production_deps

    work = root.parent / f"{root.name}-cycle"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(root, work)
    for path in _files(work):  # landed before the due date: on time
        os.utime(path, (RECEIVED.timestamp(), RECEIVED.timestamp()))
    workspace = Workspace(root=work, database_url=f"sqlite:///{work / 'alliance.db'}")
    deps = production_deps(workspace, clock=lambda: CYCLE)

    @flow
    def warm_up() -> None:
        return None

    started = time.perf_counter()
    warm_up()
    prefect_start = time.perf_counter() - started
    start, cpu = time.perf_counter(), time.process_time()
    report = monthly_cycle(period="2026-10", deps=deps)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    statuses: dict[str, int] = {}
    for outcome in report.outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    shutil.rmtree(work, ignore_errors=True)
    return {
        "seconds": seconds,
        # CPU of every thread of this process during the cycle (not the Prefect server's): steadier than the seconds
        # on a machine shared with other work
        "cpu_seconds": round(cpu, 3),
        "prefect_start_seconds": prefect_start,
        "statuses": statuses,
        "payable_pence": report.runs[-1].run.payable_pence if report.runs else None,
    }


def cycle_served(root: Path, shares: int) -> dict[str, Any]:
    """The `monthly-cycle` deployment run by `alliance serve --shares N`, as officers run it on one machine: the
    cycle and each share a process of its own (the worker set-up across machines runs the same flows). Timed by
    the Prefect server, from the cycle run's start to its end; peak RSS summed over serve's process tree."""
    import socket
    import subprocess
    import tempfile

    from bench.national import RECEIVED

    work = root.parent / f"{root.name}-served"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(root, work)
    for path in _files(work):
        os.utime(path, (RECEIVED.timestamp(), RECEIVED.timestamp()))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ALLIANCE_"))}
    client_home = tempfile.mkdtemp(prefix="bench-prefect-")
    env.update(PREFECT_HOME=client_home, PREFECT_RUNNER_POLL_FREQUENCY="1")
    alliance = str(Path(sys.executable).with_name("alliance"))
    command = [alliance, "serve", "--workspace", str(work), "--port", str(port)]
    command += ["--shares", str(shares), "--limit", str(shares + 1)]
    with (work / "serve.log").open("wb") as log:
        serve = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deployments = _until(lambda: _deployments(api), timeout=300)
        created = _http(
            f"{api}/deployments/{deployments['monthly-cycle']}/create_flow_run", {"parameters": {"period": "2026-10"}}
        )
        peak = 0
        while (run := _http(f"{api}/flow_runs/{created['id']}"))["state_type"] not in _FINISHED:
            peak = max(peak, _tree_rss_kib(serve.pid))
            time.sleep(0.5)
        if run["state_type"] != "COMPLETED":
            raise RuntimeError(f"cycle {run['state_type']}: {(work / 'serve.log').read_text()[-3000:]}")
        children = _http(f"{api}/flow_runs/filter", {"flow_runs": {"parent_flow_run_id": {"any_": [created["id"]]}}})
    finally:
        os.killpg(serve.pid, 15)
        serve.wait(timeout=60)
        shutil.rmtree(client_home, ignore_errors=True)
    seconds = (_moment(run["end_time"]) - _moment(run["start_time"])).total_seconds()
    shares_seconds = sorted(
        round((_moment(c["end_time"]) - _moment(c["start_time"])).total_seconds(), 1) for c in children if c["end_time"]
    )
    shutil.rmtree(work, ignore_errors=True)
    return {
        "seconds": seconds,
        "shares": shares,
        "share_seconds": shares_seconds,
        "tree_peak_rss_mib": round(peak / 1024, 1),
    }


_FINISHED = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _http(url: str, payload: Any = None, attempts: int = 8) -> Any:
    """JSON to and from the Prefect server; a busy server's 429/502/503/504 asked again, as Prefect's client does."""
    import urllib.error
    import urllib.request

    data = None if payload is None else json.dumps(payload).encode()
    for attempt in range(attempts):
        request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code not in (429, 502, 503, 504) or attempt == attempts - 1:
                raise
            time.sleep(min(2**attempt, 10))
    raise AssertionError("unreachable")


def _deployments(api: str) -> dict[str, str] | None:
    try:
        records = _http(f"{api}/deployments/filter", {})
    except OSError:
        return None
    return {d["name"]: d["id"] for d in records} if len(records) == 4 else None


def _until(probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {timeout:.0f}s")
        time.sleep(0.5)
    return found


def _moment(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and every process below it, now (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, todo = {pid}, [pid]
    while todo:
        current = todo.pop()
        below = [child for child, parent in parents.items() if parent == current]
        tree.update(below)
        todo += below
    total = 0
    for member in tree:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total


RUNNERS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "floor": floor,
    "read": read,
    "validate": validate,
    "feedback": feedback,
    "cycle": cycle,
    # not in STAGES (a Prefect server and processes of their own): ask for them with --stages
    "served-1": lambda root: cycle_served(root, 1),
    "served-2": lambda root: cycle_served(root, 2),
    "served-4": lambda root: cycle_served(root, 4),
}


def main(stage: str, root: Path) -> None:
    start = time.perf_counter()
    figures = RUNNERS[stage](root)
    elapsed = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "stage": stage,
                "seconds": round(figures.pop("seconds", elapsed), 3),
                "process_seconds": round(elapsed, 3),
                "peak_rss_mib": round(own / 1024, 1),  # Linux: KiB
                "children_peak_rss_mib": round(children / 1024, 1),
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
