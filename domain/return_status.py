"""A partner's return for one period: where it stands and whether it came late.

Per partner: awaiting (nothing yet, not due) or missing (nothing, due date passed); submitted
(a version is being checked); accepted; rejected (the latest version was refused, or an officer sent the
accepted one back, and none was accepted since). Lateness is separate: the first version arrived after
the due date, or nothing has arrived and the due date has passed.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ACCEPTED_STATES = frozenset({"accepted", "superseded"})  # superseded: an older accepted version
SENT_BACK = "sent_back"  # accepted, then sent back by an officer with feedback: no longer the month's return
FILED_STATES = ACCEPTED_STATES | {"rejected", "received", SENT_BACK}


class ReturnStatus(StrEnum):
    awaiting = "awaiting"
    missing = "missing"
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"


@dataclass(frozen=True)
class Version:
    """One submitted version of a partner's return, as stored."""

    number: int
    status: str  # received | accepted | rejected | superseded (quarantined files are nobody's)
    received_at: datetime
    on_time: bool | None = None

    def late(self, due: datetime) -> bool:
        return not self.on_time if self.on_time is not None else self.received_at > due


@dataclass(frozen=True)
class ReturnState:
    status: ReturnStatus
    late: bool

    @property
    def timeliness(self) -> str:
        if self.late:
            return "late"
        return "not yet due" if self.status is ReturnStatus.awaiting else "on time"


def return_state(versions: Sequence[Version], *, due: datetime, now: datetime) -> ReturnState:
    """Where one partner's return stands at ``now`` (both moments timezone-aware)."""
    filed = sorted((v for v in versions if v.status in FILED_STATES), key=lambda v: v.number)
    if not filed:
        overdue = now > due
        return ReturnState(ReturnStatus.missing if overdue else ReturnStatus.awaiting, late=overdue)
    late = filed[0].late(due)
    judged = [v for v in filed if v.status in ACCEPTED_STATES or v.status == SENT_BACK]
    if judged and judged[-1].status in ACCEPTED_STATES:
        return ReturnState(ReturnStatus.accepted, late)
    if filed[-1].status in ("rejected", SENT_BACK):
        return ReturnState(ReturnStatus.rejected, late)
    return ReturnState(ReturnStatus.submitted, late)


class Standing(StrEnum):
    """A partner's return for a month in the words grant portals use (the portal's months, the officers' grid)."""

    not_yet_due = "not yet due"  # the month has not ended
    due = "due"  # the month has ended; the due date has not passed
    overdue = "overdue"  # the due date has passed and nothing was accepted (nothing sent, or being checked)
    submitted = "submitted"  # a version is being checked
    sent_back = "sent back"  # the latest version was refused (with its errors) and none is accepted
    accepted = "accepted"
    locked = "locked"  # accepted and paid by an approved run: a correction needs an officer to unlock it


@dataclass(frozen=True)
class MonthStanding:
    standing: Standing
    late: bool  # the first version came after the due date, or nothing came by then


def month_standing(state: ReturnState, *, month_ended: bool, locked: bool) -> MonthStanding:
    """Where one partner's return for a month stands, from its ReturnState, whether the month has ended and
    whether the return is locked."""
    status = state.status
    if status is ReturnStatus.accepted:
        return MonthStanding(Standing.locked if locked else Standing.accepted, state.late)
    if status is ReturnStatus.rejected:
        return MonthStanding(Standing.sent_back, state.late)
    if status is ReturnStatus.submitted:
        return MonthStanding(Standing.submitted, state.late)
    if status is ReturnStatus.missing:
        return MonthStanding(Standing.overdue, True)
    return MonthStanding(Standing.due if month_ended else Standing.not_yet_due, False)


@dataclass(frozen=True)
class Rates:
    """Reporting rates over cells of the returns grid, as DHIS2 counts them: expected returns (those whose due date
    has passed, and any accepted before it), returned (accepted, locked included) and returned on time."""

    expected: int
    returned: int
    on_time: int

    @property
    def reporting_rate(self) -> float | None:
        return self.returned / self.expected if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.expected if self.expected else None

    def as_dict(self) -> dict[str, object]:
        return {
            "expected": self.expected,
            "returned": self.returned,
            "on_time": self.on_time,
            "reporting_rate": _rounded(self.reporting_rate),
            "on_time_rate": _rounded(self.on_time_rate),
        }


RETURNED = frozenset({Standing.accepted, Standing.locked})


def rates(cells: "Iterable[tuple[Standing, bool, bool]]") -> Rates:
    """Rates over (standing, late, due date passed) of each cell."""
    expected = returned = on_time = 0
    for standing, late, due_passed in cells:
        counted = standing in RETURNED
        if not (due_passed or counted):
            continue
        expected += 1
        returned += counted
        on_time += counted and not late
    return Rates(expected, returned, on_time)


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
