"""Reminders before the due date and overdue notices, queued in the outbox once per day."""

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session

from domain.contract import Contract
from domain.periods import Period, due_date, format_day, london_date
from domain.reminders import Reminder, ReminderKind, queueing_rule, reminder_periods, reminders_for
from domain.return_status import ReturnStatus
from models import repo
from models.db import session_scope
from services import messages, outbox
from services.deps import Deps
from services.status import PartnerReturn, partner_returns


@dataclass(frozen=True)
class Queued:
    kind: str
    channel: str
    dedup_key: str
    new: bool  # False: already queued earlier the same day
    period: str | None = None
    partner_id: str | None = None


@dataclass
class ReminderReport:
    day: date
    periods: list[str]
    queued: list[Queued] = field(default_factory=list)
    # Each period looked at whose due day has passed: (period, [(partner id, what is outstanding)]), also on a day
    # with no reminder to queue.
    missing: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    rule: str = ""  # when reminders are queued, in words

    @property
    def repeats(self) -> int:
        """Messages this run found already queued earlier the same day."""
        return sum(1 for item in self.queued if not item.new)

    def counts(self) -> dict[str, int]:
        """Messages queued by this run (not those already queued today), by kind."""
        counts: dict[str, int] = {}
        for item in self.queued:
            if item.new:
                counts[item.kind] = counts.get(item.kind, 0) + 1
        return counts


def reminder_key(reminder: Reminder) -> str:
    return f"reminder:{reminder.period}:{reminder.partner_id}:{reminder.kind}:{reminder.day.isoformat()}"


def send_reminders(deps: Deps, *, today: date | None = None) -> ReminderReport:
    """Queue today's reminders and overdue notices; running it again the same day queues nothing."""
    now = deps.clock()
    day = today or london_date(now)
    contract = deps.contract
    periods = reminder_periods(day, start=contract.alliance.start, deadlines=contract.deadlines)
    report = ReminderReport(day=day, periods=[str(p) for p in periods], rule=queueing_rule(contract.deadlines))
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=contract)
        chase: list[tuple[Period, list[PartnerReturn]]] = []
        overdue_today = False
        for period in periods:
            returns = {r.partner.id: r for r in partner_returns(session, contract=contract, period=period, now=now)}
            statuses = {partner_id: r.state.status for partner_id, r in returns.items()}
            for reminder in reminders_for(period, deadlines=contract.deadlines, today=day, statuses=statuses):
                report.queued.append(_remind(session, contract, reminder, returns[reminder.partner_id], now))
                overdue_today |= reminder.kind is ReminderKind.overdue
            if due_date(period, contract.deadlines.due_day) < day:
                chase.append((period, [r for r in returns.values() if r.state.status is not ReturnStatus.accepted]))
        if overdue_today:
            report.queued.append(_tell_officers(session, contract, day, chase, now))
    report.missing = [
        (str(period), [(r.partner.id, _outstanding(r)) for r in entries]) for period, entries in chase if entries
    ]
    return report


def _enqueue(
    session: Session,
    *,
    kind: str,
    channel: str,
    key: str,
    text: str,
    at: datetime,
) -> Queued:
    new = not repo.has_notification(session, dedup_key=key)
    repo.enqueue(session, dedup_key=key, channel=channel, kind=kind, text=text, at=at)
    return Queued(kind, channel, key, new)


def _remind(session: Session, contract: Contract, reminder: Reminder, entry: PartnerReturn, now: datetime) -> Queued:
    latest = entry.latest
    text = messages.return_reminder(
        partner_name=entry.partner.name,
        period=str(reminder.period),
        due=format_day(due_date(reminder.period, contract.deadlines.due_day)),
        kind=reminder.kind,
        days=reminder.days,
        status=entry.state.status,
        version=latest.version if latest else None,
        filename=latest.filename if latest else None,
        errors=latest.error_count if latest else 0,
        feedback=Path(latest.feedback_path).name if latest and latest.feedback_path else None,
    )
    key, kind = reminder_key(reminder), f"reminder_{reminder.kind.name}"
    new = not outbox.told(session, entry.partner, dedup_key=key)
    payload = {"period": str(reminder.period), "days": reminder.days}
    queued = outbox.tell_partner(session, entry.partner, dedup_key=key, kind=kind, text=text, at=now, payload=payload)
    channels = ", ".join(n.channel for n in queued)
    return Queued(kind, channels, key, new, str(reminder.period), entry.partner.id)


def _tell_officers(
    session: Session, contract: Contract, day: date, chase: list[tuple[Period, list[PartnerReturn]]], now: datetime
) -> Queued:
    periods = [
        (
            str(period),
            format_day(due_date(period, contract.deadlines.due_day)),
            [(r.partner.name, _outstanding(r)) for r in entries],
        )
        for period, entries in chase
        if entries
    ]
    return _enqueue(
        session,
        kind="overdue_summary",
        channel=contract.alliance.officers_channel,
        key=f"overdue-summary:{day.isoformat()}",
        text=messages.overdue_summary(day=format_day(day), periods=periods),
        at=now,
    )


def _outstanding(entry: PartnerReturn) -> str:
    latest = entry.latest
    return messages.outstanding(
        status=entry.state.status,
        version=latest.version if latest else None,
        errors=latest.error_count if latest else 0,
    )
