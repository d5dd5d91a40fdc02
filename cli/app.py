"""The `alliance` command: thin; every error a user can act on is one line and an exit code."""

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from domain.errors import AllianceError

if TYPE_CHECKING:
    from domain.access import Principal
    from domain.spot_checks import Recovery

# Before anything imports prefect: no analytics, no telemetry.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# The embedded Prefect server starts in 6-19 s here, longer on a busy machine: do not give up at 20 s.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    help="Administration of an alliance contract.",
)
cycle_app = typer.Typer(no_args_is_help=True, help="Run the monthly cycle.")
payments_app = typer.Typer(no_args_is_help=True, help="Payment runs.")
db_app = typer.Typer(no_args_is_help=True, help="The application database.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit log.")
period_app = typer.Typer(no_args_is_help=True, help="Locking and unlocking partners' returns for a period.")
notifications_app = typer.Typer(help="Slack notifications: the outbox, sending, retrying.")
app.add_typer(cycle_app, name="cycle")
app.add_typer(payments_app, name="payments")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(period_app, name="period")
app.add_typer(notifications_app, name="notifications")
review_app = typer.Typer(no_args_is_help=True, help="The annual review of the worst-performing tenth.")
app.add_typer(review_app, name="review")
checks_app = typer.Typer(no_args_is_help=True, help="Spot checks of claimed outcomes against evidence.")
app.add_typer(checks_app, name="checks")
YearOpt = Annotated[
    int, typer.Option("--year", help="Contract year: 1 is the first twelve months from contract_start.")
]
PartnerOpt = Annotated[str, typer.Option("--partner", help="The partner's id.")]

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", envvar="ALLIANCE_WORKSPACE", help="Directory holding alliance.yaml.")
]
PeriodOpt = Annotated[str, typer.Option("--period", help="Month, YYYY-MM.")]


def _workspace(path: Path) -> Any:
    from integrations.workspace import Workspace

    return Workspace.at(path)


def _deps(path: Path) -> Any:
    from services.deps import production_deps

    return production_deps(_workspace(path))


_CALLER: dict[str, str | None] = {"as": None}  # set by the callback below on every invocation


@app.callback()
def _options(
    as_: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="NAME",
            help="Who you are: a Slack user id or a name under roles in alliance.yaml (default: ALLIANCE_USER).",
        ),
    ] = None,
) -> None:
    _CALLER["as"] = as_


def _allow(action: str, workspace: Path | None = None) -> "Principal":
    """The caller, once the workspace contract's roles allow ``action`` (domain.access.PERMISSIONS); without
    ``roles:`` in alliance.yaml everything is allowed. Refused: AccessDenied, one line, exit 4."""
    from domain.access import authorise, resolve
    from integrations.workspace import Settings

    roles = _workspace(workspace).load_contract().roles if workspace is not None else None
    principal = resolve(roles, _CALLER["as"] or Settings().user)
    authorise(principal, action)
    return principal


@app.command()
def templates(period: PeriodOpt, workspace: WorkspaceOpt = Path(".")) -> None:
    """Write this period's return template for every partner."""
    _allow("templates", workspace)
    from domain.periods import Period, contract_month
    from integrations.spreadsheets.templates import write_templates

    ws = _workspace(workspace)
    contract = ws.load_contract()
    target = Period.parse(period)
    contract_month(target, contract.alliance.start)
    for path in write_templates(contract, target, ws.templates_dir):
        typer.echo(str(path))


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Return workbooks (.xlsx) to check.")],
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file, as a list.")] = False,
) -> None:
    """Check returns offline, exactly as the cycle reads them (exit 0 all accepted, 1 any rejected)."""
    principal = _allow("validate", workspace)
    from domain.errors import UsageError
    from integrations.inbox import read_file
    from services.intake import self_check

    contract = _workspace(workspace).load_contract()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    # Every file is checked before any is shown: a partner's own only (another partner's refuses them all).
    checked = [(file, self_check(read_file(file), contract, principal)) for file in files]
    results = []
    for file, check in checked:
        findings = check.findings
        results.append(
            {
                "file": str(file),
                "status": "accepted" if check.accepted else "rejected",
                "partner": check.partner_id,
                "period": check.period,
                "findings": [{k: v for k, v in f.as_dict().items() if k != "fix"} for f in findings],
            }
        )
        if not as_json:
            typer.echo(
                f"{file.name}: {results[-1]['status']} (partner {results[-1]['partner']}, "
                f"period {results[-1]['period']})"
            )
            for f in findings:
                where = f"{f.sheet}!{f.cell}" if f.cell else (f.sheet or "file")
                typer.echo(f"  {f.severity.value:7} {f.code:24} {where:18} {f.message}")
    if as_json:
        typer.echo(json.dumps(results, indent=2))
    raise typer.Exit(0 if all(r["status"] == "accepted" for r in results) else 1)


@app.command()
def findings() -> None:
    """Print the findings catalogue as Markdown (the source of docs/findings.md)."""
    _allow("findings")
    from domain.findings import catalogue_markdown

    typer.echo(catalogue_markdown(), nl=False)


@app.command()
def expectations(
    workspace: WorkspaceOpt = Path("."),
    check: Annotated[
        Path | None, typer.Option(help="Compare this suite JSON with the framework's instead of printing it.")
    ] = None,
) -> None:
    """Print the Great Expectations suite the framework generates (or check a kept copy against it)."""
    _allow("expectations", workspace)
    from domain.errors import UsageError
    from expectations.quality import suite_text

    generated = suite_text(_workspace(workspace).load_contract().framework)
    if check is None:
        typer.echo(generated, nl=False)
        return
    if not check.is_file():
        raise UsageError(f"no such file: {check}")
    if check.read_text(encoding="utf-8") != generated:
        typer.echo(f"{check} differs from the suite this framework generates; regenerate it", err=True)
        raise typer.Exit(1)
    typer.echo(f"{check} matches the framework")


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
) -> None:
    """Run the monthly cycle for a period (collect, validate, feed back, pay, notify)."""
    _allow("cycle run", workspace)
    from domain.periods import Period, contract_month
    from flows.monthly_cycle import monthly_cycle

    deps = _deps(workspace)
    contract_month(Period.parse(period), deps.contract.alliance.start)
    report = monthly_cycle(period=period, workspace=str(workspace), shares=shares, deps=deps)
    for row in report.status:
        typer.echo(f"{row['partner']:24} {row['status']:9} {row['timeliness']:11} versions {row['versions']}")
    for result in report.runs:
        state = "new" if result.created else "unchanged"
        typer.echo(f"payment run {result.run.period} v{result.run.version} ({state})")


@payments_app.command("show")
def payments_show(
    period: PeriodOpt,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The latest payment run for a period, per partner (a partner: its own lines and the alliance's figures)."""
    principal = _allow("payments show", workspace)
    from decimal import Decimal

    from domain.money import format_pounds
    from domain.periods import Period
    from models.db import session_scope
    from services.payments import payment_report

    deps = _deps(workspace)
    with session_scope(deps.engine) as session:
        report = payment_report(session, contract=deps.contract, period=Period.parse(period))
    report["partners"] = [p for p in report["partners"] if principal.sees(p["partner"])]
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(
        f"{report['period']} (period {report['period_state'] or 'open'}) "
        f"run v{report['version']} ({report['status']}): "
        f"alliance factor {Decimal(report['alliance_factor']):.4f}, "
        f"pool {format_pounds(report['pool_pence'])}, payable {format_pounds(report['payable_pence'])}"
    )
    for p in report["partners"]:
        typer.echo(
            f"  {p['partner']:24} core {format_pounds(p['core_pence']):>12} "
            f"outcome {format_pounds(p['outcome_pence']):>11} "
            f"adjustment {format_pounds(p['adjustment_pence']):>12} total {format_pounds(p['total_pence']):>12}"
        )


@payments_app.command("approve")
def payments_approve(
    period: PeriodOpt,
    by: Annotated[
        str | None, typer.Option("--by", help="The approving officer's name (kept in the audit log); default: --as.")
    ] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Approve the period's latest draft run: statements are issued and the returns it paid are locked."""
    from domain.access import recorded_name

    by = recorded_name(_allow("payments approve", workspace), by)
    from domain.periods import Period
    from services.payments import approve_run
    from services.statements import write_statements

    deps = _deps(workspace)
    result = approve_run(deps, Period.parse(period), by=by or "")
    write_statements(deps, result.run)  # also when approved already: the first attempt may have died before it
    if not result.new:
        typer.echo(f"{period} run v{result.run.version} was already approved by {result.approved_by}")
        return
    typer.echo(f"{period} run v{result.run.version} approved by {result.approved_by}")
    typer.echo(f"locked returns: {', '.join(result.locked) or 'none (all were locked already)'}")


@payments_app.command("export")
def payments_export(
    period: PeriodOpt,
    workspace: WorkspaceOpt = Path("."),
    csv_format: Annotated[bool, typer.Option("--csv", help="CSV for the finance system (the only format).")] = True,
    version: Annotated[int | None, typer.Option(help="A payable run version (default: the last one).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of standard output.")] = None,
) -> None:
    """What a payable run pays each partner, as CSV (a correcting version holds only the difference)."""
    _allow("payments export", workspace)
    from domain.periods import Period
    from models.db import session_scope
    from services.finance_export import export_csv

    deps = _deps(workspace)
    with session_scope(deps.engine) as session:
        text, note = export_csv(session, contract=deps.contract, period=Period.parse(period), version=version)
    if note:
        typer.echo(f"note: {note}", err=True)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")


@period_app.command("unlock")
def period_unlock(
    period: PeriodOpt,
    partner: Annotated[str, typer.Option("--partner", help="The partner id whose return is re-opened.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log and told to the partner).")],
    workspace: WorkspaceOpt = Path("."),
    by: Annotated[str | None, typer.Option("--by", help="The officer unlocking it (default: your login).")] = None,
) -> None:
    """Re-open one partner's locked return for a period, so that a corrected version can be accepted."""
    import getpass

    from domain.access import recorded_name
    from domain.periods import Period
    from services.payments import unlock_return

    deps = _deps(workspace)
    by = recorded_name(_allow("period unlock", workspace), by) or getpass.getuser()
    unlock_return(deps, Period.parse(period), partner_id=partner, reason=reason, by=by)
    typer.echo(f"{partner}'s return for {period} is unlocked; a corrected return will be paid as a correction")


@notifications_app.callback(invoke_without_command=True)
def notifications(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path("."),
    status: Annotated[str | None, typer.Option(help="pending, sent or failed")] = None,
) -> None:
    """The outbox: every message, whether it reached Slack, and why not yet."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = workspace  # `alliance notifications -w DIR send` means DIR too
        return
    principal = _allow("notifications", workspace)
    if status not in (None, "pending", "sent", "failed"):
        from domain.errors import UsageError

        raise UsageError(f"--status must be pending, sent or failed, not {status!r}")
    from models import repo
    from models.db import session_scope

    deps = _deps(workspace)
    with session_scope(deps.engine) as session:
        # A partner sees the messages to its own channel only (routing puts only its own in them).
        rows = [n for n in repo.notifications(session, status=status) if principal.sees(n.partner_id or "")]
        for n in rows:
            first_line = n.text.splitlines()[0] if n.text else ""
            state = n.status if n.status != "pending" or not n.attempts else f"retry {n.attempts}"
            typer.echo(f"{n.id:5} {state:8} {n.channel:22} {n.kind:22} {first_line}")
            if n.last_error and n.status != "sent":
                when = f", next try {n.next_attempt_at:%Y-%m-%d %H:%M} UTC" if n.next_attempt_at else ""
                typer.echo(f"{'':14} last error: {n.last_error}{when}")
    if not rows:
        typer.echo("no notifications")


def _group_workspace(ctx: typer.Context, workspace: Path) -> Path:
    """The subcommand's --workspace, else one given before the subcommand."""
    return workspace if workspace != Path(".") else (ctx.obj or workspace)


@notifications_app.command("send")
def notifications_send(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path("."),
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most this many.")] = None,
) -> None:
    """Deliver what is due to Slack (SLACK_BOT_TOKEN); failures wait for a later send (exit 1 if any failed)."""
    from domain.errors import UsageError
    from services.notifications import deliver_notifications

    _allow("notifications send", _group_workspace(ctx, workspace))
    deps = _deps(_group_workspace(ctx, workspace))
    if deps.notifier is None:
        raise UsageError("SLACK_BOT_TOKEN is not set: notifications stay in the outbox (see `alliance notifications`)")
    report = deliver_notifications(deps, limit=limit)
    typer.echo(report.summary())
    for notification_id, error in report.retrying + report.failed:
        typer.echo(f"{notification_id:5} {error}")
    if report.failed:
        raise typer.Exit(1)


@notifications_app.command("retry")
def notifications_retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Notification ids; none: every failed one.")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Queue failed notifications again (after fixing a channel or the token); the next send delivers them."""
    from models import repo
    from models.db import session_scope

    _allow("notifications retry", _group_workspace(ctx, workspace))
    deps = _deps(_group_workspace(ctx, workspace))
    with session_scope(deps.engine) as session:
        requeued = repo.requeue_failed(session, notification_ids=ids or None)
    typer.echo(f"queued again: {', '.join(map(str, requeued)) or 'nothing (no failed notification)'}")


@app.command()
def reminders(workspace: WorkspaceOpt = Path(".")) -> None:
    """Queue today's reminders and overdue notices (a second run the same day queues nothing)."""
    _allow("reminders", workspace)
    from services.reminders import send_reminders

    report = send_reminders(_deps(workspace))
    typer.echo(f"{report.day.isoformat()}: looked at {', '.join(report.periods) or 'no period'}")
    for item in report.queued:
        state = "queued" if item.new else "already queued"
        typer.echo(f"{state:14} {item.kind:24} {item.channel:22} {item.period or ''}")
    if not report.queued:
        typer.echo("no reminders due today")


@db_app.command("upgrade")
def db_upgrade(workspace: WorkspaceOpt = Path(".")) -> None:
    """Apply the database migrations (also done automatically on first use)."""
    _allow("db upgrade", workspace)
    from models.db import make_engine, upgrade

    ws = _workspace(workspace)
    ws.load_contract()
    upgrade(make_engine(ws.database_url))
    typer.echo("database is at the newest schema")


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOpt = Path(".")) -> None:
    """Check that no audit entry was edited or removed."""
    _allow("audit verify", workspace)
    from models.audit import verify_chain
    from models.db import session_scope

    deps = _deps(workspace)
    with session_scope(deps.engine) as session:
        check = verify_chain(session)
    if not check.ok:
        typer.echo(
            f"audit log broken at entry {check.first_bad_id} ({check.entries} checked): {check.problem}", err=True
        )
        raise typer.Exit(1)
    # The head hash, kept elsewhere, shows later whether the newest entries were removed or added to.
    typer.echo(f"audit log intact: {check.entries} entries, head {check.head}")


@audit_app.command("show")
def audit_show(
    workspace: WorkspaceOpt = Path("."),
    action: Annotated[str | None, typer.Option("--action", help="Only actions starting so, e.g. review.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who did what and when, newest first (the chain itself is checked by `alliance audit verify`)."""
    _allow("audit show", workspace)
    from models.audit import entries
    from models.db import session_scope

    deps = _deps(workspace)
    with session_scope(deps.engine) as session:
        found = entries(session, action_prefix=action, limit=limit)
    rows = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "detail": json.loads(e.detail),
        }
        for e in found
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['id']:>6} {r['at'][:19]} {r['actor']:24} {r['action']:28} {r['subject']}")
    if not rows:
        typer.echo("no audit entries" + (f" for actions starting {action!r}" if action else ""))


@review_app.command("show")
def review_show(
    year: YearOpt,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Per partner: O, E, O/E, z, control limits, flagged, watch and why (a preview before the review runs)."""
    principal = _allow("review show", workspace)
    from services.review import review_table, year_label

    deps = _deps(workspace)
    stored, rows = review_table(deps, year=year)
    rows = [r for r in rows if principal.sees(r["partner"])]  # a partner: its own row only
    if as_json:
        typer.echo(json.dumps({"year": year, "stored": stored, "partners": rows}, indent=2))
        return
    state = "as reviewed" if stored else "preview: the review has not been run"
    typer.echo(f"{year_label(deps.contract, year)} ({state})")
    for r in rows:
        standing = "FLAGGED" if r["flagged"] else ("watch" if r["watch"] else "clear")
        typer.echo(
            f"  {r['partner']:24} O {r['O']:>9.1f}  E {r['E']:>9.1f}  O/E {_fmt(r['ratio'])}  z {_fmt(r['z'], 6)}  "
            f"limits {_fmt(r['lower_limit'])}-{_fmt(r['upper_limit'])}  {standing}"
        )
        typer.echo(f"      {r['reason']}")


def _fmt(value: float | None, width: int = 5) -> str:
    return f"{value:>{width}.2f}" if value is not None else "n/a".rjust(width)


@review_app.command("run")
def review_run(
    year: YearOpt,
    workspace: WorkspaceOpt = Path("."),
    poll: Annotated[int, typer.Option(help="Seconds between checks while paused for the board.")] = 10,
) -> None:
    """Run flow partner-review: flag, send evidence, wait out the right of reply, then pause for the board."""
    _allow("review run", workspace)
    from flows.partner_review import partner_review

    deps = _deps(workspace)
    report = partner_review(year=year, workspace=str(workspace), deps=deps, poll_seconds=poll)
    typer.echo(f"flagged: {', '.join(report.flagged) or 'none'}; watch: {', '.join(report.watch) or 'none'}")
    for partner_id, decision in report.decisions.items():
        typer.echo(f"  {partner_id}: {decision}")
    for partner_id in report.timed_out:
        typer.echo(f"  {partner_id}: no board decision by the deadline; funding unchanged, chair told")


@review_app.command("reply")
def review_reply(
    year: YearOpt,
    partner: PartnerOpt,
    by: Annotated[str | None, typer.Option("--by", help="Who replies for the partner (default: --as).")] = None,
    text: Annotated[str, typer.Option("--text", help="The reply.")] = "",
    file: Annotated[Path | None, typer.Option("--file", help="A document to put before the board.")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """A flagged partner's reply, within its right of reply; the board sees it with the evidence."""
    from domain.access import authorise_partner, recorded_name
    from services.review import reply

    principal = _allow("review reply", workspace)
    authorise_partner(principal, partner, "this reply")
    by = recorded_name(principal, by)
    saved = reply(_deps(workspace), year=year, partner_id=partner, by=by, text=text, file=file)
    typer.echo(f"reply {saved.id} recorded for {partner}" + (f" with {saved.filename}" if saved.filename else ""))


@review_app.command("decide")
def review_decide(
    year: YearOpt,
    partner: PartnerOpt,
    decision: Annotated[
        str, typer.Option("--decision", help="no_action | improvement_plan | step_down | withdraw | reverse (appeal)")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (sent to the partner, kept in the audit log).")],
    by: Annotated[str | None, typer.Option("--by", help="Who decided for the board (default: --as).")] = None,
    percent: Annotated[int | None, typer.Option("--percent", help="For step_down: an allowed percentage.")] = None,
    effective: Annotated[str | None, typer.Option("--effective", help="For step_down/withdraw: YYYY-MM.")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Record the board's decision (the same rules as the Prefect form); a paused review run is resumed."""
    from domain.access import recorded_name

    by = recorded_name(_allow("review decide", workspace), by)
    from flows.partner_review import resume_waiting_review
    from services.review import decide

    result = decide(
        _deps(workspace),
        year=year,
        partner_id=partner,
        kind=decision,
        step_down_percent=percent,
        effective=effective,
        decided_by=by,
        reason=reason,
        via="cli",
    )
    record = result.record
    typer.echo(f"decision {record.id} {'recorded' if result.created else 'was already recorded'}: {record.kind}")
    for period in result.rerun_periods:
        typer.echo(f"  payment run for {period} posted again: the change is paid by adjustment")
    if result.created and decision != "reverse":
        resumed = resume_waiting_review(year=year, partner_id=partner, record=record)
        if resumed:
            typer.echo(f"  resumed paused review run {resumed}")


@app.command()
def report(
    period: Annotated[str | None, typer.Option("--period", help="A month's report, YYYY-MM.")] = None,
    year: Annotated[int | None, typer.Option("--year", help="A contract year's report, to date.")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Write the alliance report (HTML with plots, CSV, JSON) for every audience under out/report/."""
    _allow("report", workspace)
    from domain.periods import Period
    from services.report import build_report

    written = build_report(_deps(workspace), period=Period.parse(period) if period else None, year=year)
    for audience, page in written.pages.items():
        typer.echo(f"{audience.value:9} {page}")


@checks_app.command("list")
def checks_list(
    period: PeriodOpt,
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner's claims.")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The claims drawn for a period, with each one's finding (to_check until an officer records one)."""
    _allow("checks list", workspace)
    from domain.periods import Period
    from models.db import session_scope
    from services.spot_checks import checks_table

    deps = _deps(workspace)
    with session_scope(deps.engine) as session:
        rows = checks_table(session, periods=[Period.parse(period)], partner_id=partner)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        row = f"row {r['sheet_row']}" if r["sheet_row"] else ""
        typer.echo(f"{r['partner']:24} {r['participant_id']:16} {r['measure']:20} {r['band']:14} {row:9} {r['result']}")
    if not rows:
        typer.echo(f"no claims drawn for {period}" + (f" from {partner}" if partner else ""))


@checks_app.command("record")
def checks_record(
    period: PeriodOpt,
    partner: PartnerOpt,
    participant: Annotated[str, typer.Option("--participant", help="The participant id of the claim.")],
    measure: Annotated[str, typer.Option("--measure", help="The outcome measure id claimed.")],
    result: Annotated[str, typer.Option("--result", help="verified | not_verified")],
    reason: Annotated[str, typer.Option("--reason", help="What was seen (required when not verified).")] = "",
    by: Annotated[str | None, typer.Option("--by", help="The officer who checked it (default: --as).")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Record a spot check's finding; a claim not verified is withdrawn and recovered by the next payment run."""
    import getpass

    from domain.access import recorded_name
    from domain.periods import Period
    from services.spot_checks import record_check

    by = recorded_name(_allow("checks record", workspace), by) or getpass.getuser()
    recorded = record_check(
        _deps(workspace),
        period=Period.parse(period),
        partner_id=partner,
        participant_id=participant,
        measure=measure,
        result=result,
        by=by,
        reason=reason,
    )
    finding = recorded.result
    if recorded.created:
        typer.echo(f"{partner} {participant} {measure} for {period}: {finding.result} recorded")
    else:
        typer.echo(
            f"{partner} {participant} {measure} for {period}: {finding.result} was already recorded by {finding.by} "
            f"on {finding.recorded_at:%d/%m/%Y}" + (f" ({finding.reason})" if finding.reason else "")
        )
        if reason.strip() and reason.strip() != finding.reason:
            typer.echo("  your --reason was not recorded: a spot check's finding is recorded once")
    if recorded.recovery is not None:
        typer.echo(f"  the claim is withdrawn; {_recovery_words(recorded.recovery, period, recorded.run_version)}")
    if recorded.created:
        typer.echo(f"  {period}'s report counts it from the next cycle (now: `alliance report --period {period}`)")


def _recovery_words(recovery: "Recovery", period: str, version: int | None) -> str:
    from domain.spot_checks import Recovery

    return {
        Recovery.recover: f"the next payment run for {period} (the next `alliance cycle run`) recovers what run "
        f"v{version} paid for it",
        Recovery.leave_out: f"no payment for {period} has been made yet: its next run leaves the claim out",
        Recovery.taken_off: f"payment run v{version} for {period} already leaves it out: nothing more to recover",
        Recovery.not_claimed: f"the accepted return for {period} no longer makes it: nothing to recover",
    }[recovery]


@app.command()
def serve(
    workspace: WorkspaceOpt = Path("."),
    limit: Annotated[int, typer.Option(min=1, help="At most this many flow runs at once.")] = 4,
    port: Annotated[int, typer.Option(help="Port of the local Prefect server (when PREFECT_API_URL is unset).")] = 4200,
    shares: Annotated[
        int, typer.Option(min=1, help="Split each monthly cycle's returns into this many processes (intake runs).")
    ] = 1,
) -> None:
    """Run the monthly cycle, the daily reminders and the yearly review on their schedules, in this process
    (the single-machine default; production runs the same deployments on workers, see the README)."""
    _allow("serve", workspace)
    from flows.deployments import serve_all

    _deps(workspace)  # a bad contract or an unreachable database fails now, not at 09:00 on the 16th
    serve_all(str(_workspace(workspace).root), limit=limit, port=port, shares=shares)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the demo workspace.")] = Path(
        "alliance-demo"
    ),
    partners: Annotated[int, typer.Option(min=2, max=40)] = 6,
    months: Annotated[int, typer.Option(min=1, max=12)] = 3,
    seed: int = 7,
    slack: Annotated[
        str, typer.Option(help="none: messages stay in the outbox; local: deliver to a local Slack test server")
    ] = "none",
) -> None:
    """Build a demo alliance, fill its partners' returns, run the monthly cycles, show the results."""
    _allow("demo")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # the demo prints its own progress
    from flows.monthly_cycle import monthly_cycle
    from services.demo import run_demo

    def run_cycle(period: Any, deps: Any) -> Any:
        return monthly_cycle(period=str(period), workspace=str(deps.workspace.root), deps=deps)

    if slack not in ("none", "local"):
        from domain.errors import UsageError

        raise UsageError(f"--slack must be none or local, not {slack!r}")

    def run_review(deps: Any) -> Any:
        from flows.partner_review import run_with_board

        def board(partner_id: str) -> dict[str, object]:
            return {
                "decision": "step_down",
                "step_down_percent": 10,
                "effective_month": "2027-06",
                "decided_by": "Demo board (chair)",
                "reason": "Outcomes well below those expected for its case mix all year; the reply was considered.",
            }

        return run_with_board(deps, year=1, answer=board)

    run_demo(
        directory,
        partners=partners,
        months=months,
        seed=seed,
        echo=typer.echo,
        run_cycle=run_cycle,
        slack=slack,
        run_review=run_review,
    )


def main() -> None:
    try:
        result = app(standalone_mode=False)
    except AllianceError as exc:
        problems = getattr(exc, "problems", [])
        source = getattr(exc, "source", None)
        if problems and source:
            for problem in problems:
                typer.echo(f"{source}: {problem}", err=True)
        else:
            typer.echo(f"alliance: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("alliance: aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        # typer 0.29 raises its own copy of click's exceptions (typer._click): a TyperException that can show itself.
        if isinstance(exc, click.ClickException) or (isinstance(exc, typer.TyperException) and hasattr(exc, "show")):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("ALLIANCE_DEBUG"):
            raise
        typer.echo(
            f"alliance: internal error: {type(exc).__name__}: {exc} (set ALLIANCE_DEBUG=1 for details)", err=True
        )
        sys.exit(3)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
