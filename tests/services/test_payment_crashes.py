"""Crash injection: the payment step killed at every point it touches the database or the disk,
and between its commit and the flow's own record, then run again from the start.

A crash is an exception that nothing in the code under test catches (a BaseException, as a
killed process unwinds nothing): the open transaction is rolled back, as it would be by the
database when the process dies. After the re-run the records must equal those of a run that
never crashed: no run, line or message twice, the same amounts.
"""

import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import col, select

import integrations.spreadsheets.statements as writer
import services.statements as statements
from domain.periods import Period
from integrations.workspace import Workspace
from models import repo, reviews
from models.db import make_engine, session_scope
from models.tables import AuditEntry, FundingAdjustment, Notification, PaymentLine, PaymentRun
from services.deps import Deps
from services.statements import pay_period
from tests.helpers import clean_rows, return_bytes
from tests.services.payments_helpers import submit

SEPTEMBER, OCTOBER, NOVEMBER = Period(2026, 9), Period(2026, 10), Period(2026, 11)
AT = datetime(2026, 12, 16, 9, tzinfo=UTC)
MIN_POINTS = 150


class Crash(BaseException):
    """The process dies here."""


class Injector:
    """Counts the points the step passes; raises Crash at point ``crash_at`` (None: never)."""

    def __init__(self, crash_at: int | None) -> None:
        self.crash_at = crash_at
        self.points: list[str] = []
        self.armed = False

    def point(self, where: str) -> None:
        if not self.armed:
            return
        self.points.append(where)
        if self.crash_at is not None and len(self.points) - 1 == self.crash_at:
            self.armed = False
            raise Crash(where)


@contextmanager
def injected(deps: Deps, injector: Injector, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def before_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        injector.point("sql " + statement.split()[0])

    def before_commit(conn: Any) -> None:
        injector.point("before commit")

    def after_commit(session: Any) -> None:
        injector.point("after commit")

    class CrashingOs:
        @staticmethod
        def replace(source: Path, target: Path) -> None:
            injector.point("file staged, not yet in place")
            Path(source).replace(target)

    def fake_book(path: Path, *, stamp: datetime, **content: Any) -> Path:
        """A small stand-in for a statement workbook, written the way the real writer writes."""
        injector.point("before writing a file")
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.partial")
        with zipfile.ZipFile(staging, "w") as book:
            book.writestr("content.json", json.dumps(content, default=str, sort_keys=True))
        writer.os.replace(staging, path)
        return path

    monkeypatch.setattr(writer, "os", CrashingOs)
    monkeypatch.setattr(statements, "write_partner_statement", fake_book)
    monkeypatch.setattr(statements, "write_officer_summary", fake_book)
    event.listen(deps.engine, "before_cursor_execute", before_statement)
    event.listen(deps.engine, "commit", before_commit)
    event.listen(OrmSession, "after_commit", after_commit)
    try:
        yield
    finally:
        event.remove(deps.engine, "before_cursor_execute", before_statement)
        event.remove(deps.engine, "commit", before_commit)
        event.remove(OrmSession, "after_commit", after_commit)


def step_down_once(deps: Deps) -> None:
    """A board step-down for harbour-trust from October (an officer action, not crash-injected)."""
    with session_scope(deps.engine) as session:
        if not reviews.active_adjustments(session):
            session.add(
                FundingAdjustment(
                    partner_id="harbour-trust",
                    from_period="2026-10",
                    percent=25,
                    reason="board decision",
                    decided_by="chair",
                    decided_at=AT,
                )
            )


def the_payments(deps: Deps, injector: Injector) -> None:
    """Months of payment steps as cycles would run them: September, October, October again after
    a step-down (a correcting version), September again (nothing new), November (no returns)."""
    script: list[Callable[[], object]] = [
        lambda: pay_period(deps, SEPTEMBER),
        lambda: pay_period(deps, OCTOBER),
        lambda: step_down_once(deps),
        lambda: pay_period(deps, OCTOBER),
        lambda: pay_period(deps, SEPTEMBER),
        lambda: pay_period(deps, NOVEMBER),
    ]
    for item in script:
        injector.armed = item is not script[2]
        item()
        injector.point("step done, before the flow records it")
    injector.armed = False


def records(deps: Deps) -> dict[str, Any]:
    with session_scope(deps.engine) as session:
        runs = {r.id: r for r in session.exec(select(PaymentRun))}
        return {
            "runs": sorted(
                (r.period, r.version, r.idempotency_key, r.inputs_hash, r.payable_pence) for r in runs.values()
            ),
            "lines": sorted(
                (runs[x.run_id].period, runs[x.run_id].version, x.partner_id, x.kind, x.amount_pence, x.explanation)
                for x in session.exec(select(PaymentLine))
            ),
            "messages": sorted((n.dedup_key, n.channel, n.text) for n in session.exec(select(Notification))),
            "audit": [(a.action, a.subject) for a in session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))],
        }


def files(deps: Deps) -> list[str]:
    root = deps.workspace.statements_dir
    found = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.endswith(".partial"))
    assert all(zipfile.is_zipfile(root / name) for name in found)
    return found


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with accepted returns for September and October, before any payment step."""
    from integrations.workspace import Workspace as W
    from services.deps import production_deps
    from tests.conftest import EXAMPLE

    root = tmp_path_factory.mktemp("crash-base")
    (root / "alliance.yaml").write_text(EXAMPLE.read_text())
    deps = production_deps(W(root=root, database_url=f"sqlite:///{root / 'alliance.db'}"), clock=lambda: AT)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    september = [{**row, "participant_id": f"S{n}"} for n, row in enumerate(clean_rows(5, SEPTEMBER))]
    for name, partner, period, rows in (
        ("h9.xlsx", "harbour-trust", SEPTEMBER, september),
        ("c9.xlsx", "city-mind", SEPTEMBER, [{**r, "participant_id": f"C{r['participant_id']}"} for r in september]),
        ("h10.xlsx", "harbour-trust", OCTOBER, clean_rows(4)),
    ):
        outcome = submit(deps, name, return_bytes(deps.contract, partner, period=period, rows=rows), AT)
        assert outcome.status == "accepted", outcome.findings
    deps.engine.dispose()
    return root


def fresh(prepared: Path, target: Path) -> Deps:
    shutil.copytree(prepared, target)
    workspace = Workspace(root=target, database_url=f"sqlite:///{target / 'alliance.db'}")
    return Deps(
        workspace=workspace,
        engine=make_engine(workspace.database_url),
        inbox=None,  # type: ignore[arg-type]  # the payment step never reads the inbox
        contract=workspace.load_contract(),
        clock=lambda: AT,
    )


def test_the_payment_step_survives_a_crash_at_every_point(
    prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = fresh(prepared, tmp_path / "baseline")
    counter = Injector(crash_at=None)
    with injected(baseline, counter, monkeypatch):
        the_payments(baseline, counter)
    expected, expected_files = records(baseline), files(baseline)
    assert [r[:2] for r in expected["runs"]] == [("2026-09", 1), ("2026-10", 1), ("2026-10", 2), ("2026-11", 1)]
    points = counter.points
    print(f"{len(points)} crash points")
    assert len(points) >= MIN_POINTS, f"only {len(points)} crash points"
    assert {"before commit", "after commit", "file staged, not yet in place", "before writing a file"} <= set(points)

    failures = []
    for crash_at in range(len(points)):
        deps = fresh(prepared, tmp_path / f"crash-{crash_at}")
        injector = Injector(crash_at)
        with injected(deps, injector, monkeypatch):
            with pytest.raises(Crash):
                the_payments(deps, injector)
            deps.engine.dispose()  # the process is gone: nothing of its connections survives
            deps = replace(deps, engine=make_engine(deps.workspace.database_url))
            the_payments(deps, Injector(crash_at=None))
        if records(deps) != expected or files(deps) != expected_files:
            failures.append((crash_at, points[crash_at]))
        deps.engine.dispose()
        shutil.rmtree(tmp_path / f"crash-{crash_at}")
    assert failures == [], f"{len(failures)} of {len(points)} crash points left different records"
