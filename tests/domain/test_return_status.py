from datetime import UTC, datetime, timedelta

import pytest

from domain.periods import Period, due_at
from domain.return_status import ReturnStatus, Version, return_state

DUE = due_at(Period(2026, 10), 14)  # 14/11/2026 23:59:59 London (GMT) = UTC
BEFORE = datetime(2026, 11, 10, 12, tzinfo=UTC)
AFTER = datetime(2026, 11, 20, 12, tzinfo=UTC)


def version(number: int, status: str, on_time: bool | None = True, at: datetime = BEFORE) -> Version:
    return Version(number, status, at, on_time)


def test_nothing_received_is_awaiting_until_the_end_of_the_due_day_then_missing_and_late() -> None:
    waiting = return_state([], due=DUE, now=DUE)
    assert (waiting.status, waiting.late, waiting.timeliness) == (ReturnStatus.awaiting, False, "not yet due")
    missing = return_state([], due=DUE, now=DUE + timedelta(seconds=1))
    assert (missing.status, missing.late, missing.timeliness) == (ReturnStatus.missing, True, "late")


def test_the_due_moment_is_london_time_in_summer_too() -> None:
    due = due_at(Period(2026, 4), 14)  # 14/05/2026 is BST: 23:59:59 London is 22:59:59 UTC
    assert return_state([], due=due, now=datetime(2026, 5, 14, 22, 59, tzinfo=UTC)).status is ReturnStatus.awaiting
    assert return_state([], due=due, now=datetime(2026, 5, 14, 23, 30, tzinfo=UTC)).status is ReturnStatus.missing


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["accepted"], ReturnStatus.accepted),
        (["rejected"], ReturnStatus.rejected),
        (["rejected", "rejected"], ReturnStatus.rejected),
        (["rejected", "accepted"], ReturnStatus.accepted),
        (["superseded", "accepted", "rejected"], ReturnStatus.accepted),  # a later rejection changes nothing
        (["received"], ReturnStatus.submitted),
        (["rejected", "received"], ReturnStatus.submitted),  # the new version is being checked
    ],
)
def test_status_follows_the_versions(statuses: list[str], expected: ReturnStatus) -> None:
    versions = [version(n, s) for n, s in enumerate(statuses, start=1)]
    assert return_state(versions, due=DUE, now=AFTER).status is expected


def test_lateness_is_the_first_versions_so_an_accepted_late_return_shows_both() -> None:
    state = return_state(
        [version(1, "rejected", on_time=False), version(2, "accepted", on_time=False)], due=DUE, now=AFTER
    )
    assert (state.status, state.late, state.timeliness) == (ReturnStatus.accepted, True, "late")
    corrected = return_state([version(1, "rejected"), version(2, "accepted", on_time=False)], due=DUE, now=AFTER)
    assert (corrected.status, corrected.timeliness) == (ReturnStatus.accepted, "on time")


def test_versions_are_ordered_by_number_not_by_position() -> None:
    state = return_state([version(2, "rejected", on_time=False), version(1, "rejected")], due=DUE, now=AFTER)
    assert not state.late


def test_without_a_recorded_timeliness_the_receipt_time_decides() -> None:
    assert return_state([version(1, "accepted", on_time=None, at=DUE)], due=DUE, now=AFTER).timeliness == "on time"
    late = version(1, "accepted", on_time=None, at=DUE + timedelta(seconds=1))
    assert return_state([late], due=DUE, now=AFTER).timeliness == "late"


def test_quarantined_files_are_not_a_partners_version() -> None:
    assert return_state([version(1, "quarantined")], due=DUE, now=AFTER).status is ReturnStatus.missing
