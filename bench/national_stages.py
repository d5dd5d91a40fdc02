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
        rows += len(result.raw.rows)
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
    start = time.perf_counter()
    report = monthly_cycle(period="2026-10", deps=deps)
    seconds = time.perf_counter() - start
    statuses: dict[str, int] = {}
    for outcome in report.outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    shutil.rmtree(work, ignore_errors=True)
    return {
        "seconds": seconds,
        "prefect_start_seconds": prefect_start,
        "statuses": statuses,
        "payable_pence": report.runs[-1].run.payable_pence if report.runs else None,
    }


RUNNERS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "floor": floor,
    "read": read,
    "validate": validate,
    "feedback": feedback,
    "cycle": cycle,
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
