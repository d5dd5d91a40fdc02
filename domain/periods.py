"""Reporting periods (calendar months, ``YYYY-MM``) and their place in the contract year."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import UsageError

LONDON = ZoneInfo("Europe/London")
_PERIOD = re.compile(r"^([0-9]{4})-([0-9]{2})$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Period":
        match = _PERIOD.match(text.strip()) if isinstance(text, str) else None
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise UsageError(f"period {text!r} is not a month written YYYY-MM (e.g. 2026-10)")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def next(self) -> "Period":
        return self.plus(1)

    def plus(self, months: int) -> "Period":
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    def months_since(self, other: "Period") -> int:
        return (self.year - other.year) * 12 + (self.month - other.month)

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def contract_month(period: Period, contract_start: Period) -> tuple[int, int]:
    """(contract year, month 1..12 within it) of ``period``; refuses periods before the start."""
    offset = period.months_since(contract_start)
    if offset < 0:
        raise UsageError(f"period {period} is before the contract start {contract_start}")
    return offset // 12 + 1, offset % 12 + 1


def current_period(now: datetime) -> Period:
    """The month it is in London at ``now`` (UTC-aware)."""
    today = london_date(now)
    return Period(today.year, today.month)


def payable_period(period: Period, contract_start: Period, now: datetime) -> Period:
    """``period``, once it is one that may be run and paid at ``now``: inside the contract, and not after the current
    month (core is paid in advance at the start of a month, never before it begins). Every face asks here: the
    command line, the flows, the portal and the payment runs themselves."""
    contract_month(period, contract_start)
    current = current_period(now)
    if period > current:
        raise UsageError(
            f"period {period} has not begun (it is {current} now): its core is not due before "
            f"{format_day(period.first_day)}, so nothing can be run or paid for it yet"
        )
    return period


EARLIEST_REFERRAL_YEARS = 10  # a referral date more than this before the contract start is a slip


def earliest_referral(contract_start: Period) -> date:
    return date(contract_start.year - EARLIEST_REFERRAL_YEARS, contract_start.month, 1)


def due_date(period: Period, due_day: int) -> date:
    """The London calendar day on which ``period``'s return is due (in the following month)."""
    following = period.next()
    return date(following.year, following.month, due_day)


def due_at(period: Period, due_day: int) -> datetime:
    """The end (23:59:59 London time) of the due day in the month after ``period``, UTC-aware."""
    local = datetime.combine(due_date(period, due_day), time(23, 59, 59), LONDON)
    return local.astimezone(ZoneInfo("UTC"))


def london_date(moment: datetime) -> date:
    """The calendar day in London at ``moment`` (UTC-aware)."""
    if moment.tzinfo is None:
        raise ValueError("a moment without a time zone has no London date")
    return moment.astimezone(LONDON).date()


def format_day(day: date) -> str:
    """dd/mm/yyyy, as partners and officers in England write dates."""
    return day.strftime("%d/%m/%Y")


def latest_due_period(now: datetime, due_day: int) -> Period:
    """The most recent period whose return was due by ``now``: the one a scheduled cycle runs."""
    today = london_date(now)
    period = Period(today.year, today.month).plus(-1)
    while due_at(period, due_day) > now:
        period = period.plus(-1)
    return period


def latest_ended_year(contract_start: Period, today: date) -> int | None:
    """The most recent contract year (1 = the twelve months from ``contract_start``) that ended
    before ``today``, or None while the first is still running."""
    ended = Period(today.year, today.month).months_since(contract_start) // 12
    return ended if ended >= 1 else None
