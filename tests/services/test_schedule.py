from dataclasses import replace
from datetime import UTC, datetime

from domain.periods import Period
from services.deps import Deps
from services.schedule import period_to_run, year_to_review


def test_a_scheduled_cycle_runs_the_period_due_at_its_scheduled_time_even_when_it_starts_late(deps: Deps) -> None:
    late = replace(deps, clock=lambda: datetime(2026, 12, 20, 9, tzinfo=UTC))  # a month late: November is due too

    assert period_to_run(late) == Period(2026, 11)
    assert period_to_run(late, scheduled_for=datetime(2026, 11, 16, 9, tzinfo=UTC)) == Period(2026, 10)


def test_a_cycle_asked_for_before_the_contracts_first_return_is_due_has_nothing_to_run(deps: Deps) -> None:
    early = replace(deps, clock=lambda: datetime(2026, 5, 14, 9, tzinfo=UTC))  # April's return is due on 14 May

    assert period_to_run(early) is None
    assert period_to_run(replace(deps, clock=lambda: datetime(2026, 5, 15, 9, tzinfo=UTC))) == Period(2026, 4)


def test_a_scheduled_review_takes_the_year_ended_when_it_was_due(deps: Deps) -> None:
    later = replace(deps, clock=lambda: datetime(2028, 4, 21, 9, tzinfo=UTC))

    assert year_to_review(later) == 2
    assert year_to_review(later, scheduled_for=datetime(2027, 4, 20, 8, tzinfo=UTC)) == 1
    assert year_to_review(replace(deps, clock=lambda: datetime(2027, 3, 31, 9, tzinfo=UTC))) is None
