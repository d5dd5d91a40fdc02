"""The annual review: the table, the flow, a partner's reply, the board's decision."""

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    PartnerOpt,
    WorkspaceOpt,
    YearOpt,
    allow,
    deps_for,
    echo,
    review_app,
)


@review_app.command("show")
def review_show(
    year: YearOpt,
    workspace: WorkspaceOpt = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the year's table as JSON.")] = False,
) -> None:
    """Per partner: O, E, O/E, z, control limits, flagged, watch and why (a preview before the review runs)."""
    principal = allow("review show", workspace)
    from services.review import review_table, year_label, year_so_far

    deps = deps_for(workspace)
    so_far = year_so_far(deps, year)  # refused before the year begins
    stored, rows = review_table(deps, year=year)
    rows = [r for r in rows if principal.sees(r["partner"])]  # a partner: its own row only
    if as_json:
        echo(json.dumps({"year": year, "stored": stored, "ended": so_far is None, "partners": rows}, indent=2))
        return
    state = "as reviewed" if stored else "preview: the review has not been run"
    echo(f"{year_label(deps.contract, year)} ({state}{'; ' + so_far if so_far and not stored else ''})")
    for r in rows:
        standing = "FLAGGED" if r["flagged"] else ("watch" if r["watch"] else "clear")
        echo(
            f"  {r['partner']:24} O {r['O']:>9.1f}  E {r['E']:>9.1f}  O/E {_fmt(r['ratio'])}  z {_fmt(r['z'], 6)}  "
            f"limits {_fmt(r['lower_limit'])}-{_fmt(r['upper_limit'])}  {standing}"
        )
        echo(f"      {r['reason']}")


def _fmt(value: float | None, width: int = 5) -> str:
    return f"{value:>{width}.2f}" if value is not None else "n/a".rjust(width)


@review_app.command("run")
def review_run(
    year: YearOpt,
    workspace: WorkspaceOpt = Path("."),
    poll: Annotated[int, typer.Option(help="Seconds between checks while paused for the board.")] = 10,
) -> None:
    """Run flow partner-review: flag, send evidence, wait out the right of reply, then pause for the board."""
    allow("review run", workspace)
    from flows.partner_review import partner_review

    deps = deps_for(workspace)
    report = partner_review(year=year, workspace=str(workspace), deps=deps, poll_seconds=poll)
    echo(f"flagged: {', '.join(report.flagged) or 'none'}; watch: {', '.join(report.watch) or 'none'}")
    for partner_id, decision in report.decisions.items():
        echo(f"  {partner_id}: {decision}")
    for partner_id in report.timed_out:
        echo(f"  {partner_id}: no board decision by the deadline; funding unchanged, chair told")


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

    principal = allow("review reply", workspace)
    authorise_partner(principal, partner, "this reply")
    by = recorded_name(principal, by)
    saved = reply(deps_for(workspace), year=year, partner_id=partner, by=by, text=text, file=file)
    echo(f"reply {saved.id} recorded for {partner}" + (f" with {saved.filename}" if saved.filename else ""))


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

    by = recorded_name(allow("review decide", workspace), by)
    from flows.partner_review import resume_waiting_review
    from services.board_decisions import decide

    result = decide(
        deps_for(workspace),
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
    if record is None:
        assert result.confirmations is not None
        confirmed = result.confirmations
        echo(
            f"confirmation recorded ({', '.join(confirmed.members)}): the decision takes effect once "
            f"{confirmed.needed - len(confirmed.members)} more board member(s) confirm the same decision"
        )
        return
    echo(f"decision {record.id} {'recorded' if result.created else 'was already recorded'}: {record.kind}")
    for period in result.rerun_periods:
        echo(f"  payment run for {period} posted again: the change is paid by adjustment")
    if result.created and decision != "reverse":
        resumed = resume_waiting_review(year=year, partner_id=partner, record=record)
        if resumed:
            echo(f"  resumed paused review run {resumed}")
