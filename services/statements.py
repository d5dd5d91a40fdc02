"""Statement workbooks for a run: built from the stored lines, written once per run version."""

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session

from domain.contract import Contract
from domain.errors import AllianceError
from domain.money import format_pounds
from domain.payments import ENTITLEMENT_KINDS
from domain.periods import Period, contract_month
from domain.settlement import BROUGHT_FORWARD, CARRIED, RECOVERY, SETTLEMENT_KINDS
from integrations.spreadsheets.statements import (
    AdjustmentRow,
    DebtRow,
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
from services.payment_reports import paid_by_kind
from services.payments import (
    RunResult,
    bring_period_state_up_to_date,
    is_provisional,
    run_payments,
    statement_name,
    step_downs_in_force,
    what_changed,
)
from services.settlements import debts, partners_told


@dataclass(frozen=True)
class StatementSet:
    run: PaymentRun
    status: str
    statements: list[PartnerStatement]
    facts: list[tuple[str, str]]
    told: list[str]  # the partners whose statement is written and sent (services.settlements.partners_told)
    debts: list[DebtRow]
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
    ]
    audit = [
        *heading,
        ("contract fingerprint", run.contract_fingerprint),
        ("inputs hash", run.inputs_hash),
        ("alliance factor (exact)", run.alliance_factor),
    ]
    why = _why_corrected(session, run)
    statements = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        own = [line for line in lines if line.partner_id == partner.id]
        statements.append(
            PartnerStatement(
                partner_id=partner.id,
                partner_name=partner.name,
                lines=[StatementLine(line.kind, line.amount_pence, line.explanation) for line in own],
                heading=heading,
                reasons=reason_lines(run, own, why),
                audit=audit,
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
    returned = {r[0] for r in json.loads(run.inputs).get("returns", [])}
    missing = [p.name for p in sorted(contract.partners, key=lambda p: p.id) if p.id not in returned]
    facts = [
        *audit,
        ("alliance points / target", f"{run.alliance_points} / {run.target_points}"),
        ("alliance factor (A / T within collar and cap)", run.alliance_factor),
        ("monthly outcome pool", format_pounds(run.pool_pence)),
        ("outcome payable (pool x factor)", format_pounds(run.payable_pence)),
        *(
            [("outcome pool", "provisional: paid once every return is in or the due date has passed")]
            if is_provisional(run)
            else []
        ),
        ("not returned", ", ".join(missing) or "none"),
    ]
    owed = [
        DebtRow(d.name, d.owed_pence, d.check.recoverable_pence, d.check.invoice)
        for d in debts(
            session, contract=contract, period=Period.parse(run.period), step_downs=step_downs_in_force(session)
        )
    ]
    return StatementSet(run, state.status, statements, facts, partners_told(run, lines), owed, stamp)


def _why_corrected(session: Session, run: PaymentRun) -> str:
    """Why a correcting version was made, in words: what its inputs changed from the version it adjusts."""
    if run.base_version is None:
        return ""
    base = next(s.run for s in ledger.run_states(session, period=run.period) if s.run.version == run.base_version)
    return f"the {what_changed(json.loads(base.inputs), json.loads(run.inputs))} changed"


REASON_LABELS = {
    CARRIED: "Held back from this payment",
    RECOVERY: "Recovery of an earlier overpayment",
    BROUGHT_FORWARD: "Brought forward from earlier corrections",
}


def reason_lines(run: PaymentRun, own: list[PaymentLine], why: str = "") -> list[StatementLine]:
    """The statement's first sheet: one line per reason, in pounds, for a finance officer (the exact arithmetic
    is on the audit sheet). A correcting version shows each kind's net change and why, not the whole month again."""
    reasons: list[StatementLine] = []
    correction = run.base_version is not None
    adjusted = {json.loads(x.working)["of_kind"]: x for x in own if x.kind == "adjustment"}
    for line in own:
        w: dict[str, Any] = json.loads(line.working)
        if line.kind == "core" and not correction:
            reasons.append(
                StatementLine(
                    f"Core instalment {w['month_of_year']} of 12",
                    w["instalment_pence"],
                    f"one twelfth of your annual core funding of {format_pounds(w['annual_core_pence'])}",
                )
            )
            if w["step_down_percent"]:
                reasons.append(
                    StatementLine(
                        "Board step-down",
                        line.amount_pence - w["instalment_pence"],
                        f"the board's {w['step_down_percent']}% reduction of core funding",
                    )
                )
        elif line.kind == "outcome" and "provisional_pence" in w:
            reasons.append(StatementLine(f"Outcomes for {run.period} (provisional)", 0, _provisional_words(line, w)))
        elif line.kind == "outcome" and not correction:
            reasons.append(StatementLine(f"Outcomes for {run.period}", line.amount_pence, _outcome_words(w)))
        elif line.kind in ENTITLEMENT_KINDS and correction:
            adjustment = adjusted.get(line.kind)
            was = json.loads(adjustment.working)["was_pence"] if adjustment else 0
            change = line.amount_pence - was
            if change == 0:
                continue
            detail = json.loads(adjustment.working).get("why", "") if adjustment else ""
            reasons.append(
                StatementLine(
                    f"Correction of {run.period}: {line.kind}",
                    change,
                    f"was {format_pounds(was)} under run version {run.base_version}, now "
                    f"{format_pounds(line.amount_pence)}: {'; '.join(x for x in (why, detail) if x) or 'restated'}",
                )
            )
        elif line.kind in SETTLEMENT_KINDS:
            reasons.append(StatementLine(REASON_LABELS[line.kind], line.amount_pence, line.explanation))
    return reasons


def _outcome_words(w: dict[str, Any]) -> str:
    factor = Decimal(w["alliance_factor"]).quantize(Decimal("0.01"))
    points = w["partner_points"]
    return (
        f"your {points} outcome points of the alliance's {w['alliance_points']}, from the monthly pool of "
        f"{format_pounds(w['pool_pence'])} at alliance factor {factor}"
    )


def _provisional_words(line: PaymentLine, w: dict[str, Any]) -> str:
    when = line.explanation.split("is paid ", 1)[-1]
    return f"{format_pounds(w['provisional_pence'])} on the returns in so far; nothing is paid yet: paid {when}"


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
                YearRow(state.run.period, state.run.version, paid["core"], paid["outcome"], paid["settled"])
            )
    return rows


def statements_folder(deps: Deps, run: PaymentRun) -> Path:
    return deps.workspace.statements_dir / run.period / f"v{run.version}"


class StatementsNotWritten(AllianceError):
    """A payment run stands (it is committed) but its workbooks could not be written: the folder is not writable, or
    something else is in its place. They are written by the next cycle once the folder is put right."""

    exit_code = 2


def _summary_path(folder: Path, run: PaymentRun, status: str) -> Path:
    draft = "-draft" if status == "draft" else ""
    return folder / f"officers-summary-{run.period}-v{run.version}{draft}.xlsx"


def write_statements(deps: Deps, run: PaymentRun) -> list[Path]:
    """The run's workbooks, each written once: partners' statements when the run is payable, then the officers'
    summary always (marked draft while it waits for approval): the summary is written last, so it shows that the
    run's workbooks are all there. Safe to call again. StatementsNotWritten: the folder cannot be written."""
    folder = statements_folder(deps, run)
    try:
        return _write_statements(deps, run, folder)
    except OSError as failed:
        where = failed.filename or folder
        raise StatementsNotWritten(
            f"the payment run for {run.period} (version {run.version}) is recorded, but its statements could not be "
            f"written to {folder} ({failed.strerror or type(failed).__name__}: {where}). Make "
            f"{deps.workspace.statements_dir} a folder the alliance can write (move away any file in the way), then "
            "run the cycle again: the statements are written then"
        ) from failed


def _write_statements(deps: Deps, run: PaymentRun, folder: Path) -> list[Path]:
    contract = deps.contract
    with session_scope(deps.engine) as session:
        built = build_statements(session, contract=contract, run=run)
    title = f"{contract.alliance.name}: payment statement {run.period}, run version {run.version}"
    written = []
    if built.status in ("final", "approved"):
        told = set(built.told)
        for statement in built.statements:
            if statement.partner_id not in told:  # a correction that moved it by less than the threshold
                continue
            path = folder / statement_name(statement.partner_id, run)
            if not path.exists():
                written.append(write_partner_statement(path, title=title, statement=statement, stamp=built.stamp))
    summary = _summary_path(folder, run, built.status)
    if built.status in ("final", "approved", "draft") and not summary.exists():
        written.append(
            write_officer_summary(
                summary,
                title=title,
                statements=built.statements,
                facts=built.facts,
                stamp=built.stamp,
                told=built.told if built.status != "draft" else [],
                debts=built.debts,
            )
        )
    return written


def write_missing_statements(deps: Deps) -> tuple[list[Path], list[str]]:
    """Every run's workbooks not yet written (a cycle whose statements could not be written, an approval that died
    before it wrote them): what was written now, and why any still could not be (one line per run)."""
    with session_scope(deps.engine) as session:
        states = [s for p in repo.periods_with_runs(session) for s in ledger.run_states(session, period=p)]
    written: list[Path] = []
    problems: list[str] = []
    for state in states:
        if (
            state.status == "superseded"
            or _summary_path(statements_folder(deps, state.run), state.run, state.status).exists()
        ):
            continue
        try:
            written += write_statements(deps, state.run)
        except StatementsNotWritten as failed:
            problems.append(str(failed))
    return written, problems


def pay_period(deps: Deps, period: Period, *, statements: bool = True) -> RunResult:
    """The cycle's payment step: post the run for the current inputs (or find it), then (unless ``statements`` is
    false: the cycle writes them after every run) make sure its workbooks exist. Safe to repeat after a crash at any
    point; StatementsNotWritten leaves the run standing."""
    result = run_payments(deps, period)
    bring_period_state_up_to_date(deps, period)
    if statements:
        write_statements(deps, result.run)
    return result
