"""`alliance demo`: a demo alliance, a few months of returns filled the way people fill them,
the monthly cycles run in Prefect, and a readable summary at the end."""

import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.access import Role
from domain.contract import Contract
from domain.errors import UsageError
from domain.money import format_pounds
from domain.periods import LONDON, Period, due_at
from domain.publication import Grade
from integrations.slack.fake_server import TOKEN, FakeSlack
from integrations.slack.notifier import SlackNotifier
from integrations.spreadsheets.filler import fill_return
from integrations.spreadsheets.templates import build_template, write_templates
from integrations.workspace import Workspace
from models import repo, reviews
from models.db import session_scope
from services.accounts import create_with_password
from services.deps import Deps, fixed_clock, production_deps
from services.locks import unlock_return
from services.notifications import deliver_notifications
from services.payment_approval import approve_run
from services.payment_reports import due_by_partner
from services.payments import is_provisional
from services.report import build_cycle_reports, build_report
from services.spot_checks import DrawMade, record_check
from services.statements import pay_period, write_statements
from services.status import count_statuses, period_status

NAMES = [
    "Harbour Trust",
    "City Mind",
    "Northfield Works",
    "Open Door Housing",
    "Bridges Recovery",
    "Steps Together",
    "Riverside Advice",
    "New Leaf Women",
    "Kinship Carers",
    "Youth Forward",
    "Second Chance",
    "Warm Homes Network",
]
SIZES = ["small", "large", "medium", "small", "medium", "large"]
ROWS_BY_SIZE = {"small": (18, 35), "medium": (45, 80), "large": (110, 170)}
CORE_BY_SIZE = {"small": "48000", "medium": "120000", "large": "310000.50"}
CONTRACT_START = Period(2026, 4)

# Which partner (by position) does what: the scenarios a real cycle meets.
ERRORS_PARTNER = 1  # first return has mistakes, the corrected one follows
LATE_PARTNER = 2  # misses the due date in month 2 (month 1 when the demo has one month)
TEXT_DATES_PARTNER = 1
BOOLEANS_PARTNER = 2
NUMERIC_IDS_PARTNER = 3
WEAK_PARTNER = 4  # achieves about half what others do with the same cases: the annual review flags it
WEAK_QUALITY = 0.5
# After its first month is paid, this partner finds it counted outcomes not yet sustained and resends that month's
# return with most of them taken out (an officer unlocks it first): the overpayment is recovered over the following
# months, at most a quarter of each payment. Needs four months or more.
RESENDING_PARTNER = 0
RESEND_FROM_MONTHS = 4
REVIEW_AT = datetime(2027, 4, 20, 9, tzinfo=LONDON)  # after contract year 1 and its last returns


def slug(name: str) -> str:
    return "-".join(name.lower().split())


def partner_names(count: int) -> list[str]:
    return [NAMES[i] if i < len(NAMES) else f"Partner {i + 1}" for i in range(count)]


def contract_yaml(count: int, *, approval: bool = False) -> str:
    """The demo's contract for ``count`` partners; ``approval``: an officer approves every run (the demo's own)."""
    lines = [
        "alliance:",
        "  name: Northfield Wellbeing Alliance (demo)",
        "  commissioner: Northfield Council",
        f"  contract_start: {CONTRACT_START}",
        '  officers_channel: "#alliance-officers"',
        '  board_channel: "#alliance-board"',
        "partners:",
    ]
    for i, name in enumerate(partner_names(count)):
        size = SIZES[i % len(SIZES)]
        lines.append(
            f"  - {{id: {slug(name)}, name: {name}, size: {size}, annual_core: {CORE_BY_SIZE[size]}, "
            f'slack_channel: "#{slug(name)}"}}'
        )
    lines += [
        "framework:",
        "  version: 1",
        "  bands: {standard: 1.0, complex: 1.5, very_complex: 2.0}",
        "  measures:",
        "    - {id: housing_sustained, label: Housing sustained 3 months, weight: 3, monthly_target: 40}",
        "    - {id: into_work, label: Started work or training, weight: 2, monthly_target: 25}",
        "    - {id: wellbeing_up, label: Wellbeing score improved, weight: 1, monthly_target: 90}",
        "payments: {annual_outcome_pool: 600000, collar: 0.8, cap: 1.2, "
        f"require_officer_approval: {'true' if approval else 'false'}}}",
        "review: {bottom_fraction: 0.10, min_accepted_months: 9, control_limit_z: 1.96, overdispersion: true,",
        "         right_of_reply_days: 14, board_timeout_days: 30, step_down_percent_options: [10, 25, 50, 100]}",
        "deadlines: {due_day: 14, reminder_days_before: [3, 1]}",
        "",
    ]
    return "\n".join(lines)


RATES = {"housing_sustained": 0.07, "into_work": 0.05, "wellbeing_up": 0.18}


def participant_rows(rng: random.Random, partner_index: int, period: Period, count: int) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        referred = period.first_day - timedelta(days=rng.randint(0, 300))
        band = rng.choices(["standard", "complex", "very_complex"], weights=[5, 3, 2])[0]
        quality = WEAK_QUALITY if partner_index == WEAK_PARTNER else 1.0
        achieved = {m: rng.random() < rate * quality for m, rate in RATES.items()}
        pid: Any = f"{slug(NAMES[partner_index % len(NAMES)])[:3].upper()}-{period.month:02d}{n:04d}"
        if partner_index == NUMERIC_IDS_PARTNER:
            pid = 100000 + period.month * 1000 + n
        row: dict[str, Any] = {"participant_id": pid, "complexity_band": band}
        if partner_index == TEXT_DATES_PARTNER:
            row["referral_date"] = referred.strftime("%d/%m/%Y")
            row["complexity_band"] = band.replace("_", " ").capitalize()
        else:
            row["referral_date"] = referred
        for measure, done in achieved.items():
            if partner_index == BOOLEANS_PARTNER:
                row[measure] = done
            elif partner_index == TEXT_DATES_PARTNER:
                row[measure] = "Y" if done else "n "
            else:
                row[measure] = "Yes" if done else "No"
        rows.append(row)
    return rows


def summary_for(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def yes(value: Any) -> bool:
        return value is True or (isinstance(value, str) and value.strip().lower() in ("yes", "y"))

    summary: dict[str, Any] = {"participants": len(rows)}
    for measure in RATES:
        summary[measure] = sum(1 for r in rows if yes(r[measure]))
    return summary


def with_mistakes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    bad = [dict(r) for r in rows]
    bad[2]["complexity_band"] = "hard"
    bad[4]["into_work"] = "maybe"
    bad[5]["referral_date"] = "31/02/2026"
    bad[7]["participant_id"] = bad[6]["participant_id"]
    return bad


@dataclass(frozen=True)
class Arrival:
    at: datetime
    name: str
    content: bytes


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=LONDON)


def cycle_time(contract: Contract, period: Period) -> datetime:
    """Cycles run at 09:00 two days after the due date."""
    due = due_at(period, contract.deadlines.due_day).astimezone(LONDON)
    return local(due.date() + timedelta(days=2), 9)


def arrivals(contract: Contract, months: int, seed: int) -> list[Arrival]:
    rng = random.Random(seed)
    result = []
    late_month = 2 if months >= 3 else 1
    caught_up_later = months > late_month  # a later cycle picks the late return up as a correction
    for m in range(months):
        period = CONTRACT_START.plus(m)
        following = period.next().first_day
        for index, partner in enumerate(contract.partners):
            low, high = ROWS_BY_SIZE[partner.size.value]
            rows = participant_rows(rng, index, period, rng.randint(low, high))
            summary = None if index == NUMERIC_IDS_PARTNER else summary_for(rows)
            extra = ("notes", ["called twice" for _ in rows]) if index == BOOLEANS_PARTNER else None
            blanks = [3, 10] if index == NUMERIC_IDS_PARTNER else []

            def book_bytes(
                content_rows: list[dict[str, Any]],
                partner: Any = partner,
                summary: Any = summary,
                extra: Any = extra,
                blanks: Any = blanks,
                period: Period = period,
            ) -> bytes:
                book = build_template(contract, partner, period)
                return fill_return(book, content_rows, summary=summary, extra_column=extra, blank_rows_after=blanks)

            name = f"{partner.name} return {period}.xlsx"
            if index == ERRORS_PARTNER and m == 0:
                result.append(Arrival(local(following + timedelta(days=7), 16), name, book_bytes(with_mistakes(rows))))
                result.append(
                    Arrival(
                        local(following + timedelta(days=11), 10),
                        f"{partner.id}/{partner.name} return {period} corrected.xlsx",  # from their upload folder
                        book_bytes(rows),
                    )
                )
                # Someone's case-system export, renamed: nobody's return, so officers are told.
                export = b"participant_id,referral_date,complexity_band\r\nCM-001,03/04/2026,complex\r\n"
                result.append(Arrival(local(following + timedelta(days=5), 11), "case system export.xlsx", export))
            elif index == RESENDING_PARTNER and m == 0 and months >= RESEND_FROM_MONTHS:
                day = rng.randint(2, contract.deadlines.due_day - 1)  # drawn as for any partner: the same demo after
                hour = rng.randint(9, 17)
                result.append(Arrival(local(following + timedelta(days=day - 1), hour), name, book_bytes(rows)))
                fewer = [{**r, "housing_sustained": "No", "into_work": "No", "wellbeing_up": "No"} for r in rows]
                result.append(
                    Arrival(
                        local(following + timedelta(days=19), 10),  # the 20th: after the month was paid
                        f"{partner.id}/{partner.name} return {period} resent.xlsx",
                        book_bytes(fewer, summary=summary_for(fewer)),
                    )
                )
            elif index == LATE_PARTNER and m == late_month - 1:
                # After this period's cycle (day 16) when a later cycle exists, else just after the due date.
                day = 20 if caught_up_later else contract.deadlines.due_day + 1
                result.append(Arrival(local(following + timedelta(days=day - 1), 8), name, book_bytes(rows)))
            else:
                day = rng.randint(2, contract.deadlines.due_day - 1)
                result.append(
                    Arrival(local(following + timedelta(days=day - 1), rng.randint(9, 17)), name, book_bytes(rows))
                )
    return sorted(result, key=lambda a: a.at)


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
) -> None:
    """``run_cycle`` runs the monthly-cycle flow (passed in: flows sit above services).

    ``slack``: "none" keeps messages in the outbox; "local" delivers them to a local Slack test
    server (through the real slack_sdk client) and prints what each channel received."""
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
        _run_months(deps, months, seed, echo, run_cycle)
        _summary(deps, months, echo)
        if run_review is not None and months == 12:
            _review(deps, echo, run_review)
        elif run_review is not None:
            echo("Annual review: it needs the whole contract year (alliance demo --months 12).")
        if fake is not None:
            _slack_summary(fake, echo)
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
    deps: Deps, months: int, seed: int, echo: Callable[[str], None], run_cycle: Callable[[Period, Deps], Any]
) -> None:
    workspace, contract = deps.workspace, deps.contract
    echo(
        f"Demo workspace {workspace.root}: {len(contract.partners)} partners, {months} month(s) from "
        f"{CONTRACT_START}, seed {seed}"
    )
    echo("Filling partners' returns (some clean, one with mistakes then corrected, one late) ...")
    pending = arrivals(contract, months, seed)
    workspace.inbox.mkdir(parents=True, exist_ok=True)

    for m in range(months):
        period = CONTRACT_START.plus(m)
        write_templates(contract, period, workspace.templates_dir)
        if m == 0:  # an early cycle on the 5th: returns still arriving, so it pays core only (outcomes provisional)
            early = local(period.next().first_day + timedelta(days=4), 9)
            pending = _arrive(workspace, pending, early)
            echo(f"[{m + 1}/{months}] {period}: an early cycle on the 5th, before every return is in ...")
            report = run_cycle(period, replace(deps, clock=fixed_clock(early)))
            _report_runs(report, echo)
            _approve(replace(deps, clock=fixed_clock(early)), report, echo)
        now = cycle_time(contract, period)
        before = len(pending)
        pending = _arrive(workspace, pending, now)
        arrived = before - len(pending)
        echo(f"[{m + 1}/{months}] {period}: {arrived} file(s) arrived; running the monthly-cycle flow ...")
        report = run_cycle(period, replace(deps, clock=fixed_clock(now)))
        for outcome in report.outcomes:
            errors = sum(1 for f in outcome.findings if f.severity.value == "error")
            echo(
                f"      {outcome.filename}: {outcome.status} "
                f"(period {outcome.period}, v{outcome.version}, {errors} error(s))"
            )
        _report_runs(report, echo)
        _approve(replace(deps, clock=fixed_clock(now)), report, echo)
        if m == 0 and months >= RESEND_FROM_MONTHS:
            _unlock_for_resend(replace(deps, clock=fixed_clock(now)), period, echo)
        _check_claims(replace(deps, clock=fixed_clock(now)), report.spot_checks, doubtful=m == 1, echo=echo)
        if report.delivery is not None and not report.delivery.outbox_only:
            echo(f"      Slack: {report.delivery.summary()}")


DEMO_OFFICER = "Demo officer"


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


def _review(deps: Deps, echo: Callable[[str], None], run_review: Callable[[Deps], Any]) -> None:
    clock = MovingClock(REVIEW_AT)
    echo("")
    echo(f"Annual review of contract year 1 on {REVIEW_AT:%d/%m/%Y} (flow partner-review) ...")
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


def _slack_summary(fake: FakeSlack, echo: Callable[[str], None]) -> None:
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


def _summary(deps: Deps, months: int, echo: Callable[[str], None]) -> None:
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
