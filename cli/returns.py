"""Returns: templates, the partner's self-check, the findings catalogue, the suite, the monthly cycle, reminders."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import (
    PeriodOpt,
    WorkspaceOpt,
    allow,
    app,
    cycle_app,
    deps_for,
    echo,
    workspace_at,
)
from cli.progress import Steps, VerboseOpt, quiet_prefect

if TYPE_CHECKING:
    from domain.return_status import Rates
    from services.status import Cell, Grid


@app.command()
def templates(period: PeriodOpt, workspace: WorkspaceOpt = Path(".")) -> None:
    """Write this period's return template for every partner."""
    allow("templates", workspace)
    from domain.periods import Period, contract_month
    from integrations.spreadsheets.templates import write_templates

    ws = workspace_at(workspace)
    contract = ws.load_contract()
    target = Period.parse(period)
    contract_month(target, contract.alliance.start)
    for path in write_templates(contract, target, ws.templates_dir):
        echo(str(path))


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Return workbooks (.xlsx) to check.")],
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file, as a list.")] = False,
    feedback: Annotated[
        Path | None, typer.Option("--feedback", help="Also write each file's feedback workbook into this folder.")
    ] = None,
) -> None:
    """Check returns offline, exactly as the cycle reads them (exit 0 all accepted, 1 any rejected)."""
    principal = allow("validate", workspace)
    from domain.errors import UsageError
    from domain.findings import CYCLE_ONLY
    from domain.text import printable
    from integrations.inbox import read_file
    from services.self_check import self_check, self_check_feedback

    contract = workspace_at(workspace).load_contract()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    if feedback is not None and feedback.exists() and not feedback.is_dir():
        raise UsageError(f"--feedback {feedback} is a file, not a folder")
    # Every file is checked before any is shown: a partner's own only (another partner's refuses them all).
    read = [(file, read_file(file)) for file in files]
    checked = [(file, inbox, self_check(inbox, contract, principal)) for file, inbox in read]
    results = []
    for file, inbox, check in checked:
        findings = check.findings
        written = self_check_feedback(check, inbox, feedback) if feedback is not None else None
        results.append(
            {
                "file": str(file),
                "status": "accepted" if check.accepted else "rejected",
                "partner": check.partner_id,
                "period": check.period,
                "findings": [f.as_dict() for f in findings],
                "feedback": str(written) if written else None,
                "checked_only_in_the_cycle": list(CYCLE_ONLY),
            }
        )
        if not as_json:
            # The file's name, the sheet's and the values findings quote are the partner's: shown on one line each.
            echo(
                f"{printable(file.name)}: {results[-1]['status']} (partner {printable(results[-1]['partner'])}, "
                f"period {printable(results[-1]['period'])})"
            )
            for f in findings:
                where = printable(f"{f.sheet}!{f.cell}" if f.cell else (f.sheet or "file"))
                echo(f"  {f.severity.value:7} {f.code:24} {where:18} {printable(f.message)}")
                echo(f"  {'':7} {'':24} {'':18} How to fix: {printable(f.fix)}")
            if written:
                echo(f"  feedback workbook: {printable(written)}")
    only_cycle = "; ".join(CYCLE_ONLY)
    if as_json:
        echo(json.dumps(results, indent=2))
    else:
        echo(f"Checked offline. Only the cycle checks, when the return is sent: {only_cycle}.")
    raise typer.Exit(0 if all(r["status"] == "accepted" for r in results) else 1)


@app.command()
def findings() -> None:
    """Print the findings catalogue as Markdown (the source of docs/findings.md)."""
    allow("findings")
    from domain.findings_guide import catalogue_markdown

    echo(catalogue_markdown(), nl=False)


@app.command()
def expectations(
    workspace: WorkspaceOpt = Path("."),
    check: Annotated[
        Path | None, typer.Option(help="Compare this suite JSON with the framework's instead of printing it.")
    ] = None,
) -> None:
    """Print the Great Expectations suite the framework generates (or check a kept copy against it)."""
    allow("expectations", workspace)
    from domain.errors import UsageError
    from expectations.quality import suite_text

    generated = suite_text(workspace_at(workspace).load_contract().framework)
    if check is None:
        echo(generated, nl=False)
        return
    if not check.is_file():
        raise UsageError(f"no such file: {check}")
    if check.read_text(encoding="utf-8") != generated:
        echo(f"{check} differs from the suite this framework generates; regenerate it", err=True)
        raise typer.Exit(1)
    echo(f"{check} matches the framework")


@cycle_app.command("run")
def cycle_run(
    period: PeriodOpt,
    workspace: WorkspaceOpt = Path("."),
    shares: Annotated[
        int,
        typer.Option(
            min=1,
            help="Deal the returns into this many `intake` deployment runs, for workers on other machines "
            "(needs PREFECT_API_URL and the deployments: README, National scale).",
        ),
    ] = 1,
    verbose: VerboseOpt = False,
) -> None:
    """Run the monthly cycle for a period (collect, validate, feed back, pay, notify); its steps are shown on
    standard error as they end."""
    allow("cycle run", workspace)
    quiet_prefect(verbose)
    from domain.periods import Period, payable_period
    from flows.monthly_cycle import monthly_cycle

    deps = deps_for(workspace)
    payable_period(Period.parse(period), deps.contract.alliance.start, deps.clock())
    steps = Steps()
    steps.line(f"monthly cycle for {period} ...")
    with steps.following_prefect():
        report = monthly_cycle(period=period, workspace=str(workspace), shares=shares, deps=deps)
    steps.line(f"monthly cycle for {period}: done")
    for row in report.status:
        echo(f"{row['partner']:24} {row['status']:9} {row['timeliness']:11} versions {row['versions']}")
    for result in report.runs:
        state = "new" if result.created else "unchanged"
        echo(f"payment run {result.run.period} v{result.run.version} ({state})")
    if report.ignored:
        shown = ", ".join(repr(name) for name in report.ignored[:5]) + (", ..." if len(report.ignored) > 5 else "")
        echo(f"ignored in the inbox (dot files, '~$' lock files): {len(report.ignored)}: {shown}")
    if report.statements_unwritten:  # the runs stand; written by the next cycle once the folder is put right
        from services.statements import StatementsNotWritten

        raise StatementsNotWritten("; ".join(report.statements_unwritten))


@app.command()
def reminders(workspace: WorkspaceOpt = Path(".")) -> None:
    """Queue today's reminders and overdue notices, and this month's templates not yet sent (a second run the same
    day queues nothing)."""
    allow("reminders", workspace)
    from services.reminders import send_reminders
    from services.template_issue import send_templates

    deps = deps_for(workspace)
    report = send_reminders(deps)
    echo(f"{report.day.isoformat()}: looked at {', '.join(report.periods) or 'no period'}")
    for item in report.queued:
        state = "queued" if item.new else "already queued"
        echo(f"{state:14} {item.kind:24} {item.channel:22} {item.period or ''}")
    if not report.queued:
        echo(f"no reminders due today: {report.rule}")
    for period, missing in report.missing:
        echo(f"{period} is past its due day; without an accepted return:")
        for partner_id, outstanding in missing:
            echo(f"  {partner_id:24} {outstanding}")
    for partner_id, new in send_templates(deps):
        echo(f"{'queued' if new else 'already queued':14} {'template_issued':24} {partner_id}")


@app.command()
def status(
    workspace: WorkspaceOpt = Path("."),
    period: Annotated[str | None, typer.Option("--period", help="One month, YYYY-MM.")] = None,
    year: Annotated[int | None, typer.Option("--year", help="A contract year (default: this one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the grid as JSON.")] = False,
) -> None:
    """Who has returned what: each partner's return per month, with reporting and on-time rates."""
    principal = allow("status", workspace)
    from domain.errors import UsageError
    from domain.periods import Period
    from services.status import current_year, period_grid, returns_grid

    if period is not None and year is not None:
        raise UsageError("give --period or --year, not both")
    deps = deps_for(workspace)
    if period is not None:
        grid = period_grid(deps, principal, period=Period.parse(period))
    else:
        grid = returns_grid(deps, principal, year=year if year is not None else current_year(deps))
    if as_json:
        echo(json.dumps(grid.as_dict(), indent=2))
        return
    for line in _grid_lines(grid):
        echo(line)


def _cell_words(cell: "Cell") -> str:
    words = {"not yet due": "-", "sent back": f"back({cell.errors})"}.get(cell.standing.value, cell.standing.value)
    return words + ("*" if cell.late and cell.standing.value in ("accepted", "locked", "submitted") else "")


def _rate(rates: "Rates") -> str:
    if rates.expected == 0:
        return "nothing due yet"
    return (
        f"{rates.returned}/{rates.expected} returned ({rates.reporting_rate:.0%}), "
        f"{rates.on_time} on time ({rates.on_time_rate:.0%})"
    )


def _grid_lines(grid: "Grid") -> list[str]:
    width = max(len(p.id) for p in grid.partners) + 2
    lines = [f"Contract year {grid.year}: {_rate(grid.overall)}", ""]
    lines.append(" " * width + "".join(f"{str(p):<11}" for p in grid.periods) + "returned")
    for partner in grid.partners:
        cells = "".join(f"{_cell_words(grid.cells[(partner.id, p)]):<11}" for p in grid.periods)
        lines.append(f"{partner.id:<{width}}{cells}{_rate(grid.by_partner[partner.id])}")
    lines.append("")
    for period in grid.periods:
        lines.append(f"{period}: {_rate(grid.by_month[period])}")
    lines.append("")
    lines.append("* late; back(n): sent back with n errors; -: not yet due; locked: paid by an approved run")
    return lines
