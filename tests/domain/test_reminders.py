from datetime import UTC, date, datetime, timedelta

import pytest

from domain.contract import Deadlines
from domain.periods import LONDON, Period, london_date
from domain.reminders import ReminderKind, reminder_on, reminder_periods, reminders_for
from domain.return_status import ReturnStatus

DEADLINES = Deadlines(due_day=14, reminder_days_before=[3, 1])
OCTOBER = Period(2026, 10)  # due Saturday 14/11/2026
START = Period(2026, 4)
NOBODY = {"city-mind": ReturnStatus.awaiting, "harbour-trust": ReturnStatus.awaiting}


def kinds(day: date, statuses: dict[str, ReturnStatus] = NOBODY) -> list[tuple[str, ReminderKind, int]]:
    return [
        (r.partner_id, r.kind, r.days)
        for r in reminders_for(OCTOBER, deadlines=DEADLINES, today=day, statuses=statuses)
    ]


def test_before_the_deadline_only_on_the_configured_days() -> None:
    due = date(2026, 11, 14)
    sent = {(due - day).days: reminder_on(due, day, [3, 1]) for day in (due - timedelta(days=n) for n in range(6))}
    assert sent == {
        5: None,
        4: None,
        3: (ReminderKind.before_deadline, 3),
        2: None,
        1: (ReminderKind.before_deadline, 1),
        0: None,
    }
    assert reminder_on(due, due, [0]) == (ReminderKind.before_deadline, 0)


def test_overdue_the_day_after_then_weekly() -> None:
    due = date(2026, 11, 14)
    overdue_days = [n for n in range(1, 40) if reminder_on(due, due + timedelta(days=n), [3, 1])]
    assert overdue_days == [1, 8, 15, 22, 29, 36]
    assert reminder_on(due, date(2026, 11, 22), []) == (ReminderKind.overdue, 8)


def test_the_london_day_decides_at_midnight_in_winter() -> None:
    last_minute = datetime(2026, 11, 14, 23, 59, tzinfo=LONDON)
    assert kinds(london_date(last_minute)) == []  # the due day itself: not a reminder day in [3, 1]
    assert kinds(london_date(last_minute + timedelta(minutes=1))) == [
        ("city-mind", ReminderKind.overdue, 1),
        ("harbour-trust", ReminderKind.overdue, 1),
    ]


def test_the_london_day_decides_in_summer_time() -> None:
    april_due = date(2026, 5, 14)
    last_minute = datetime(2026, 5, 14, 22, 59, tzinfo=UTC)  # 23:59 BST
    first_minute = datetime(2026, 5, 14, 23, 0, tzinfo=UTC)  # 00:00 BST on the 15th
    assert reminder_on(april_due, london_date(last_minute), [3, 1]) is None
    assert reminder_on(april_due, london_date(first_minute), [3, 1]) == (ReminderKind.overdue, 1)


def test_the_weekly_cadence_keeps_to_london_days_across_the_clock_change() -> None:
    # September's return is due 14/10/2026 (BST); clocks go back on 25/10/2026.
    due = date(2026, 10, 14)
    mornings = [datetime(2026, 10, d, 8, tzinfo=LONDON) for d in range(15, 31)]
    sent = [m.day for m in mornings if reminder_on(due, london_date(m), [3, 1])]
    assert sent == [15, 22, 29]
    assert mornings[14].utcoffset() == timedelta(0) and mornings[0].utcoffset() == timedelta(hours=1)


def test_a_partner_with_an_accepted_return_is_not_reminded_and_a_rejected_one_is() -> None:
    statuses = {
        "city-mind": ReturnStatus.rejected,
        "harbour-trust": ReturnStatus.accepted,
        "northfield-works": ReturnStatus.missing,
    }
    assert kinds(date(2026, 11, 11), statuses) == [
        ("city-mind", ReminderKind.before_deadline, 3),
        ("northfield-works", ReminderKind.before_deadline, 3),
    ]
    assert [p for p, _, _ in kinds(date(2026, 11, 15), statuses)] == ["city-mind", "northfield-works"]
    assert kinds(date(2026, 11, 16), statuses) == []


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # 11/11: October due in 3 days; overdue: September, August, July.
        (date(2026, 11, 11), ["2026-07", "2026-08", "2026-09", "2026-10"]),
        # 15/11: October overdue too; the window moves on and July drops out.
        (date(2026, 11, 15), ["2026-08", "2026-09", "2026-10"]),
        # 14/11 is October's due day: inside the window, not yet overdue.
        (date(2026, 11, 14), ["2026-07", "2026-08", "2026-09", "2026-10"]),
        # Only periods since the contract start.
        (date(2026, 5, 11), ["2026-04"]),
        (date(2026, 4, 20), []),
    ],
)
def test_the_periods_looked_at(today: date, expected: list[str]) -> None:
    assert [str(p) for p in reminder_periods(today, start=START, deadlines=DEADLINES)] == expected


def test_a_wide_window_can_reach_the_current_month() -> None:
    deadlines = Deadlines(due_day=2, reminder_days_before=[5])
    periods = reminder_periods(date(2026, 10, 28), start=START, deadlines=deadlines)
    assert Period(2026, 10) in periods  # due 02/11/2026, 5 days ahead
    assert reminder_periods(date(2026, 10, 28), start=START, deadlines=Deadlines(due_day=2)) == [
        Period(2026, 7),
        Period(2026, 8),
        Period(2026, 9),
    ]
