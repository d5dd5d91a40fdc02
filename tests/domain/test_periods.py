from datetime import UTC, date, datetime

import pytest

from domain.errors import UsageError
from domain.periods import (
    Period,
    contract_month,
    due_at,
    due_date,
    format_day,
    latest_due_period,
    latest_ended_year,
    london_date,
    payable_period,
)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "October", "", "2026-00"])
def test_malformed_periods_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(UsageError, match="YYYY-MM"):
        Period.parse(text)


def test_contract_month_counts_from_the_start_and_wraps_each_year() -> None:
    start = Period(2026, 4)
    assert contract_month(Period(2026, 4), start) == (1, 1)
    assert contract_month(Period(2027, 3), start) == (1, 12)
    assert contract_month(Period(2027, 4), start) == (2, 1)
    with pytest.raises(UsageError, match="before the contract start"):
        contract_month(Period(2026, 3), start)


def test_due_date_is_end_of_due_day_in_london_time() -> None:
    # 14 November 2026 is GMT; 14 May 2026 is BST (UTC+1).
    assert due_at(Period(2026, 10), 14) == datetime(2026, 11, 14, 23, 59, 59, tzinfo=UTC)
    assert due_at(Period(2026, 4), 14) == datetime(2026, 5, 14, 22, 59, 59, tzinfo=UTC)


def test_due_date_and_london_date() -> None:
    assert due_date(Period(2026, 12), 14) == date(2027, 1, 14)
    assert london_date(datetime(2026, 5, 14, 23, 0, tzinfo=UTC)) == date(2026, 5, 15)
    assert london_date(datetime(2026, 11, 14, 23, 59, tzinfo=UTC)) == date(2026, 11, 14)
    assert format_day(date(2027, 1, 4)) == "04/01/2027"
    with pytest.raises(ValueError, match="time zone"):
        london_date(datetime(2026, 5, 14, 23, 0))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 14, 23, 59, 58, tzinfo=UTC), "2026-09"),  # October's due at 23:59:59 GMT on the 14th
        (datetime(2026, 11, 15, 0, 0, 0, tzinfo=UTC), "2026-10"),
        (datetime(2026, 11, 16, 9, 0, tzinfo=UTC), "2026-10"),
        (datetime(2027, 1, 16, 9, 0, tzinfo=UTC), "2026-12"),  # across the year end
        (datetime(2026, 7, 14, 22, 59, 58, tzinfo=UTC), "2026-05"),  # June's due 23:59:59 BST = 22:59:59 UTC
        (datetime(2026, 7, 14, 23, 0, 0, tzinfo=UTC), "2026-06"),
    ],
)
def test_a_scheduled_cycle_runs_the_latest_period_already_due(now: datetime, expected: str) -> None:
    assert str(latest_due_period(now, due_day=14)) == expected


def test_the_latest_ended_contract_year_counts_whole_years_from_the_start() -> None:
    start = Period(2026, 4)
    assert latest_ended_year(start, date(2027, 3, 31)) is None
    assert latest_ended_year(start, date(2027, 4, 1)) == 1
    assert latest_ended_year(start, date(2028, 3, 31)) == 1
    assert latest_ended_year(start, date(2028, 4, 20)) == 2
    assert latest_ended_year(start, date(2026, 1, 1)) is None  # before the contract


# Issue 31, case 3: a month still to come is never run or paid (its core is paid in advance, at its start).
@pytest.mark.parametrize(
    ("now", "latest"),
    [
        (datetime(2026, 12, 5, 9, tzinfo=UTC), "2026-12"),
        (datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "2026-11"),  # GMT: still November in London
        (datetime(2026, 5, 31, 23, 30, tzinfo=UTC), "2026-06"),  # BST: already June in London
    ],
)
def test_a_period_is_payable_up_to_the_current_london_month_and_not_after(now: datetime, latest: str) -> None:
    start = Period(2026, 4)
    assert payable_period(Period.parse(latest), start, now) == Period.parse(latest)
    future = Period.parse(latest).next()
    with pytest.raises(UsageError, match=rf"period {future} has not begun \(it is {latest} now\)"):
        payable_period(future, start, now)
    with pytest.raises(UsageError, match="before the contract start"):
        payable_period(Period(2026, 3), start, now)
