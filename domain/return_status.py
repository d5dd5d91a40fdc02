"""A partner's return for one period: where it stands and whether it came late.

Per partner: awaiting (nothing yet, not due) or missing (nothing, due date passed); submitted
(a version is being checked); accepted; rejected (the latest version was refused and none was
accepted). Lateness is separate: the first version arrived after the due date, or nothing has
arrived and the due date has passed.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

ACCEPTED_STATES = frozenset({"accepted", "superseded"})  # superseded: an older accepted version
FILED_STATES = ACCEPTED_STATES | {"rejected", "received"}


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
    if any(v.status in ACCEPTED_STATES for v in filed):
        return ReturnState(ReturnStatus.accepted, late)
    if filed[-1].status == "rejected":
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
