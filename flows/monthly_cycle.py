"""Flow `monthly-cycle`: collect, validate, feed back, accept, pay, notify. Orchestration only."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run as current_run
from prefect.task_runners import ThreadPoolTaskRunner

from domain.contract import Contract
from domain.monitors import Alert
from domain.periods import Period, contract_month, payable_period
from flows.delivery import deliver
from flows.intake import PARTNERS_AT_ONCE, collect, process_in_shares
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from services import messages
from services.claims import report_duplicate_claims
from services.deps import Deps, production_deps
from services.intake import Outcome
from services.notifications import DeliveryReport
from services.payments import (
    RunResult,
    periods_with_new_returns,
    periods_with_new_withdrawals,
    periods_with_outcome_due,
)
from services.report import build_cycle_reports, year_alerts
from services.schedule import period_to_run
from services.spot_checks import DrawMade, draw_spot_checks, periods_to_draw
from services.statements import pay_period, write_missing_statements
from services.status import count_statuses, period_status


@dataclass
class CycleReport:
    period: str
    outcomes: list[Outcome] = field(default_factory=list)
    runs: list[RunResult] = field(default_factory=list)
    status: list[dict[str, Any]] = field(default_factory=list)
    # period -> participant id -> partners: this period and every earlier one a return arrived for now
    duplicate_claims: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    spot_checks: list[DrawMade] = field(default_factory=list)  # draws made this cycle
    alerts: list[Alert] = field(default_factory=list)  # gaming monitors for the period, in the officers' summary
    published: list[str] = field(default_factory=list)  # the report's pages, one per audience
    delivery: DeliveryReport | None = None
    ignored: list[str] = field(default_factory=list)  # inbox entries passed over on purpose (dot files, '~$' locks)
    statements_unwritten: list[str] = field(default_factory=list)  # runs whose workbooks could not be written: why
    period_state: str = "open"  # open | due | closed (DESIGN.md section 7), after this cycle


@task(cache_policy=NONE)
def prepare(deps: Deps) -> Contract:
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    return deps.contract


@task(cache_policy=NONE, task_run_name="cross-check {period}")
def cross_check(deps: Deps, period: Period) -> dict[str, list[str]]:
    return report_duplicate_claims(deps, period)


@task(cache_policy=NONE, task_run_name="pay {period}")
def pay(deps: Deps, period: Period) -> RunResult:
    return pay_period(deps, period, statements=False)  # written below, for every run that lacks them


@task(cache_policy=NONE)
def write_statements(deps: Deps) -> list[str]:
    """Every run's statements not yet written (this cycle's, and any an earlier cycle could not write); why any
    still cannot be."""
    _, problems = write_missing_statements(deps)
    return problems


@task(cache_policy=NONE, task_run_name="spot checks {period}")
def spot_checks(deps: Deps, period: Period) -> list[DrawMade]:
    return draw_spot_checks(deps, period)


@task(cache_policy=NONE, task_run_name="gaming monitors {period}")
def monitors(deps: Deps, period: Period) -> list[Alert]:
    """The alerts about every month of the period's contract year to date (the year's report shows them all)."""
    year, _ = contract_month(period, deps.contract.alliance.start)
    with session_scope(deps.engine) as session:
        return year_alerts(session, contract=deps.contract, year=year)


@task(cache_policy=NONE, task_run_name="report {period}")
def publish(deps: Deps, period: Period, paid: list[Period], alerts: list[Alert]) -> list[str]:
    """The report of every period paid, and of their contract years to date, for every audience (out/report/)."""
    year, _ = contract_month(period, deps.contract.alliance.start)
    written = build_cycle_reports(deps, paid, {year: alerts})
    pages = [str(path) for result in written for path in result.pages.values()]
    create_markdown_artifact(
        key=f"alliance-report-{period}",
        markdown="\n".join(
            f"- {result.label} ({audience.value}): `{page}`"
            for result in written
            for audience, page in result.pages.items()
        ),
        description=f"The alliance report for {period}: one page per audience (publish the public one)",
    )
    return pages


@task(cache_policy=NONE)
def notify_officers(
    deps: Deps, period: Period, status: list[dict[str, Any]], run: RunResult, alerts: list[Alert]
) -> None:
    with session_scope(deps.engine) as session:
        repo.enqueue(
            session,
            dedup_key=f"cycle-summary:{period}:{run.run.id}",
            channel=deps.contract.alliance.officers_channel,
            kind="cycle_summary",
            at=deps.clock(),
            text=messages.cycle_summary(
                period=str(period),
                counts=count_statuses(status),
                payable_pence=run.run.payable_pence,
                run_version=run.run.version,
                alerts=[(deps.contract.partner(a.partner_id), a) for a in alerts],
            ),
        )


def periods_to_pay(
    period: Period, outcomes: list[Outcome], paid_before: list[str], recoveries: list[Period] | None = None
) -> list[Period]:
    """Every earlier period that already had a run and received a return now, and every paid period with claims
    withdrawn since its last run (spot checks: the recovery); then this period, last."""
    corrections = {
        Period.parse(o.period) for o in outcomes if o.period and o.status == "accepted" and o.period in paid_before
    }
    earlier = {p for p in corrections if p < period} | set(recoveries or [])
    return [*sorted(earlier - {period}), period]


@flow(
    name="monthly-cycle",
    validate_parameters=False,
    task_runner=ThreadPoolTaskRunner(max_workers=PARTNERS_AT_ONCE),  # type: ignore[arg-type]
)
def monthly_cycle(
    period: str | None = None, workspace: str | None = None, shares: int = 1, deps: Deps | None = None
) -> CycleReport:
    """One period's cycle; a scheduled run (no period) takes the latest period whose returns are due. With
    ``shares`` above 1 the partners' returns are dealt into that many runs of the `intake` deployment, for
    workers on several machines; payment waits for every share."""
    deps = deps or production_deps(Workspace.for_run(workspace))
    logger = get_run_logger()
    target = Period.parse(period) if period else period_to_run(deps, scheduled_for=current_run.scheduled_start_time)
    if target is None:  # a scheduled run before the contract's first returns are due
        logger.info("No period's returns are due yet (the first is %s): nothing to run", deps.contract.alliance.start)
        return CycleReport(period="")
    payable_period(target, deps.contract.alliance.start, deps.clock())  # not outside the contract, not still to come
    report = CycleReport(period=str(target))

    prepare(deps)
    files = collect(deps)
    logger.info("%d new file(s) in the inbox", len(files))
    report.ignored = list(getattr(deps.inbox, "ignored", []))
    if report.ignored:  # never silently: officers see what the inbox held that no one reads
        shown = ", ".join(repr(name) for name in report.ignored[:10])
        logger.info("%d entr(ies) ignored (dot files, '~$' lock files): %s", len(report.ignored), shown)
    report.outcomes = process_in_shares(deps, files, shares)
    if report.outcomes:
        logger.info(
            "%d file(s) read and checked: %s", len(report.outcomes), _counted(o.status for o in report.outcomes)
        )
    checked = sorted(
        {target} | {Period.parse(o.period) for o in report.outcomes if o.period and o.period < str(target)}
    )
    report.duplicate_claims = {str(p): claims for p in checked if (claims := cross_check(deps, p))}

    with session_scope(deps.engine) as session:
        paid_before = repo.periods_with_runs(session)
        # Claims withdrawn since a month was paid, and returns filed outside the cycle (the portal) since then.
        recoveries = periods_with_new_withdrawals(session, contract=deps.contract)
        recoveries += [p for p in periods_with_new_returns(session) if p < target and p not in recoveries]
        # Months paid core only whose outcome pool has become due: every return in, or the due date passed.
        due = periods_with_outcome_due(session, contract=deps.contract, now=deps.clock())
        recoveries += [p for p in due if p < target and p not in recoveries]
    report.runs = [pay(deps, p) for p in periods_to_pay(target, report.outcomes, paid_before, recoveries)]
    for made in report.runs:
        logger.info(
            "payment run %s v%d (%s)", made.run.period, made.run.version, "new" if made.created else "unchanged"
        )
    report.statements_unwritten = write_statements(deps)
    for problem in report.statements_unwritten:
        logger.error("%s", problem)
    report.spot_checks = [d for p in periods_to_draw(deps, target, checked) for d in spot_checks(deps, p)]

    if report.spot_checks:
        logger.info("%d claim(s) drawn for spot checks", sum(len(d.sample) for d in report.spot_checks))

    with session_scope(deps.engine) as session:
        report.status = period_status(session, contract=deps.contract, period=target, now=deps.clock())
        report.period_state = repo.period_state_of(session, period=str(target)) or "open"
    year_to_date = monitors(deps, target)
    report.alerts = [a for a in year_to_date if a.period == target]
    notify_officers(deps, target, report.status, report.runs[-1], report.alerts)
    create_table_artifact(
        key=f"cycle-status-{target}",
        table=report.status,
        description=f"Returns for {target} (period {report.period_state}): per-partner status after this cycle",
    )
    report.delivery = deliver(deps)  # first: a report that fails to be written must not hold up the statements
    report.published = publish(deps, target, [Period.parse(r.run.period) for r in report.runs], year_to_date)
    logger.info("returns for %s: %s", target, _counted(row["status"] for row in report.status))
    return report  # statements_unwritten: the runs stand, the officer must act (the CLI exits 2 saying where)


def _counted(statuses: Iterable[str]) -> str:
    """`accepted 3, rejected 1`, in the order first met."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{status} {n}" for status, n in counts.items())
