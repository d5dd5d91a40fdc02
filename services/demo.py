"""`alliance demo`: a demo alliance, a few months of returns filled the way people fill them,
the monthly cycles run in Prefect, and a readable summary at the end (services/demo_summary.py); who sends what
and when is services/demo_scenario.py."""

import os
import random
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.access import Role
from domain.contract import Contract
from domain.errors import UsageError
from domain.money import format_pounds
from domain.periods import Period
from domain.publication import Grade
from integrations.slack.fake_server import TOKEN, FakeSlack
from integrations.slack.notifier import SlackNotifier
from integrations.spreadsheets.templates import write_templates
from integrations.workspace import Workspace
from models import reviews
from models.db import session_scope
from services.accounts import create_with_password
from services.demo_scenario import (
    CONTRACT_START,
    RESEND_FROM_MONTHS,
    RESENDING_PARTNER,
    REVIEW_AT,
    WEAK_PARTNER,
    Arrival,
    arrivals,
    contract_yaml,
    cycle_time,
    local,
    partner_names,
    slug,
)
from services.demo_summary import slack_summary, summary
from services.deps import Deps, fixed_clock, production_deps
from services.intake import Outcome
from services.locks import unlock_return
from services.notifications import deliver_notifications
from services.payment_approval import approve_run
from services.payments import is_provisional
from services.report import build_cycle_reports, build_report
from services.spot_checks import DrawMade, record_check
from services.statements import pay_period, write_statements

DEFAULT_DIR = ".demo"  # as `make demo` and the README


def run_demo(
    directory: Path,
    *,
    partners: int,
    months: int,
    seed: int,
    echo: Callable[[str], None],
    run_cycle: Callable[[Period, Deps], Any],
    slack: str = "none",
    run_review: Callable[[Deps], Any] | None = None,
    step: Callable[[str], None] | None = None,
) -> None:
    """``run_cycle`` runs the monthly-cycle flow (passed in: flows sit above services).

    ``slack``: "none" keeps messages in the outbox; "local" delivers them to a local Slack test
    server (through the real slack_sdk client) and prints what each channel received. ``step`` prints the line
    that starts each long step (the command line adds the time since it began); default ``echo``."""
    step = step or echo
    root = directory.resolve()
    if (root / "alliance.db").exists() or (root / "alliance.yaml").exists():
        raise UsageError(f"{root} already holds a workspace: remove it or choose another --dir")
    root.mkdir(parents=True, exist_ok=True)
    (root / "alliance.yaml").write_text(contract_yaml(partners, approval=True), encoding="utf-8")
    workspace = Workspace(root=root, database_url=f"sqlite:///{root / 'alliance.db'}")
    deps = production_deps(workspace)  # one engine for the whole demo; only the clock moves
    draws = random.Random(seed)  # spot-check seeds: the same demo draws the same claims
    deps = replace(deps, seeds=lambda: f"{draws.getrandbits(128):032x}")
    contract = deps.contract
    fake = None
    if slack == "local":
        channels = [p.slack_channel for p in contract.partners if p.slack_channel]
        channels += [contract.alliance.officers_channel, contract.alliance.board_channel]
        fake = FakeSlack(channels).start()
        deps = replace(deps, notifier=SlackNotifier(token=TOKEN, base_url=fake.url, timeout=5))
    try:
        _run_months(deps, months, seed, echo, run_cycle, step)
        summary(deps, months, echo)
        if run_review is not None and months == 12:
            _review(deps, echo, run_review, step)
        elif run_review is not None:
            echo("Annual review: it needs the whole contract year (alliance demo --months 12).")
        if fake is not None:
            slack_summary(fake, echo)
        _portal_accounts(deps, echo)
    finally:
        if fake is not None:
            fake.stop()


DEMO_DOMAIN = "demo.alliance.test"
ACCOUNTS_FILE = "DEMO-ACCOUNTS.txt"


def demo_accounts(contract: Contract) -> list[tuple[str, str, Role, str | None]]:
    """(email, name, role, partner) of the demo's accounts: the office, the board and every partner."""
    people: list[tuple[str, str, Role, str | None]] = [
        (f"officer@{DEMO_DOMAIN}", "Demo officer", Role.officer, None),
        (f"board@{DEMO_DOMAIN}", "Demo board member", Role.board, None),
    ]
    people += [(f"{p.id}@{DEMO_DOMAIN}", f"{p.name} (demo)", Role.partner, p.id) for p in contract.partners]
    return people


def _portal_accounts(deps: Deps, echo: Callable[[str], None]) -> None:
    """One account per role (a partner's for each partner) with a password made for this demo, printed here and
    kept in DEMO-ACCOUNTS.txt (readable by its owner only): the portal can be tried at once."""
    password = "demo " + secrets.token_hex(6)  # a fresh one per demo: a demo left running is not an open door
    lines = []
    for email, name, role, partner_id in demo_accounts(deps.contract):
        create_with_password(
            deps, email=email, name=name, role=role, partner_id=partner_id, password=password, by="alliance demo"
        )
        lines.append(f"  {role.value:8} {email}")
    listing = deps.workspace.root / ACCOUNTS_FILE
    descriptor = os.open(listing, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"Portal accounts of this demo (password: {password})\n" + "\n".join(lines) + "\n")
    echo("")
    echo(f"The portal: alliance web --workspace {deps.workspace.root}   then open http://127.0.0.1:8000/")
    echo(f"  demo accounts, each with the password '{password}' (also in {listing}):")
    for line in lines:
        echo(line)


def _run_months(
    deps: Deps,
    months: int,
    seed: int,
    echo: Callable[[str], None],
    run_cycle: Callable[[Period, Deps], Any],
    step: Callable[[str], None],
) -> None:
    workspace, contract = deps.workspace, deps.contract
    echo(
        f"Demo workspace {workspace.root}: {len(contract.partners)} partners, {months} month(s) from "
        f"{CONTRACT_START}, seed {seed}"
    )
    step("Filling partners' returns (some clean, one with mistakes then corrected, one late) ...")
    pending = arrivals(contract, months, seed)
    workspace.inbox.mkdir(parents=True, exist_ok=True)

    for m in range(months):
        period = CONTRACT_START.plus(m)
        write_templates(contract, period, workspace.templates_dir)
        if m == 0:  # an early cycle on the 5th: returns still arriving, so it pays core only (outcomes provisional)
            early = local(period.next().first_day + timedelta(days=4), 9)
            pending = _arrive(workspace, pending, early)
            step(f"[{m + 1}/{months}] {period}: an early cycle on the 5th, before every return is in ...")
            report = run_cycle(period, replace(deps, clock=fixed_clock(early)))
            _report_runs(report, echo)
            _approve(replace(deps, clock=fixed_clock(early)), report, echo)
        now = cycle_time(contract, period)
        before = len(pending)
        pending = _arrive(workspace, pending, now)
        arrived = before - len(pending)
        step(f"[{m + 1}/{months}] {period}: {arrived} file(s) arrived; running the monthly-cycle flow ...")
        report = run_cycle(period, replace(deps, clock=fixed_clock(now)))
        for outcome in report.outcomes:
            echo(f"      {outcome_words(outcome)}")
        _report_runs(report, echo)
        _approve(replace(deps, clock=fixed_clock(now)), report, echo)
        if m == 0 and months >= RESEND_FROM_MONTHS:
            _unlock_for_resend(replace(deps, clock=fixed_clock(now)), period, echo)
        _check_claims(replace(deps, clock=fixed_clock(now)), report.spot_checks, doubtful=m == 1, echo=echo)
        if report.delivery is not None and not report.delivery.outbox_only:
            echo(f"      Slack: {report.delivery.summary()}")


DEMO_OFFICER = "Demo officer"


def outcome_words(outcome: Outcome) -> str:
    """One inbox file's fate in a line: a file filed under no partner has no period or version to show."""
    errors = sum(1 for f in outcome.findings if f.severity.value == "error")
    if outcome.status == "quarantined":
        return f"{outcome.filename}: quarantined: no partner could be found for it (officers told)"
    if outcome.status == "duplicate":
        return f"{outcome.filename}: the same bytes as a file already received (nothing new)"
    version = f"v{outcome.version}" if outcome.version is not None else None
    whose = " ".join(part for part in (outcome.partner_id, outcome.period, version) if part)
    return f"{outcome.filename}: {outcome.status} ({whose + ', ' if whose else ''}{errors} error(s))"


def _unlock_for_resend(deps: Deps, period: Period, echo: Callable[[str], None]) -> None:
    partner = deps.contract.partners[RESENDING_PARTNER]
    reason = "the partner found outcomes counted before they were sustained; it resends the month"
    unlock_return(deps, period, partner_id=partner.id, reason=reason, by=DEMO_OFFICER)
    echo(f"      {partner.name} asks to correct {period}: unlocked by {DEMO_OFFICER} ({reason})")


def _arrive(workspace: Workspace, pending: list[Arrival], now: datetime) -> list[Arrival]:
    """Put every file due by ``now`` in the inbox; what is still to come."""
    for item in [a for a in pending if a.at <= now]:
        path = workspace.inbox / item.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(item.content)
        stamp = item.at.timestamp()
        os.utime(path, (stamp, stamp))
    return [a for a in pending if a.at > now]


def _report_runs(report: Any, echo: Callable[[str], None]) -> None:
    for result in report.runs:
        run = result.run
        state = "new" if result.created else "unchanged"
        outcome = (
            "outcome provisional (not every return is in and the due date has not passed)"
            if is_provisional(run)
            else f"outcome payable {format_pounds(run.payable_pence)}"
        )
        echo(
            f"      payment run {run.period} v{run.version} ({state}): alliance factor "
            f"{Decimal(run.alliance_factor):.4f}, {outcome}"
        )


def _approve(deps: Deps, report: Any, echo: Callable[[str], None]) -> None:
    """The demo's officer reads each draft the cycle made and approves it, through the command officers use."""
    for result in report.runs:
        if not result.created:
            continue
        period = Period.parse(result.run.period)
        try:
            approved = approve_run(deps, period, by=DEMO_OFFICER, version=result.run.version)
        except UsageError:  # another month's approval changed what it recovers: made again, then approved
            again = pay_period(deps, period)
            approved = approve_run(deps, period, by=DEMO_OFFICER, version=again.run.version)
        write_statements(deps, approved.run)
        echo(f"      approved by {DEMO_OFFICER}: {period} v{approved.run.version}")
    if any(result.created for result in report.runs) and report.delivery is not None:
        delivered = deliver_notifications(deps)  # the statements the approvals issued
        if not delivered.outbox_only:
            echo(f"      Slack, after approval: {delivered.summary()}")


def _check_claims(deps: Deps, draws: list[DrawMade], *, doubtful: bool, echo: Callable[[str], None]) -> None:
    """The demo's officer checks every claim drawn against evidence; in the second month one of the weak
    partner's cannot be verified, so the next cycle's run recovers what it was paid."""
    if not draws:
        return
    names = partner_names(len(deps.contract.partners))
    weak = slug(names[min(WEAK_PARTNER, len(names) - 1)])
    withdrawn = []
    for made in draws:
        for n, claim in enumerate(made.sample):
            fails = doubtful and made.partner_id == weak and n == 0
            record_check(
                deps,
                period=Period.parse(made.period),
                partner_id=made.partner_id,
                participant_id=claim.participant_id,
                measure=claim.measure,
                result="not_verified" if fails else "verified",
                by=DEMO_OFFICER,
                reason="no evidence of the outcome on the case file" if fails else "evidence seen on the case file",
            )
            if fails:
                withdrawn.append(f"{made.partner_id} {claim.participant_id} {claim.measure}")
    drawn = sum(len(m.sample) for m in draws)
    echo(
        f"      spot checks: {drawn} claim(s) drawn and checked, "
        + (f"not verified: {'; '.join(withdrawn)} (recovered by the next run)" if withdrawn else "all verified")
    )


class MovingClock:
    """The demo's clock: waiting out the right of reply moves it instead of waiting 14 days."""

    def __init__(self, at: datetime) -> None:
        self.now = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _review(
    deps: Deps, echo: Callable[[str], None], run_review: Callable[[Deps], Any], step: Callable[[str], None]
) -> None:
    clock = MovingClock(REVIEW_AT)
    echo("")
    step(f"Annual review of contract year 1 on {REVIEW_AT:%d/%m/%Y} (flow partner-review) ...")
    report = run_review(replace(deps, clock=clock, sleep=clock.sleep))
    echo(f"  flagged: {', '.join(report.flagged) or 'none'}; watch list: {', '.join(report.watch) or 'none'}")
    for partner_id, decision in report.decisions.items():
        echo(f"  board decision for {partner_id} (given through the paused flow's input form): {decision}")
    with session_scope(deps.engine) as session:
        for a in reviews.active_adjustments(session):
            echo(f"  {a.partner_id}: core funding reduced by {a.percent}% from {a.from_period}")
    echo(f"  evidence packs and funnel plot: {deps.workspace.reviews_dir / '1'}")
    # The year's report, with the board's decision; and again any month checked after its last cycle.
    rebuilt = build_cycle_reports(replace(deps, clock=clock), [])
    year = next((w for w in rebuilt if w.label == "year-1"), None) or build_report(replace(deps, clock=clock), year=1)
    echo(f"  the year's report with the decision: {year.pages[Grade.alliance]}")
    echo(f"  Try: alliance review show --year 1 --workspace {deps.workspace.root}")
