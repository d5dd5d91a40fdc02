"""The alliance report (open books): a period's or a contract year's figures, graded and with small numbers
hidden, written as a static site per audience (``integrations.report_site``).

What is counted is what was paid: accepted returns, claims withdrawn after spot checks left out. Counts of
participants and claims are hidden under ``report.suppress_below`` (and withheld where a total would give a
hidden one away, ``domain.publication``). Money paid and O/E are organisations' figures, but a partner's outcome
payment over the alliance's price per point is its points exactly, and for a small partner points can narrow
(with equal band weights, pin) a hidden count: so partners' payments are for the alliance by default, and the
public sees the alliance's totals. No participant id is ever read into a figure.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from domain.contract import Contract
from domain.errors import UsageError
from domain.monitors import Alert
from domain.periods import Period, contract_month
from domain.publication import (
    Grade,
    count_grids,
)
from integrations.report_site import ReportDoc, write_report, written_at
from models import checks, ledger, repo
from models.db import session_scope
from models.ledger import RunState
from models.reviews import CountRow
from services.deps import Deps
from services.monitors import monitor_periods
from services.report_figures import (
    CHECK_COLUMNS,
    Gathered,
    alliance_factor,
    alliance_outcomes,
    factor_plot,
    gaming_monitors,
    outcomes_plot,
    partner_outcomes,
    partner_payments,
    partner_volumes,
    payments_plot,
    returns_on_time,
    review_decisions,
    spot_checks_figure,
)
from services.report_performance import funnel_plot, hid_a_count, partner_performance
from services.review import counted_rows, performance_of, year_label, year_periods


@dataclass(frozen=True)
class ReportWritten:
    label: str
    pages: dict[Grade, Path]


def build_report(
    deps: Deps, *, period: Period | None = None, year: int | None = None, progress: Callable[[str], None] | None = None
) -> ReportWritten:
    """Write the report of a period (``period``) or of a contract year to date (``year``) for every audience;
    ``progress`` hears a line after each step (records read, figures built, pages written)."""
    told = progress or (lambda _text: None)
    if (period is None) == (year is None):
        raise UsageError("give either --period YYYY-MM or --year N")
    contract = deps.contract
    with session_scope(deps.engine) as session:
        if period is not None:
            if not _has_books(session, period):
                raise UsageError(f"{period} has no accepted return or payment run yet: nothing to report")
            year_of, _ = contract_month(period, contract.alliance.start)
            books = _books(session, deps, year=year_of, through=period, alert_periods=[period])
            doc = _period_doc(session, deps, books, period)
        else:
            assert year is not None
            books = _books(session, deps, year=year, through=None, alert_periods=None)
            doc = _year_doc(session, deps, books)
        told(
            f"records read: {len(books.periods)} month(s), {len({(r.partner_id, r.period) for r in books.counted})} "
            f"accepted return(s); {len(doc.figures)} figure(s) and {len(doc.plots)} plot(s) built"
        )
    pages = write_report(deps.workspace.out / "report", doc)
    told(f"report {doc.label} written for {len(pages)} audience(s)")
    return ReportWritten(doc.label, pages)


def build_cycle_reports(
    deps: Deps, periods: list[Period], alerts: Mapping[int, list[Alert]] | None = None
) -> list[ReportWritten]:
    """What a cycle publishes: the report of every period it paid, and each one's contract year to date, the
    records read once per year; and again the report of any month with spot-check findings recorded since it
    was built (it was built before officers checked its claims), and its year's. ``alerts``: per contract
    year, ``year_alerts`` already worked out."""
    contract = deps.contract
    root = deps.workspace.out / "report"
    with session_scope(deps.engine) as session:
        found = checks.last_findings(session)
    checked = [Period.parse(p) for p, at in found.items() if _built_before(root, Period.parse(p), at)]
    by_year: dict[int, set[Period]] = {}
    for period in [*periods, *checked]:
        by_year.setdefault(contract_month(period, contract.alliance.start)[0], set()).add(period)
    written = []
    for year, again in sorted(by_year.items()):
        with session_scope(deps.engine) as session:
            known = (alerts or {}).get(year)
            books = _books(session, deps, year=year, through=None, alert_periods=None, alerts=known)
            docs = [_period_doc(session, deps, books, p) for p in sorted(again)] + [_year_doc(session, deps, books)]
        written += [ReportWritten(doc.label, write_report(root, doc)) for doc in docs]
    return written


def _built_before(root: Path, period: Period, finding_at: datetime) -> bool:
    built = written_at(root, str(period))
    return built is None or built <= finding_at


# --- Gathering ---------------------------------------------------------------------------------------


def _gather(session: Session, contract: Contract, periods: list[Period], counted: list[CountRow]) -> Gathered:
    measures = contract.framework.measure_ids
    accepted = {p: {s.partner_id for s in repo.accepted_submissions(session, period=str(p))} for p in periods}
    rows: dict[Period, dict[str, int]] = {
        p: dict.fromkeys(sorted(pid for pid in accepted[p] if pid), 0) for p in periods
    }
    achieved = {p: {m: dict.fromkeys(rows[p], 0) for m in measures} for p in periods}
    for r in counted:
        period = Period.parse(r.period)
        rows[period][r.partner_id] = rows[period].get(r.partner_id, 0) + r.rows
        for m in r.achieved:
            if m in achieved[period]:
                achieved[period][m][r.partner_id] = achieved[period][m].get(r.partner_id, 0) + r.rows
    checked: dict[Period, dict[str, dict[str, int]]] = {p: {k: {} for k, _ in CHECK_COLUMNS} for p in periods}
    draws = checks.draws_in(session, periods=[str(p) for p in periods])
    for c in checks.checked_claims(session, draw_ids=[d.id for d in draws if d.id is not None]):
        table = checked[Period.parse(c.draw.period)]
        state = c.result.result if c.result else "to_check"
        for key in ("drawn", state):
            table[key][c.draw.partner_id] = table[key].get(c.draw.partner_id, 0) + 1
    for period in periods:  # every partner drawn from has every column
        drawn = checked[period]["drawn"]
        for key, _ in CHECK_COLUMNS:
            checked[period][key] = {pid: checked[period][key].get(pid, 0) for pid in drawn}
    return Gathered(rows, achieved, checked)


# --- The two documents ------------------------------------------------------------------------------------


def _runs(session: Session, periods: list[Period]) -> dict[Period, RunState | None]:
    return {p: ledger.last_payable(ledger.run_states(session, period=str(p))) for p in periods}


@dataclass(frozen=True)
class Books:
    """A contract year to date as the records have it, read once for its period and year reports."""

    year: int
    periods: list[Period]  # from the year's first month to the last reported (or asked for)
    counted: list[CountRow]  # the accepted rows as counted, withdrawn claims left out
    gathered: Gathered
    runs: dict[Period, RunState | None]  # each month's last payable run
    alerts: list[Alert]


def reported_periods(session: Session, *, contract: Contract, year: int, through: Period | None = None) -> list[Period]:
    """The year's months to ``through``, else to its last month with an accepted return or a payment run."""
    every = year_periods(contract, year)
    if through is None:
        reported = [p for p in every if _has_books(session, p)]
        if not reported:
            raise UsageError(f"{year_label(contract, year)} has no accepted return yet: nothing to report")
        through = reported[-1]
    return every[: every.index(through) + 1]


def _has_books(session: Session, period: Period) -> bool:
    """Whether the month has anything to report: an accepted return or a payment run."""
    return bool(repo.accepted_submissions(session, period=str(period)) or repo.latest_run(session, period=str(period)))


def year_alerts(session: Session, *, contract: Contract, year: int) -> list[Alert]:
    """The gaming monitors' alerts about every month of the year to date, as its year report shows them."""
    return monitor_periods(session, contract=contract, periods=reported_periods(session, contract=contract, year=year))


def _books(
    session: Session,
    deps: Deps,
    *,
    year: int,
    through: Period | None,
    alert_periods: list[Period] | None,
    alerts: list[Alert] | None = None,
) -> Books:
    """The year to ``through`` (None: to its last month with an accepted return or a payment run)."""
    contract = deps.contract
    periods = reported_periods(session, contract=contract, year=year, through=through)
    counted = counted_rows(session, periods=periods)
    if alerts is None:
        alerts = monitor_periods(session, contract=contract, periods=alert_periods or periods)
    return Books(year, periods, counted, _gather(session, contract, periods, counted), _runs(session, periods), alerts)


def _documents(
    session: Session,
    deps: Deps,
    books: Books,
    *,
    periods: list[Period],
    label: str,
    title: str,
    subtitle: str,
    is_year: bool,
) -> ReportDoc:
    contract = deps.contract
    threshold = contract.report.suppress_below
    gathered = books.gathered
    volumes, outcomes = count_grids(
        {p: gathered.rows[p] for p in periods}, {p: gathered.achieved[p] for p in periods}, threshold
    )
    to_date = [p for p in books.periods if p <= periods[-1]]  # O/E and the factor: the year so far
    counted = [r for r in books.counted if Period.parse(r.period) <= periods[-1]]
    performance = performance_of(contract, counted)
    perf_label = f"{year_label(contract, books.year)}, to {periods[-1]}"
    rough_partners = hid_a_count(contract, gathered, to_date)
    factor, factor_rows = alliance_factor(contract, {p: books.runs[p] for p in to_date})
    payments = partner_payments(session, contract, {p: books.runs[p] for p in periods}, year=is_year)
    alerts = [a for a in books.alerts if a.period in periods]
    figures = [
        alliance_outcomes(contract, outcomes, periods, year=is_year),
        factor,
        partner_volumes(contract, volumes, periods, year=is_year),
        partner_outcomes(contract, outcomes, periods, year=is_year),
        partner_performance(contract, performance, perf_label, rough_partners),
        payments,
        returns_on_time(session, deps, periods, year=is_year),
        review_decisions(session, contract, books.year),
        spot_checks_figure(contract, gathered, periods, year=is_year),
        gaming_monitors(contract, alerts, year=is_year),
    ]
    plots = {
        "outcomes": outcomes_plot(contract, outcomes, periods, threshold),
        "factor": factor_plot(contract, factor_rows),
        "funnel": funnel_plot(contract, performance, perf_label, rough_partners),
        "payments": payments_plot(payments),
    }
    return ReportDoc(
        label=label,
        title=title,
        subtitle=subtitle,
        generated_at=deps.clock(),
        threshold=threshold,
        figures=figures,
        plots=plots,
    )


def _period_doc(session: Session, deps: Deps, books: Books, period: Period) -> ReportDoc:
    contract = deps.contract
    return _documents(
        session,
        deps,
        books,
        periods=[period],
        label=str(period),
        title=f"{contract.alliance.name}: report for {period}",
        subtitle=f"Commissioned by {contract.alliance.commissioner}; month {period} of "
        f"{year_label(contract, books.year)}",
        is_year=False,
    )


def _year_doc(session: Session, deps: Deps, books: Books) -> ReportDoc:
    contract = deps.contract
    return _documents(
        session,
        deps,
        books,
        periods=books.periods,
        label=f"year-{books.year}",
        title=f"{contract.alliance.name}: {year_label(contract, books.year)}",
        subtitle=f"Commissioned by {contract.alliance.commissioner}; the year to {books.periods[-1]}",
        is_year=True,
    )
