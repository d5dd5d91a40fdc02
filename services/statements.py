"""Statement workbooks for a run: built from the stored lines, written once per run version."""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from domain.contract import Contract
from domain.money import format_pounds
from domain.periods import Period, contract_month
from integrations.spreadsheets.statements import (
    AdjustmentRow,
    PartnerStatement,
    PointsRow,
    StatementLine,
    YearRow,
    write_officer_summary,
    write_partner_statement,
)
from models import ledger, repo
from models.db import session_scope
from models.ledger import RunState
from models.tables import PaymentLine, PaymentRun
from services.deps import Deps
from services.payments import (
    RunResult,
    bring_period_state_up_to_date,
    paid_by_kind,
    run_payments,
    statement_name,
)


@dataclass(frozen=True)
class StatementSet:
    run: PaymentRun
    status: str
    statements: list[PartnerStatement]
    facts: list[tuple[str, str]]
    stamp: datetime  # when the run became payable (or was made, for a draft)


def year_periods(contract: Contract, period: Period) -> list[Period]:
    """The periods of ``period``'s contract year up to and including it."""
    _, month = contract_month(period, contract.alliance.start)
    return [period.plus(-offset) for offset in range(month - 1, -1, -1)]


def build_statements(session: Session, *, contract: Contract, run: PaymentRun) -> StatementSet:
    assert run.id is not None
    state = ledger.state_of(session, run=run)
    lines = repo.lines_of(session, run_id=run.id)
    stamp = state.payable_at or run.created_at
    year = _year_to_date(session, contract=contract, run=run, until=stamp) if state.payable else {}
    heading = [
        ("period", run.period),
        ("run version", str(run.version)),
        ("status", state.status),
        ("computed", run.created_at.isoformat(timespec="seconds")),
        ("approved", f"{state.approval.approved_by}, {state.approval.approved_at.isoformat(timespec='seconds')}")
        if state.approval
        else ("approved", "not needed" if not run.requires_approval else "not yet"),
        ("contract fingerprint", run.contract_fingerprint),
        ("inputs hash", run.inputs_hash),
    ]
    statements = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = [line for line in lines if line.partner_id == partner.id]
        statements.append(
            PartnerStatement(
                partner_id=partner.id,
                partner_name=partner.name,
                lines=[StatementLine(line.kind, line.amount_pence, line.explanation) for line in own],
                heading=heading,
                working=_working(run, own),
                points=_points(own),
                adjustments=[
                    AdjustmentRow(w["of_kind"], w["was_pence"], w["now_pence"])
                    for line in own
                    if line.kind == "adjustment"
                    for w in [json.loads(line.working)]
                ],
                year_to_date=year.get(partner.id, []),
            )
        )
    facts = [
        *heading,
        ("alliance points / target", f"{run.alliance_points} / {run.target_points}"),
        ("alliance factor (A / T within collar and cap)", run.alliance_factor),
        ("monthly outcome pool", format_pounds(run.pool_pence)),
        ("outcome payable (pool x factor)", format_pounds(run.payable_pence)),
    ]
    return StatementSet(run, state.status, statements, facts, stamp)


def _working(run: PaymentRun, own: list[PaymentLine]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for line in own:
        w: dict[str, Any] = json.loads(line.working)
        if line.kind == "core":
            rows += [
                ("annual core funding", format_pounds(w["annual_core_pence"])),
                ("instalment", f"{w['month_of_year']} of 12: {format_pounds(w['instalment_pence'])}"),
                ("board step-down in force", f"{w['step_down_percent']}%"),
                ("core paid", format_pounds(line.amount_pence)),
            ]
        elif line.kind == "outcome":
            rows += [
                ("your outcome points (P)", w["partner_points"]),
                ("alliance points (A)", w["alliance_points"]),
                ("alliance target points (T)", w["target_points"]),
                ("alliance factor f = A / T within collar and cap", w["alliance_factor"]),
                ("monthly outcome pool", format_pounds(w["pool_pence"])),
                ("outcome payable = pool x f", format_pounds(w["payable_pence"])),
                ("exact share = payable x P / A (pence)", w["exact_share_pence"]),
                ("outcome paid (largest remainder, to the penny)", format_pounds(line.amount_pence)),
            ]
    return rows


def _points(own: list[PaymentLine]) -> list[PointsRow]:
    for line in own:
        if line.kind == "outcome":
            cells = json.loads(line.working).get("cells", [])
            return [PointsRow(m, b, int(count), Decimal(points)) for m, b, count, points in cells]
    return []


def _year_to_date(
    session: Session, *, contract: Contract, run: PaymentRun, until: datetime
) -> dict[str, list[YearRow]]:
    periods = [str(p) for p in year_periods(contract, Period.parse(run.period))]
    states: list[RunState] = [
        s for s in ledger.payable_runs(session, periods=periods) if s.payable_at and s.payable_at <= until
    ]
    lines = ledger.lines_of_runs(session, run_ids=[s.run.id for s in states if s.run.id is not None])
    rows: dict[str, list[YearRow]] = {}
    for state in sorted(states, key=lambda s: (s.run.period, s.run.version)):
        for partner in contract.partners:
            paid = paid_by_kind([line for line in lines if line.run_id == state.run.id], partner.id)
            rows.setdefault(partner.id, []).append(
                YearRow(state.run.period, state.run.version, paid["core"], paid["outcome"])
            )
    return rows


def statements_folder(deps: Deps, run: PaymentRun) -> Path:
    return deps.workspace.statements_dir / run.period / f"v{run.version}"


def write_statements(deps: Deps, run: PaymentRun) -> list[Path]:
    """The run's workbooks, each written once: partners' statements when the run is payable, the
    officers' summary always (marked draft while it waits for approval). Safe to call again."""
    contract = deps.contract
    folder = statements_folder(deps, run)
    with session_scope(deps.engine) as session:
        built = build_statements(session, contract=contract, run=run)
    title = f"{contract.alliance.name}: payment statement {run.period}, run version {run.version}"
    written = []
    draft = "-draft" if built.status == "draft" else ""
    summary = folder / f"officers-summary-{run.period}-v{run.version}{draft}.xlsx"
    if built.status in ("final", "approved", "draft") and not summary.exists():
        written.append(
            write_officer_summary(
                summary, title=title, statements=built.statements, facts=built.facts, stamp=built.stamp
            )
        )
    if built.status in ("final", "approved"):
        for statement in built.statements:
            path = folder / statement_name(statement.partner_id, run)
            if not path.exists():
                written.append(write_partner_statement(path, title=title, statement=statement, stamp=built.stamp))
    return written


def pay_period(deps: Deps, period: Period) -> RunResult:
    """The cycle's payment step: post the run for the current inputs (or find it), then make sure
    its workbooks exist. Safe to repeat after a crash at any point."""
    result = run_payments(deps, period)
    bring_period_state_up_to_date(deps, period)
    write_statements(deps, result.run)
    return result
