"""Running it: the outbox, the database, the audit chain, the report, the scheduler, the demo."""

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import (
    WorkspaceOpt,
    allow,
    app,
    audit_app,
    db_app,
    deps_for,
    echo,
    group_workspace,
    notifications_app,
    workspace_at,
)
from cli.progress import Steps, VerboseOpt, quiet_prefect


@notifications_app.callback(invoke_without_command=True)
def notifications(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path("."),
    status: Annotated[str | None, typer.Option(help="Only messages pending, sent or failed.")] = None,
    partner: Annotated[
        str | None, typer.Option("--partner", help="Only the messages to this partner (its id).")
    ] = None,
    period: Annotated[str | None, typer.Option("--period", help="Only the messages about this month, YYYY-MM.")] = None,
    full: Annotated[bool, typer.Option("--full", help="Each message whole, not its first line.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages as a JSON list, each one whole.")] = False,
) -> None:
    """The outbox: every message, whether it reached Slack, and why not yet."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = workspace  # `alliance notifications -w DIR send` means DIR too
        return
    principal = allow("notifications", workspace)
    from domain.periods import Period
    from services.outbox_view import outbox_entries

    rows = outbox_entries(
        deps_for(workspace),
        principal,
        status=status,
        partner_id=partner,
        period=Period.parse(period) if period else None,
    )
    if as_json:
        echo(json.dumps([n.as_dict() for n in rows], indent=2))
        return
    for n in rows:
        first_line = n.text.splitlines()[0] if n.text else ""
        state = n.status if n.status != "pending" or not n.attempts else f"retry {n.attempts}"
        echo(f"{n.id:5} {state:8} {n.channel:22} {n.kind:22} {n.period or '':8} {first_line}")
        if full:
            for line in n.text.splitlines()[1:]:
                echo(f"{'':14} {line}")
        if n.last_error and n.status != "sent":
            when = f", next try {n.next_attempt_at:%Y-%m-%d %H:%M} UTC" if n.next_attempt_at else ""
            echo(f"{'':14} last error: {n.last_error}{when}")
    if not rows:
        echo("no notifications" + _narrowed(status, partner, period))


def _narrowed(status: str | None, partner: str | None, period: str | None) -> str:
    said = [f"{status}" if status else "", f"to {partner}" if partner else "", f"about {period}" if period else ""]
    return (" " + " ".join(part for part in said if part)) if any(said) else ""


@notifications_app.command("send")
def notifications_send(
    ctx: typer.Context,
    workspace: WorkspaceOpt = Path("."),
    limit: Annotated[int | None, typer.Option(min=1, help="Send at most this many.")] = None,
) -> None:
    """Deliver what is due to Slack (SLACK_BOT_TOKEN) and email (ALLIANCE_SMTP_HOST); failures wait for a later
    send (exit 1 if any failed)."""
    from domain.errors import UsageError
    from services.notifications import deliver_notifications

    allow("notifications send", group_workspace(ctx, workspace))
    deps = deps_for(group_workspace(ctx, workspace))
    if deps.notifier is None and deps.mailer is None:
        raise UsageError(
            "neither SLACK_BOT_TOKEN nor ALLIANCE_SMTP_HOST is set: notifications stay in the outbox "
            "(see `alliance notifications`)"
        )
    report = deliver_notifications(deps, limit=limit)
    echo(report.summary())
    for notification_id, error in report.retrying + report.failed:
        echo(f"{notification_id:5} {error}")
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

    allow("notifications retry", group_workspace(ctx, workspace))
    deps = deps_for(group_workspace(ctx, workspace))
    with session_scope(deps.engine) as session:
        requeued = repo.requeue_failed(session, notification_ids=ids or None)
    echo(f"queued again: {', '.join(map(str, requeued)) or 'nothing (no failed notification)'}")


@db_app.command("upgrade")
def db_upgrade(workspace: WorkspaceOpt = Path(".")) -> None:
    """Apply the database migrations (also done automatically on first use)."""
    allow("db upgrade", workspace)
    from models.db import make_engine, upgrade

    ws = workspace_at(workspace)
    ws.load_contract()
    upgrade(make_engine(ws.database_url))
    echo("database is at the newest schema")


@audit_app.command("verify")
def audit_verify(workspace: WorkspaceOpt = Path(".")) -> None:
    """Check that no audit entry was edited or removed, the newest included (their head is kept in the workspace)."""
    allow("audit verify", workspace)
    from models.audit import missing_head, verify_chain
    from models.db import session_scope

    deps = deps_for(workspace)
    head = deps.workspace.audit_head()  # read before the chain: it is written after its entry is committed
    with session_scope(deps.engine) as session:
        check = verify_chain(session)
        cut = missing_head(session, entry_id=head[0], digest=head[1]) if head is not None and check.ok else None
    if not check.ok:
        echo(f"audit log broken at entry {check.first_bad_id} ({check.entries} checked): {check.problem}", err=True)
        raise typer.Exit(1)
    if cut is not None:
        echo(f"audit log cut short ({check.entries} checked): {cut}", err=True)
        raise typer.Exit(1)
    # The head hash, kept elsewhere, shows later whether the newest entries were removed or added to.
    echo(f"audit log intact: {check.entries} entries, head {check.head}")


@audit_app.command("show")
def audit_show(
    workspace: WorkspaceOpt = Path("."),
    action: Annotated[str | None, typer.Option("--action", help="Only actions starting so, e.g. review.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
) -> None:
    """Who did what and when, newest first (the chain itself is checked by `alliance audit verify`)."""
    allow("audit show", workspace)
    from domain.text import printable
    from models.audit import entries
    from models.db import session_scope

    deps = deps_for(workspace)
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
        echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        echo(f"{r['id']:>6} {r['at'][:19]} {r['actor']:24} {r['action']:28} {printable(r['subject'])}")
    if not rows:
        echo("no audit entries" + (f" for actions starting {action!r}" if action else ""))


@app.command()
def report(
    period: Annotated[str | None, typer.Option("--period", help="A month's report, YYYY-MM.")] = None,
    year: Annotated[int | None, typer.Option("--year", help="A contract year's report, to date.")] = None,
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Write the alliance report (HTML with plots, CSV, JSON) for every audience under out/report/."""
    allow("report", workspace)
    from domain.periods import Period
    from services.report import build_report

    steps = Steps()
    written = build_report(
        deps_for(workspace), period=Period.parse(period) if period else None, year=year, progress=steps.line
    )
    for audience, page in written.pages.items():
        echo(f"{audience.value:9} {page}")


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
    allow("serve", workspace)
    from flows.deployments import serve_all

    deps_for(workspace)  # a bad contract or an unreachable database fails now, not at 09:00 on the 16th
    serve_all(str(workspace_at(workspace).root), limit=limit, port=port, shares=shares)


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the demo workspace (a new or empty folder).")
    ] = Path(".demo"),
    partners: Annotated[int, typer.Option(min=2, max=40, help="How many partners the demo alliance has.")] = 6,
    months: Annotated[
        int, typer.Option(min=1, max=12, help="How many months of returns, from 2026-04 (12: also the review).")
    ] = 3,
    seed: Annotated[int, typer.Option(help="The seed of the returns' contents: the same seed, the same demo.")] = 7,
    slack: Annotated[
        str, typer.Option(help="none: messages stay in the outbox; local: deliver to a local Slack test server")
    ] = "none",
    verbose: VerboseOpt = False,
) -> None:
    """Build a demo alliance, fill its partners' returns, run the monthly cycles, show the results."""
    allow("demo")
    quiet_prefect(verbose)  # the demo prints its own steps; Prefect's lines stay in its UI
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

    steps = Steps(tasks=False)
    with steps.following_prefect():
        run_demo(
            directory,
            partners=partners,
            months=months,
            seed=seed,
            echo=echo,
            step=steps.line,
            run_cycle=run_cycle,
            slack=slack,
            run_review=run_review,
        )
