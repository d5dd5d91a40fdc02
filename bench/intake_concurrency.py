"""Returns filed by concurrent submitters (processes, each with its own engine) into one period,
against one submitter filing the same number: throughput on SQLite, and on PostgreSQL when a URL
is given (its rounds add to what the database holds). Every file is a small valid return (three
rows) with bytes of its own; each submitter files one first, untimed, to warm up."""

import io
import multiprocessing
import queue
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from domain.periods import Period
from integrations.spreadsheets.filler import fill_return
from integrations.spreadsheets.templates import build_template
from integrations.workspace import Workspace, load_contract
from models import repo
from models.audit import verify_chain
from models.db import ensure_schema, make_engine, session_scope
from models.tables import Submission

REPO = Path(__file__).resolve().parents[1]
PERIOD = Period(2026, 10)
ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)


def _titled(content: bytes, tag: str) -> bytes:
    """The same workbook with bytes of its own: a title in its document properties."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "docProps/core.xml":
                data = data.replace(b"</cp:coreProperties>", f"<dc:title>{tag}</dc:title></cp:coreProperties>".encode())
            target.writestr(item, data)
    return out.getvalue()


def _write_returns(root: Path, count: int, tag: str) -> list[Path]:
    contract = load_contract(root / "alliance.yaml")
    bases = {}
    for partner in contract.partners:
        rows = [
            {
                "participant_id": f"{partner.id[:2].upper()}{n:03d}",
                "referral_date": PERIOD.first_day,
                "complexity_band": "standard",
                "housing_sustained": "Yes",
                "into_work": "No",
                "wellbeing_up": "Yes",
            }
            for n in range(3)
        ]
        summary = {"participants": 3, "housing_sustained": 3, "into_work": 0, "wellbeing_up": 3}
        bases[partner.id] = fill_return(build_template(contract, partner, PERIOD), rows, summary=summary)
    paths = []
    for n in range(count):
        partner = contract.partners[n % len(contract.partners)]
        path = root / "inbox" / partner.id / f"{partner.id}-{n}.xlsx"  # from the partner's own folder
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(_titled(bases[partner.id], f"{tag} return {n}"))
        paths.append(path)
    return paths


def _submit(url: str, root: str, paths: list[str], start: Any, results: Any) -> None:
    from integrations.inbox import open_inbox, read_file
    from services.deps import Deps, fixed_clock
    from services.intake import process_file

    workspace = Workspace(root=Path(root), database_url=url)
    deps = Deps(
        workspace=workspace,
        engine=make_engine(url),
        inbox=open_inbox(str(workspace.inbox)),
        contract=load_contract(workspace.contract_path),
        clock=fixed_clock(ON_TIME),
    )
    process_file(
        deps, read_file(Path(paths[0]), received_at=ON_TIME, sender=Path(paths[0]).parent.name)
    )  # warm up (imports, suite) before timing
    start.wait()
    began, errors = time.perf_counter(), 0
    for path in paths[1:]:
        try:
            process_file(deps, read_file(Path(path), received_at=ON_TIME, sender=Path(path).parent.name))
        except Exception:  # noqa: BLE001 - counted
            errors += 1
    results.put((time.perf_counter() - began, errors))


def _round(url: str | None, submitters: int, returns: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "inbox").mkdir()
        (root / "alliance.yaml").write_text((REPO / "alliance.yaml").read_text())
        url = url or f"sqlite:///{root / 'alliance.db'}"
        engine = make_engine(url)
        ensure_schema(engine)
        with session_scope(engine) as session:
            repo.sync_partners(session, contract=load_contract(root / "alliance.yaml"))
            before = session.exec(select(func.count()).select_from(Submission)).one()
        paths = _write_returns(root, returns + submitters, tag=f"{submitters} at {time.time()}")
        jobs = [[str(p) for p in paths[i::submitters]] for i in range(submitters)]
        context = multiprocessing.get_context("spawn")
        start, results = context.Barrier(submitters + 1), context.Queue()
        processes = [context.Process(target=_submit, args=(url, str(root), job, start, results)) for job in jobs]
        for process in processes:
            process.start()
        start.wait()
        began = time.perf_counter()
        reports: list[tuple[float, int]] = []
        while len(reports) < submitters:
            try:
                reports.append(results.get(timeout=5))
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError("a submitter process died") from None
        wall = time.perf_counter() - began
        for process in processes:
            process.join(60)
        with session_scope(engine) as session:
            stored = session.exec(select(func.count()).select_from(Submission)).one()
            chain = verify_chain(session)
        engine.dispose()
        return {
            "submitters": submitters,
            "returns": returns,
            "seconds": round(wall, 2),
            "returns_per_second": round(returns / wall, 2),
            "errors": sum(e for _, e in reports),
            "stored": stored - before - submitters,  # less the warm-up files
            "audit_chain_ok": chain.ok,
        }


def intake_concurrency(returns: int = 200, submitters: int = 8, database_url: str | None = None) -> dict[str, Any]:
    backends: dict[str, str | None] = {"sqlite": None}
    if database_url:
        backends["postgresql"] = database_url
    result: dict[str, Any] = {}
    for name, url in backends.items():
        one = _round(url, 1, returns)
        many = _round(url, submitters, returns)
        result[name] = {"one": one, "many": many, "speedup": round(one["seconds"] / many["seconds"], 2)}
    return result
