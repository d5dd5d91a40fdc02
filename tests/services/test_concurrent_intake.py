"""8 concurrent submitters x 100 returns into one cycle, on SQLite and on PostgreSQL: every version
recorded once, none lost, versions 1..n per partner with no gap, one accepted, every audit entry and
outbox message once, and no database error ("database is locked", a unique violation) surfacing.

The submitters are processes (spawned: each imports the application afresh, as the monthly cycle's
workers would), so they contend for the database for real, not one at a time under the GIL.
"""

import json
import multiprocessing
import queue
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from domain.contract import Contract
from integrations.spreadsheets.filler import fill_return
from integrations.spreadsheets.templates import build_template
from integrations.workspace import Workspace, load_contract
from models import repo
from models.audit import verify_chain
from models.db import session_scope
from models.tables import AuditEntry, Notification, Submission
from services.deps import Deps
from tests.conftest import EXAMPLE
from tests.helpers import OCTOBER, clean_rows, rewrite_parts, summary_of

SUBMITTERS = 8
RETURNS_EACH = 100
ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)
REJECTED_EVERY = 25  # 4% carry an error (25 = 1 mod 3: every partner gets some)
QUARANTINED_EVERY = 97  # and 1% no one can be matched to


def _variant(content: bytes, tag: str) -> bytes:
    """The same workbook with different bytes: a title in its document properties."""

    def titled(core: bytes) -> bytes:
        return core.replace(b"</cp:coreProperties>", f"<dc:title>{tag}</dc:title></cp:coreProperties>".encode())

    return rewrite_parts(content, {"docProps/core.xml": titled})


def _bases(contract: Contract) -> dict[str, list[bytes]]:
    """Per partner, a few filled returns (its own participants, so no claim is shared) and one with an error."""
    bases: dict[str, list[bytes]] = {}
    for partner in contract.partners:
        template = build_template(contract, partner, OCTOBER)
        good = []
        for size in (2, 3, 4):
            rows = clean_rows(size)
            for row in rows:
                row["participant_id"] = f"{partner.id[:2].upper()}{row['participant_id']}"
            good.append(fill_return(template, rows, summary=summary_of(rows)))
        rows = clean_rows(2)
        rows[0]["complexity_band"] = "not-a-band"
        bases[partner.id] = [*good, fill_return(template, rows, summary=summary_of(rows))]
    return bases


def _returns(contract: Contract, inbox: Path) -> tuple[list[list[Path]], dict[str, str]]:
    """Per submitter: a shared file first (its twin submitter races for the same bytes), then 100 of its own."""
    bases = _bases(contract)
    partners = [p.id for p in contract.partners]
    kinds: dict[str, str] = {}  # file name -> expected: accepted | rejected | quarantined
    jobs: list[list[Path]] = [[] for _ in range(SUBMITTERS)]

    def write(name: str, content: bytes, kind: str, sender: str | None = None) -> Path:
        path = inbox / sender / name if sender else inbox / name  # a return from its partner's own folder
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        kinds[name] = kind
        return path

    for pair in range(0, SUBMITTERS, 2):
        owner = partners[pair % 3]
        shared = write(f"shared-{pair}.xlsx", _variant(bases[owner][0], f"shared {pair}"), "accepted", owner)
        jobs[pair].append(shared)
        jobs[pair + 1].append(shared)
    for n in range(SUBMITTERS * RETURNS_EACH):
        submitter, partner = n % SUBMITTERS, partners[n % len(partners)]
        if n % QUARANTINED_EVERY == QUARANTINED_EVERY - 1:
            path = write(f"scan-{n}.pdf", f"%PDF-1.4 scan {n}".encode(), "quarantined")
        elif n % REJECTED_EVERY == REJECTED_EVERY - 1:
            path = write(f"{partner}-{n}.xlsx", _variant(bases[partner][-1], f"return {n}"), "rejected", partner)
        else:
            path = write(f"{partner}-{n}.xlsx", _variant(bases[partner][n % 3], f"return {n}"), "accepted", partner)
        jobs[submitter].append(path)
    return jobs, kinds


def submitter(url: str, root: str, paths: list[str], start: Any, results: Any, number: int) -> None:
    """One submitter process: its own engine and deps, each file processed as the cycle would."""
    from integrations.inbox import open_inbox, read_file
    from models.db import make_engine
    from services.deps import Deps, fixed_clock
    from services.intake import process_file

    workspace = Workspace(root=Path(root), database_url=url)
    engine = make_engine(url)
    deps = Deps(
        workspace=workspace,
        engine=engine,
        inbox=open_inbox(str(workspace.inbox)),
        contract=load_contract(workspace.contract_path),
        clock=fixed_clock(ON_TIME),
    )
    outcomes: list[tuple[str, str, str | None, int | None, int | None]] = []
    errors: list[str] = []
    start.wait()
    began = time.perf_counter()
    for path in paths:
        try:
            sender = Path(path).parent.name if Path(path).parent != workspace.inbox else None
            o = process_file(deps, read_file(Path(path), received_at=ON_TIME, sender=sender))
            outcomes.append((Path(path).name, o.status, o.partner_id, o.version, o.submission_id))
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the test
            errors.append(f"{Path(path).name}: {type(exc).__name__}: {exc}")
    engine.dispose()
    results.put((number, outcomes, errors, time.perf_counter() - began))


def run_submitters(engine: Engine, root: Path, jobs: list[list[Path]]) -> tuple[list[Any], list[str], float]:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(len(jobs)), context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    processes = [
        context.Process(target=submitter, args=(url, str(root), [str(p) for p in paths], start, results, i))
        for i, paths in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    reports: list[Any] = []
    while len(reports) < len(processes):
        try:
            reports.append(results.get(timeout=5))
        except queue.Empty:
            # A submitter that died without reporting (killed, failed to start) fails the test, not hangs it.
            died = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            assert not died, f"a submitter process died: exit codes {died}"
    for process in processes:
        process.join(60)
    outcomes = [o for _, found, _, _ in reports for o in found]
    errors = [e for _, _, found, _ in reports for e in found]
    return outcomes, errors, max(seconds for *_, seconds in reports)


def test_concurrent_submitters_record_every_version_once(engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "inbox").mkdir(parents=True)
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    contract = load_contract(root / "alliance.yaml")
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
    jobs, kinds = _returns(contract, root / "inbox")

    outcomes, errors, seconds = run_submitters(engine, root, jobs)
    print(f"\n{engine.dialect.name}: {len(outcomes)} files by {SUBMITTERS} submitters in {seconds:.1f} s")

    assert errors == []  # no "database is locked", no unique violation, nothing at all
    assert len(outcomes) == sum(len(j) for j in jobs) == SUBMITTERS * (RETURNS_EACH + 1)
    by_name: dict[str, list[str]] = {}
    for name, status, *_ in outcomes:
        by_name.setdefault(name, []).append(status)
    # The shared files: one submitter filed each, its twin was told it is a duplicate.
    assert {n: sorted(s) for n, s in by_name.items() if n.startswith("shared")} == {
        f"shared-{pair}.xlsx": ["accepted", "duplicate"] for pair in range(0, SUBMITTERS, 2)
    }
    assert {n: s[0] for n, s in by_name.items() if not n.startswith("shared")} == {
        n: k for n, k in kinds.items() if not n.startswith("shared")
    }

    with session_scope(engine) as session:
        submissions = list(session.exec(select(Submission)))
        notes = list(session.exec(select(Notification)))
        audit = list(session.exec(select(AuditEntry)))
        chain = verify_chain(session)
    assert len(submissions) == len({s.sha256 for s in submissions}) == len(kinds)  # one row per distinct file
    assert len({s.stored_path for s in submissions}) == len(kinds)  # each archived once

    for partner in contract.partner_ids:
        own = sorted((s for s in submissions if s.partner_id == partner), key=lambda s: s.version or 0)
        assert [s.version for s in own] == list(range(1, len(own) + 1))  # 1..n, no gap, no repeat
        assert {s.period for s in own} == {str(OCTOBER)}
        statuses = Counter(s.status for s in own)
        assert statuses["accepted"] == 1 and statuses["rejected"] > 0 and statuses["superseded"] > 100
        last_good = max(s.version or 0 for s in own if s.status in ("accepted", "superseded"))
        assert next(s for s in own if s.status == "accepted").version == last_good
    assert Counter(s.status for s in submissions if s.partner_id is None) == {
        "quarantined": sum(1 for k in kinds.values() if k == "quarantined")
    }

    # Every submission: one outbox message, one audit entry, in the chain, which verifies.
    told = Counter(json.loads(n.payload).get("submission_id") for n in notes)
    assert all(told[s.id] == 1 for s in submissions) and sum(told.values()) == len(submissions) == len(notes)
    audited = Counter(json.loads(e.detail)["sha256"] for e in audit)
    assert audited == Counter(s.sha256 for s in submissions)
    assert (chain.ok, chain.entries) == (True, len(submissions))


def test_the_loser_of_a_race_for_the_same_bytes_is_told_duplicate(deps: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both submitters looked before either wrote (no period to serialise on, as for a file no one
    can be matched to): the second insert hits the unique sha256, and that is a duplicate, not an error."""
    from integrations.inbox import read_file
    from services import intake

    inbox = deps.workspace.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "harbour-trust").mkdir()
    scan = inbox / "harbour-trust" / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 the same scan twice")
    first = intake.process_file(deps, read_file(scan, received_at=ON_TIME, sender="harbour-trust"))

    looked = Counter[str]()
    real = repo.submission_by_sha

    def not_yet(session: Any, *, sha256: str) -> Submission | None:
        looked["times"] += 1
        return None if looked["times"] <= 2 else real(session, sha256=sha256)  # both checks miss the winner

    monkeypatch.setattr(repo, "submission_by_sha", not_yet)
    second = intake.process_file(deps, read_file(scan, received_at=ON_TIME, sender="harbour-trust"))

    assert (first.status, second.status, second.submission_id) == ("rejected", "duplicate", first.submission_id)
    assert looked["times"] == 3
    with session_scope(deps.engine) as session:
        assert len(list(session.exec(select(Submission)))) == 1
