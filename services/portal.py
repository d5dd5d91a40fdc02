"""What a partner sees in the portal: its months, versions, findings, feedback, statements, messages and review.

Every function takes the signed-in :class:`Principal` and answers only for the partner it acts for; an id of
anything else (another partner's version, statement, upload) is :class:`NotFound`, in the same words as an id
that does not exist. The pages (web/) show what these return and decide nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from sqlmodel import Session, col, select

from domain.access import Principal, authorise, may
from domain.changes import Changes, compare
from domain.contract import Partner
from domain.errors import NotFound, UsageError
from domain.findings import CATALOGUE, Finding, Severity
from domain.notifications import EMAIL
from domain.periods import LONDON, Period, contract_month, london_date
from domain.return_status import Standing
from integrations.spreadsheets.reader import read_return
from integrations.spreadsheets.templates import build_template
from models import ledger, repo, reviews
from models.db import read_scope
from models.tables import FindingRecord, Notification, ReviewCase, ReviewRecord, Submission
from services.deps import Deps
from services.payments import statement_name
from services.status import period_cells

NOT_FOUND = "There is nothing here: the address may be mistyped, or it is not one of your organisation's"


def own_partner(deps: Deps, principal: Principal, action: str) -> Partner:
    """The one partner whose pages these are: the principal's, once the action is allowed."""
    authorise(principal, action)
    if len(principal.partner_ids) != 1:
        raise NotFound(NOT_FOUND)
    partner = deps.contract.partner(next(iter(principal.partner_ids)))
    if partner is None:  # the account names a partner the contract no longer has
        raise NotFound(NOT_FOUND)
    return partner


# --- Months --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    period: Period
    label: str  # "October 2026"
    standing: Standing
    late: bool
    due: str  # "14 November 2026"
    versions: int
    errors: int  # of the version shown (the latest refused one when sent back)
    shown: int | None  # the version id the month links to (accepted, else latest)


def month_label(period: Period) -> str:
    return period.first_day.strftime("%B %Y")


def _last_month(deps: Deps, partner: Partner, session: Session | None = None) -> Period:
    """The newest month shown: this one, or a later one something was already sent for (a simulated year)."""
    today = london_date(deps.clock())
    if session is None:
        with read_scope(deps.engine) as own:
            latest = repo.latest_period_of(own, partner_id=partner.id)
    else:
        latest = repo.latest_period_of(session, partner_id=partner.id)
    return max([Period(today.year, today.month)] + ([Period.parse(latest)] if latest else []))


def month_label_of(period: str | None) -> str:
    return month_label(Period.parse(period)) if period else "Unfiled"


def day_words(day: object) -> str:
    return f"{day:%-d %B %Y}"


def months(deps: Deps, principal: Principal) -> list[Month]:
    """Every month of the contract from its start to this one, newest first."""
    partner = own_partner(deps, principal, "portal returns")
    now = deps.clock()
    start = deps.contract.alliance.start
    result = []
    with read_scope(deps.engine) as session:
        # Every month that has begun, and any later one something was already sent for (a simulated year).
        period = _last_month(deps, partner, session)
        while period >= start:
            cells = period_cells(session, contract=deps.contract, period=period, now=now)
            [cell] = [c for c in cells if c.partner_id == partner.id]
            result.append(
                Month(
                    period=period,
                    label=month_label(period),
                    standing=cell.standing,
                    late=cell.late,
                    due=day_words(cell.due),
                    versions=cell.versions,
                    errors=cell.errors,
                    shown=cell.version_id,
                )
            )
            period = period.plus(-1)
    return result


@dataclass(frozen=True)
class MonthDetail:
    month: Month
    versions: list[Submission]  # newest first


def month(deps: Deps, principal: Principal, period_text: str) -> MonthDetail:
    try:
        period = Period.parse(period_text)
    except UsageError:
        raise NotFound(NOT_FOUND) from None
    for entry in months(deps, principal):
        if entry.period == period:
            partner = own_partner(deps, principal, "portal returns")
            with read_scope(deps.engine) as session:
                own = [
                    s for s in repo.submissions_for_period(session, period=str(period)) if s.partner_id == partner.id
                ]
            return MonthDetail(entry, sorted(own, key=lambda s: s.version or 0, reverse=True))
    raise NotFound(NOT_FOUND)


# --- Versions, findings, feedback ----------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One finding as the partner reads it."""

    code: str
    severity: str
    sheet: str | None
    cell: str | None
    value: str | None
    message: str
    fix: str


@dataclass(frozen=True)
class VersionDetail:
    submission: Submission
    findings: list[Shown]
    counts: dict[str, int]
    changes: Changes | None
    changes_note: str | None
    has_feedback: bool


def shown_findings(records: list[FindingRecord]) -> list[Shown]:
    order = {Severity.error.value: 0, Severity.warning.value: 1, Severity.info.value: 2}
    shown = [
        Shown(r.code, r.severity, r.sheet, r.cell, r.value, r.message, r.fix or _catalogue_fix(r)) for r in records
    ]
    return sorted(shown, key=lambda f: order.get(f.severity, 3))


def shown_from(findings: list[Finding]) -> list[Shown]:
    return [Shown(f.code, f.severity.value, f.sheet, f.cell, f.value, f.message, f.fix) for f in findings]


def _catalogue_fix(record: FindingRecord) -> str:
    """For findings recorded before fixes were kept: the catalogue's words, filled with what was recorded."""
    if record.code not in CATALOGUE:
        return ""
    return Finding(record.code, record.sheet, record.cell, record.row, record.column, record.value).fix


def own_submission(deps: Deps, principal: Principal, submission_id: int) -> Submission:
    """A version the principal may read: its own partner's; for the office (``status``), any partner's."""
    if principal.sees_all and may(principal, "status"):
        with read_scope(deps.engine) as session:
            submission = session.get(Submission, submission_id)
        if submission is None or submission.partner_id is None or submission.status == "quarantined":
            raise NotFound(NOT_FOUND)
        return submission
    partner = own_partner(deps, principal, "portal returns")
    with read_scope(deps.engine) as session:
        submission = session.get(Submission, submission_id)
    if submission is None or submission.partner_id != partner.id or submission.status == "quarantined":
        raise NotFound(NOT_FOUND)
    return submission


def version(deps: Deps, principal: Principal, submission_id: int) -> VersionDetail:
    submission = own_submission(deps, principal, submission_id)
    assert submission.id is not None
    with read_scope(deps.engine) as session:
        records = repo.findings_of(session, submission_id=submission.id)
        earlier = _previous(session, submission)
    findings = shown_findings(records)
    counts = {s.value: sum(1 for f in findings if f.severity == s.value) for s in Severity}
    changes, note = (None, None)
    if earlier is not None:
        changes, note = changes_between(
            earlier.stored_path,
            earlier.filename,
            earlier.version or 0,
            submission.stored_path,
            submission.filename,
            tuple(deps.contract.framework.columns),
            tuple(deps.contract.framework.header_aliases.items()),
        )
    has_feedback = bool(submission.feedback_path) and Path(submission.feedback_path or "").is_file()
    return VersionDetail(submission, findings, counts, changes, note, has_feedback)


def _previous(session: Session, submission: Submission) -> Submission | None:
    if submission.version is None or submission.version <= 1 or submission.period is None:
        return None
    query = select(Submission).where(
        Submission.partner_id == submission.partner_id,
        Submission.period == submission.period,
        Submission.version == submission.version - 1,
    )
    return session.exec(query).first()


@lru_cache(maxsize=64)
def changes_between(
    before_path: str,
    before_name: str,
    before_version: int,
    after_path: str,
    after_name: str,
    columns: tuple[str, ...],
    aliases: tuple[tuple[str, str], ...] = (),
) -> tuple[Changes | None, str | None]:
    """What changed from one version to the next, read again from the archive (as the feedback workbook says)."""
    try:
        headers = dict(aliases)
        before = read_return(before_name, Path(before_path).read_bytes(), headers=headers).raw
        after = read_return(after_name, Path(after_path).read_bytes(), headers=headers).raw
    except OSError:
        return None, "The earlier version could not be read again, so the two are not compared."
    if before is None or after is None:
        return None, "One of the two versions could not be read, so they are not compared."
    return compare(before.table.records(), after.table.records(), list(columns), before_version), None


def feedback_file(deps: Deps, principal: Principal, submission_id: int) -> Path:
    submission = own_submission(deps, principal, submission_id)
    path = Path(submission.feedback_path or "")
    if not submission.feedback_path or not path.is_file():
        raise NotFound(NOT_FOUND)
    return path


# --- Templates -----------------------------------------------------------------------------------


def template(deps: Deps, principal: Principal, period_text: str) -> tuple[str, bytes]:
    """The period's return template, made for the partner: (file name, workbook bytes)."""
    partner = own_partner(deps, principal, "portal template")
    try:
        period = Period.parse(period_text)
        contract_month(period, deps.contract.alliance.start)
    except UsageError:
        raise NotFound(NOT_FOUND) from None
    if period > _last_month(deps, partner):  # a month that has not begun has no return yet
        raise NotFound(NOT_FOUND)
    book = build_template(deps.contract, partner, period, portal_url=deps.workspace.base_url)
    buffer = BytesIO()
    book.save(buffer)
    return f"{partner.id}-{period}.xlsx", buffer.getvalue()


# --- Statements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    period: str
    version: int
    status: str  # final | approved
    total_pence: int
    issued: datetime


def statements(deps: Deps, principal: Principal) -> list[Statement]:
    """The partner's statements, newest first: one per payable run version that issued them."""
    partner = own_partner(deps, principal, "portal statements")
    found = []
    with read_scope(deps.engine) as session:
        for period in sorted(repo.periods_with_runs(session), reverse=True):
            for state in reversed(ledger.run_states(session, period=period)):
                run = state.run
                if not state.payable or run.id is None or not _statement_path(deps, partner.id, run).is_file():
                    continue
                total = sum(
                    line.amount_pence for line in repo.lines_of(session, run_id=run.id) if line.partner_id == partner.id
                )
                issued = state.approval.approved_at if state.approval else run.created_at
                found.append(Statement(period, run.version, state.status, total, issued))
    return found


def _statement_path(deps: Deps, partner_id: str, run: object) -> Path:
    from models.tables import PaymentRun

    assert isinstance(run, PaymentRun)
    return deps.workspace.statements_dir / run.period / f"v{run.version}" / statement_name(partner_id, run)


def statement_file(deps: Deps, principal: Principal, period_text: str, version_number: int) -> Path:
    partner = own_partner(deps, principal, "portal statements")
    with read_scope(deps.engine) as session:
        states = ledger.run_states(session, period=period_text[:7])
    for state in states:
        if state.run.version == version_number and state.payable:
            path = _statement_path(deps, partner.id, state.run)
            if path.is_file():
                return path
    raise NotFound(NOT_FOUND)


# --- Messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    text: str  # Slack mrkdwn as queued; the page shows it as plain text
    created_at: datetime
    delivered: str  # where it went so far, in words
    partner_id: str | None


def messages(deps: Deps, principal: Principal, limit: int = 200) -> list[Message]:
    """The messages the outbox holds for the caller, one per message whichever of its channels, newest first: a
    partner's own (`alliance notifications` shows a partner the same), or every message for an officer."""
    authorise(principal, "notifications")
    query = select(Notification).order_by(col(Notification.id).desc())
    if not principal.sees_all:
        if len(principal.partner_ids) != 1:
            return []
        query = query.where(Notification.partner_id == next(iter(principal.partner_ids)))
    with read_scope(deps.engine) as session:
        rows = session.exec(query.limit(limit * 4)).all()
    grouped: dict[str, list[Notification]] = {}
    for row in rows:
        grouped.setdefault(row.dedup_key.split(f"|{EMAIL}", 1)[0], []).append(row)
    result = []
    for copies in grouped.values():
        first = min(copies, key=lambda n: n.id or 0)
        sent = [n.channel.removeprefix(EMAIL) for n in copies if n.status == "sent"]
        delivered = f"sent to {', '.join(sent)}" if sent else "waiting to be sent"
        assert first.id is not None
        result.append(Message(first.id, first.kind, first.text, first.created_at, delivered, first.partner_id))
    return sorted(result, key=lambda m: m.id, reverse=True)[:limit]


# --- Review --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewNotice:
    year: int
    label: str
    reason: str
    reply_closes: str
    reply_open: bool
    evidence: bool
    replies: list[tuple[str, str, str | None]]  # (when, by, file name) of each reply received
    decision: str | None


def reviews_of(deps: Deps, principal: Principal) -> list[ReviewNotice]:
    """The reviews in which the partner is flagged: the notice, the evidence pack, its replies, the decision."""
    partner = own_partner(deps, principal, "portal review")
    from services.review import year_label

    notices = []
    today = london_date(deps.clock())
    with read_scope(deps.engine) as session:
        for review, case in _flagged_cases(session, partner.id):
            assert case.id is not None
            replies = [
                (f"{r.received_at.astimezone(LONDON):%-d %B %Y %H:%M}", r.by, r.filename)
                for r in reviews.replies_of(session, case_id=case.id)
            ]
            decisions = reviews.decisions_of(session, case_id=case.id)
            decided = decisions[-1] if decisions else None
            notices.append(
                ReviewNotice(
                    year=review.year,
                    label=year_label(deps.contract, review.year),
                    reason=case.reason,
                    reply_closes=day_words(review.reply_closes),
                    reply_open=today <= review.reply_closes,
                    evidence=_evidence_path(deps, review.year, case) is not None,
                    replies=replies,
                    decision=_decision_words(decided) if decided else None,
                )
            )
    return notices


def _flagged_cases(session: Session, partner_id: str) -> list[tuple[ReviewRecord, ReviewCase]]:
    query = (
        select(ReviewRecord, ReviewCase)
        .join(ReviewCase, col(ReviewCase.review_id) == col(ReviewRecord.id))
        .where(ReviewCase.partner_id == partner_id, ReviewCase.standing == "flagged")
        .order_by(col(ReviewRecord.year).desc())
    )
    return [(review, case) for review, case in session.exec(query)]


def _decision_words(decision: object) -> str:
    from models.tables import BoardDecisionRecord

    assert isinstance(decision, BoardDecisionRecord)
    words = decision.kind.replace("_", " ")
    if decision.step_down_percent:
        words += f" of {decision.step_down_percent}%"
    if decision.effective:
        words += f" from {month_label(Period.parse(decision.effective))}"
    return f"{words[0].upper()}{words[1:]}: {decision.reason}"


def _evidence_path(deps: Deps, year: int, case: ReviewCase) -> Path | None:
    if not case.evidence_path:
        return None
    path = deps.workspace.reviews_dir / str(year) / Path(case.evidence_path).name
    return path if path.is_file() else None


def evidence_file(deps: Deps, principal: Principal, year: int) -> Path:
    partner = own_partner(deps, principal, "portal review")
    with read_scope(deps.engine) as session:
        for review, case in _flagged_cases(session, partner.id):
            if review.year == year:
                path = _evidence_path(deps, year, case)
                if path is not None:
                    return path
    raise NotFound(NOT_FOUND)


def format_when(moment: datetime) -> str:
    return f"{moment.astimezone(LONDON):%-d %B %Y at %H:%M}"
