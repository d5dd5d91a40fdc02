"""What `alliance demo` prints at its end: the returns per month, the payments, where everything is, and what each
Slack channel received."""

from collections.abc import Callable

from domain.money import format_pounds
from integrations.slack.fake_server import FakeSlack
from models import repo
from models.db import session_scope
from services.demo_scenario import CONTRACT_START, cycle_time
from services.deps import Deps
from services.payment_reports import due_by_partner
from services.status import count_statuses, period_status


def slack_summary(fake: FakeSlack, echo: Callable[[str], None]) -> None:
    echo("")
    echo(f"What each Slack channel received (local test server at {fake.url}):")
    files: dict[str, list[str]] = {}
    for channel, stored in fake.shares():
        files.setdefault(channel, []).append(stored.name)
    for channel, messages in sorted(fake.received().items()):
        posts = [m for m in messages if not m.files]
        shared = files.get(channel, [])
        echo(f"  {channel}: {len(posts)} message(s){f', {len(shared)} file(s)' if shared else ''}")
        for message in posts:
            echo(f"      {message.text.splitlines()[0][:110]}")
        for name in shared:
            echo(f"      [file] {name}")


def summary(deps: Deps, months: int, echo: Callable[[str], None]) -> None:
    workspace, contract = deps.workspace, deps.contract
    echo("")
    echo("Returns per month (after the last cycle):")
    now = cycle_time(contract, CONTRACT_START.plus(months - 1))
    with session_scope(deps.engine) as session:
        for m in range(months):
            period = CONTRACT_START.plus(m)
            counts = count_statuses(period_status(session, contract=contract, period=period, now=now))
            rejected_versions = sum(
                1 for s in repo.submissions_for_period(session, period=str(period)) if s.status == "rejected"
            )
            echo(
                f"  {period}: accepted {counts['accepted']}, missing {counts['missing']}, late {counts['late']}, "
                f"rejected versions {rejected_versions}"
            )
        pending = repo.count_notifications(session, status="pending")
        quarantined = [s.filename for s in repo.submissions_with_status(session, status="quarantined")]
        totals = due_by_partner(session, contract=contract, periods=[CONTRACT_START.plus(m) for m in range(months)])
    echo("")
    echo(f"Payments due over {months} month(s) (latest run of each month; corrections were paid by later versions):")
    for partner in sorted(contract.partners, key=lambda p: p.id):
        t = totals[partner.id]
        echo(
            f"  {partner.name:22} core {format_pounds(t['core']):>12}  outcome {format_pounds(t['outcome']):>11}  "
            f"total {format_pounds(t['core'] + t['outcome']):>12}  "
            f"of which corrections {format_pounds(t['corrections']):>10}"
        )
    grand = sum(t["core"] + t["outcome"] for t in totals.values())
    echo(f"  {'all partners':22} total {format_pounds(grand)}")
    echo("")
    if quarantined:
        echo(f"Quarantined (no partner could be found; officers notified): {', '.join(quarantined)}")
    echo(f"Feedback workbooks: {workspace.feedback_dir}")
    echo(f"Archive:            {workspace.archive} (original bytes of every file, read-only)")
    echo(f"Statements:         {workspace.statements_dir}")
    echo(f"Templates:          {workspace.templates_dir}")
    echo(f"Alliance report:    {workspace.out / 'report' / 'index.html'} (public, alliance and officers' pages)")
    echo(f"Outbox:             {pending} notification(s) pending: alliance notifications --workspace {workspace.root}")
    echo(f"Try:                alliance payments show --period {CONTRACT_START} --workspace {workspace.root}")
