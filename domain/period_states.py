"""Where a period stands (DESIGN.md section 7: open -> due -> closed), and the lives of a submission.

A period is open until its returns' due date has passed, then due; it is closed once it has a
payable payment run (final when made, or approved by an officer). It only ever moves forward:
a correction paid by a later run version leaves it closed. The database refuses a period going
backwards, and a submission changing status other than as ``SUBMISSION_TRANSITIONS`` allows.
"""

from datetime import datetime
from enum import StrEnum

from domain.periods import Period, due_at


class PeriodState(StrEnum):
    open = "open"
    due = "due"
    closed = "closed"


PERIOD_ORDER: tuple[PeriodState, ...] = (PeriodState.open, PeriodState.due, PeriodState.closed)

# received -> accepted | rejected | quarantined (no partner to file it under); accepted -> superseded, or
# sent_back (an officer sent it back with feedback: the partner corrects it and sends a new version)
SUBMISSION_STATUSES: tuple[str, ...] = ("received", "accepted", "rejected", "quarantined", "superseded", "sent_back")
SUBMISSION_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("received", "accepted"),
        ("received", "rejected"),
        ("received", "quarantined"),
        ("accepted", "superseded"),
        ("accepted", "sent_back"),
    }
)


def period_state(period: Period, *, due_day: int, now: datetime, paid: bool) -> PeriodState:
    """The state of ``period`` at ``now`` (UTC-aware); ``paid``: it has a payable payment run."""
    if paid:
        return PeriodState.closed
    return PeriodState.due if now > due_at(period, due_day) else PeriodState.open


def is_forward(current: str, to: str) -> bool:
    """``to`` is a later state than ``current`` (an unknown state is never a step forward)."""
    order = [str(s) for s in PERIOD_ORDER]
    return current in order and to in order and order.index(to) > order.index(current)
