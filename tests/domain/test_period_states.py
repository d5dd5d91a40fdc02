from datetime import UTC, datetime

from domain.period_states import PeriodState, is_forward, period_state
from domain.periods import Period

OCTOBER = Period(2026, 10)


def test_a_period_is_open_until_its_due_date_has_passed_in_london() -> None:
    # Due 14 November, 23:59:59 London time (GMT in November).
    assert period_state(OCTOBER, due_day=14, now=datetime(2026, 11, 14, 23, 59, tzinfo=UTC), paid=False) == "open"
    assert period_state(OCTOBER, due_day=14, now=datetime(2026, 11, 15, 0, 0, tzinfo=UTC), paid=False) == "due"


def test_a_paid_period_is_closed_whenever_it_was_paid() -> None:
    early = datetime(2026, 11, 1, tzinfo=UTC)
    assert period_state(OCTOBER, due_day=14, now=early, paid=True) is PeriodState.closed


def test_states_only_move_forward() -> None:
    assert is_forward("open", "due") and is_forward("due", "closed") and is_forward("open", "closed")
    assert not is_forward("closed", "due") and not is_forward("due", "due") and not is_forward("due", "open")
    assert not is_forward("open", "reopened") and not is_forward("unknown", "closed")
