"""Money and claims: payment runs, their approval and export, unlocking a return, spot checks."""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import (
    PartnerOpt,
    PeriodOpt,
    WorkspaceOpt,
    allow,
    checks_app,
    deps_for,
    echo,
    payments_app,
    period_app,
)

if TYPE_CHECKING:
    from domain.spot_checks import Recovery


@payments_app.command("show")
def payments_show(
    period: PeriodOpt,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """The latest payment run for a period, per partner (a partner: its own lines and the alliance's figures)."""
    principal = allow("payments show", workspace)
    from decimal import Decimal

    from domain.money import format_pounds
    from domain.periods import Period
    from models.db import session_scope
    from services.payment_reports import payment_report

    deps = deps_for(workspace)
    with session_scope(deps.engine) as session:
        report = payment_report(session, contract=deps.contract, period=Period.parse(period))
    report["partners"] = [p for p in report["partners"] if principal.sees(p["partner"])]
    report["debts"] = [d for d in report["debts"] if principal.sees(d["partner"])]
    report["not_returned"] = [p for p in report["not_returned"] if principal.sees(p)]
    if as_json:
        echo(json.dumps(report, indent=2))
        return
    echo(
        f"{report['period']} (period {report['period_state'] or 'open'}) "
        f"run v{report['version']} ({report['status']}): "
        f"alliance factor {Decimal(report['alliance_factor']):.4f}, "
        f"pool {format_pounds(report['pool_pence'])}, payable {format_pounds(report['payable_pence'])}"
    )
    if report["outcome"] == "provisional":
        echo("  outcome pool provisional: nothing is paid from it until every return is in or the due date passes")
    if report["not_returned"]:
        echo(f"  not returned: {', '.join(report['not_returned'])}")
    for p in report["partners"]:
        outcome = (
            f"outcome {format_pounds(p['outcome_pence']):>11} "
            if p["provisional_outcome_pence"] is None
            else f"outcome provisional {format_pounds(p['provisional_outcome_pence'])} "
        )
        settled = p["carried_pence"] + p["recovery_pence"] + p["brought_forward_pence"]
        echo(
            f"  {p['partner']:24} core {format_pounds(p['core_pence']):>12} {outcome}"
            f"adjustment {format_pounds(p['adjustment_pence']):>12} "
            + (f"held back/recovered {format_pounds(settled)} " if settled else "")
            + f"total {format_pounds(p['total_pence']):>12}"
        )
    if report["debts"]:
        for debt in report["debts"]:
            action = "INVOICE: the instalments left cannot repay it" if debt["invoice"] else "recovered from payments"
            echo(f"  owed by {debt['partner']}: {format_pounds(debt['owed_pence'])} ({action})")


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

    by = recorded_name(allow("payments approve", workspace), by)
    from domain.periods import Period
    from services.payment_approval import approve_run
    from services.statements import write_statements

    deps = deps_for(workspace)
    result = approve_run(deps, Period.parse(period), by=by or "")
    write_statements(deps, result.run)  # also when approved already: the first attempt may have died before it
    if not result.new:
        echo(f"{period} run v{result.run.version} was already approved by {result.approved_by}")
        return
    echo(f"{period} run v{result.run.version} approved by {result.approved_by}")
    echo(f"locked returns: {', '.join(result.locked) or 'none (all were locked already)'}")


@payments_app.command("export")
def payments_export(
    period: PeriodOpt,
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[int | None, typer.Option(help="A payable run version (default: the last one).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of standard output.")] = None,
) -> None:
    """What a payable run pays each partner, as CSV (a correcting version holds only the difference)."""
    allow("payments export", workspace)
    from domain.periods import Period
    from models.db import session_scope
    from services.finance_export import export_csv

    deps = deps_for(workspace)
    with session_scope(deps.engine) as session:
        text, note = export_csv(session, contract=deps.contract, period=Period.parse(period), version=version)
    if note:
        echo(f"note: {note}", err=True)
    if out is None:
        echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:  # a folder that does not exist, or one the caller may not write in
        from domain.errors import UsageError

        raise UsageError(f"cannot write {out}: {exc.strerror}; choose an --out in a folder that exists") from None
    echo(f"wrote {out}")


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
    from services.locks import unlock_return

    deps = deps_for(workspace)
    by = recorded_name(allow("period unlock", workspace), by) or getpass.getuser()
    unlock_return(deps, Period.parse(period), partner_id=partner, reason=reason, by=by)
    echo(f"{partner}'s return for {period} is unlocked; a corrected return will be paid as a correction")


@period_app.command("send-back")
def period_send_back(
    period: PeriodOpt,
    partner: Annotated[str, typer.Option("--partner", help="The partner id whose accepted return is sent back.")],
    feedback: Annotated[str, typer.Option("--feedback", help="What is wrong and what to send instead.")],
    workspace: WorkspaceOpt = Path("."),
    by: Annotated[str | None, typer.Option("--by", help="The officer sending it back (default: your login).")] = None,
) -> None:
    """Send a partner's accepted return back with feedback: it stops counting until a corrected version comes."""
    import getpass

    from domain.access import recorded_name
    from domain.periods import Period
    from services.locks import send_back

    deps = deps_for(workspace)
    by = recorded_name(allow("period send-back", workspace), by) or getpass.getuser()
    result = send_back(deps, Period.parse(period), partner_id=partner, feedback=feedback, by=by)
    paid = "; the month's payment run was made again without it" if result.rerun else ""
    echo(f"{partner}'s return for {period} (version {result.submission.version}) was sent back{paid}")


@checks_app.command("list")
def checks_list(
    period: PeriodOpt,
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner's claims.")] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the claims as a JSON list.")] = False,
) -> None:
    """The claims drawn for a period, with each one's finding (to_check until an officer records one)."""
    allow("checks list", workspace)
    from domain.periods import Period
    from domain.text import printable
    from models.db import session_scope
    from services.spot_checks import checks_table

    deps = deps_for(workspace)
    with session_scope(deps.engine) as session:
        rows = checks_table(session, periods=[Period.parse(period)], partner_id=partner, contract=deps.contract)
    if as_json:
        echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        row = f"row {r['sheet_row']}" if r["sheet_row"] else ""
        participant = printable(r["participant_id"])  # the partner's own id for the participant, as returned
        echo(f"{r['partner']:24} {participant:16} {r['measure']:20} {r['band']:14} {row:9} {r['result']}")
    if not rows:
        echo(f"no claims drawn for {period}" + (f" from {partner}" if partner else ""))


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

    by = recorded_name(allow("checks record", workspace), by) or getpass.getuser()
    recorded = record_check(
        deps_for(workspace),
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
        echo(f"{partner} {participant} {measure} for {period}: {finding.result} recorded")
    else:
        echo(
            f"{partner} {participant} {measure} for {period}: {finding.result} was already recorded by {finding.by} "
            f"on {finding.recorded_at:%d/%m/%Y}" + (f" ({finding.reason})" if finding.reason else "")
        )
        if reason.strip() and reason.strip() != finding.reason:
            echo("  your --reason was not recorded: a spot check's finding is recorded once")
    if recorded.recovery is not None:
        echo(f"  the claim is withdrawn; {_recovery_words(recorded.recovery, period, recorded.run_version)}")
    if recorded.created:
        echo(f"  {period}'s report counts it from the next cycle (now: `alliance report --period {period}`)")


def _recovery_words(recovery: "Recovery", period: str, version: int | None) -> str:
    from domain.spot_checks import Recovery

    return {
        Recovery.recover: f"the next payment run for {period} (the next `alliance cycle run`) recovers what run "
        f"v{version} paid for it",
        Recovery.leave_out: f"no payment for {period} has been made yet: its next run leaves the claim out",
        Recovery.taken_off: f"payment run v{version} for {period} already leaves it out: nothing more to recover",
        Recovery.not_claimed: f"the accepted return for {period} no longer makes it: nothing to recover",
    }[recovery]
