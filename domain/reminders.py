"""Who is reminded of which period's return on which (London) day.

Before the deadline: on each day that is ``d`` days before the due day, for each ``d`` in
``reminder_days_before`` (0 is the due day itself). Overdue: the first day after the due day,
then every 7 days. Only partners without an accepted return are reminded, and overdue notices
look back over the last ``OVERDUE_PERIODS`` periods whose due day has passed.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.contract import Deadlines
from domain.periods import Period, due_date
from domain.return_status import ReturnStatus

OVERDUE_PERIODS = 3
OVERDUE_EVERY_DAYS = 7


class ReminderKind(StrEnum):
    before_deadline = "before-deadline"
    overdue = "overdue"


@dataclass(frozen=True)
class Reminder:
    period: Period
    partner_id: str
    kind: ReminderKind
    day: date  # the London day it is for
    days: int  # days left before the due day, or days past it


def reminder_on(due_day: date, today: date, days_before: Collection[int]) -> tuple[ReminderKind, int] | None:
    """The reminder (kind, days) that ``today`` calls for, if any."""
    left = (due_day - today).days
    if left >= 0:
        return (ReminderKind.before_deadline, left) if left in days_before else None
    past = -left
    return (ReminderKind.overdue, past) if (past - 1) % OVERDUE_EVERY_DAYS == 0 else None


def reminders_for(
    period: Period, *, deadlines: Deadlines, today: date, statuses: Mapping[str, ReturnStatus]
) -> list[Reminder]:
    """One reminder per partner without an accepted return, if ``today`` is a reminder day."""
    due = reminder_on(due_date(period, deadlines.due_day), today, deadlines.reminder_days_before)
    if due is None:
        return []
    kind, days = due
    return [
        Reminder(period, partner_id, kind, today, days)
        for partner_id, status in sorted(statuses.items())
        if status is not ReturnStatus.accepted
    ]


def queueing_rule(deadlines: Deadlines) -> str:
    """When reminders are queued, in a sentence (as reminder_on and reminder_periods decide)."""
    before = sorted(deadlines.reminder_days_before, reverse=True)
    days = " and ".join(str(d) for d in before)
    ahead = f"{days} day(s) before the due day" if before else "no reminder before the due day"
    return (
        f"reminders go {ahead} (the {deadlines.due_day}th of the month after the period), overdue notices the day "
        f"after it and then every {OVERDUE_EVERY_DAYS} days, for the last {OVERDUE_PERIODS} months overdue"
    )


def reminder_periods(today: date, *, start: Period, deadlines: Deadlines) -> list[Period]:
    """Periods worth looking at today: due within the largest reminder window, or recently overdue."""
    last_month = Period(today.year, today.month).plus(-1)
    window = max(deadlines.reminder_days_before, default=-1)
    upcoming = [
        p for p in (last_month, last_month.next()) if 0 <= (due_date(p, deadlines.due_day) - today).days <= window
    ]
    newest_overdue = last_month if due_date(last_month, deadlines.due_day) < today else last_month.plus(-1)
    overdue = [newest_overdue.plus(-k) for k in range(OVERDUE_PERIODS)]
    return sorted(p for p in {*upcoming, *overdue} if p >= start)
