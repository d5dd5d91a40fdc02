"""What a scheduled run works on when it is not told: the latest period due, the latest year ended."""

from datetime import datetime

from domain.periods import Period, latest_due_period, latest_ended_year, london_date
from services.deps import Deps


def period_to_run(deps: Deps, scheduled_for: datetime | None = None) -> Period | None:
    """The monthly cycle's period: the latest whose returns were due when the run was meant to start
    (``scheduled_for``; a run started late does not skip a period), else now; None while the contract's
    first period is not yet due."""
    moment = min(deps.clock(), scheduled_for) if scheduled_for else deps.clock()
    period = latest_due_period(moment, deps.contract.deadlines.due_day)
    return period if period >= deps.contract.alliance.start else None


def year_to_review(deps: Deps, scheduled_for: datetime | None = None) -> int | None:
    """The review's contract year: the latest that had ended when the run was meant to start (else
    now); None while the first runs."""
    moment = min(deps.clock(), scheduled_for) if scheduled_for else deps.clock()
    return latest_ended_year(deps.contract.alliance.start, london_date(moment))
