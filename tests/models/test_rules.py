"""Rules the database holds itself (models/rules.py), on SQLite and PostgreSQL, whatever code writes:
a locked return is never accepted, a submission's status moves only as allowed, a period only forward."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from domain.errors import IntegrityError
from domain.period_states import PeriodState
from models import ledger, repo
from models.db import session_scope
from models.tables import PartnerRecord, PeriodRecord, Submission

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
PARTNER = "harbour-trust"
LOCKED = "return for .* is locked: its payment run was approved"
STATUS_RULE = "status only goes received -> accepted"
PERIOD_RULE = "period's state only moves forward"


def a_submission(version: int, status: str, partner_id: str = PARTNER) -> Submission:
    return Submission(
        sha256=f"{partner_id}-{version}-{status}".ljust(64, "0"),
        filename=f"v{version}.xlsx",
        stored_path="archive/x",
        received_at=NOW,
        partner_id=partner_id,
        period="2026-10",
        version=version,
        status=status,
    )


@pytest.fixture
def partners(engine: Engine) -> Engine:
    with session_scope(engine) as session:
        for pid in (PARTNER, "city-mind"):
            session.add(PartnerRecord(id=pid, name=pid, size="small", annual_core_pence=100, slack_channel=f"#{pid}"))
    return engine


def lock(engine: Engine, action: str = "lock", partner_id: str = PARTNER) -> None:
    with session_scope(engine) as session:
        ledger.add_lock_event(session, period="2026-10", partner_id=partner_id, action=action, by="Ada", at=NOW)


def statuses(engine: Engine) -> list[tuple[int | None, str]]:
    with session_scope(engine) as session:
        return [(s.version, s.status) for s in session.exec(select(Submission).order_by(Submission.version))]


def test_accepting_a_locked_return_directly_is_refused_with_the_rule(partners: Engine) -> None:
    lock(partners)
    with pytest.raises(IntegrityError, match=LOCKED), session_scope(partners) as session:
        session.add(a_submission(1, "accepted"))
    if partners.dialect.name == "postgresql":  # PostgreSQL's message names the partner and period too
        named = "harbour-trust's return for 2026-10 is locked"
        with pytest.raises(IntegrityError, match=named), session_scope(partners) as session:
            session.add(a_submission(1, "accepted"))
    assert statuses(partners) == []


def test_a_locked_return_is_still_recorded_rejected_and_other_partners_are_untouched(partners: Engine) -> None:
    lock(partners)
    with session_scope(partners) as session:
        session.add(a_submission(1, "rejected"))
        session.add(a_submission(1, "accepted", partner_id="city-mind"))
    assert sorted(statuses(partners)) == [(1, "accepted"), (1, "rejected")]


def test_a_received_version_cannot_become_accepted_while_locked_but_can_once_unlocked(partners: Engine) -> None:
    with session_scope(partners) as session:
        session.add(a_submission(1, "received"))
    lock(partners)
    with pytest.raises(IntegrityError, match="is locked"), session_scope(partners) as session:
        session.exec(text("UPDATE submission SET status = 'accepted'"))  # type: ignore[call-overload]
    lock(partners, "unlock")
    with session_scope(partners) as session:
        session.exec(text("UPDATE submission SET status = 'accepted'"))  # type: ignore[call-overload]
    assert statuses(partners) == [(1, "accepted")]


def test_superseding_goes_through_and_the_repository_still_supersedes(partners: Engine) -> None:
    with session_scope(partners) as session:
        repo.add_submission(session, submission=a_submission(1, "accepted"), findings=[], rows=[])
    with session_scope(partners) as session:
        repo.add_submission(session, submission=a_submission(2, "accepted"), findings=[], rows=[])
    assert statuses(partners) == [(1, "superseded"), (2, "accepted")]


@pytest.mark.parametrize(
    ("before", "after"),
    [("superseded", "accepted"), ("rejected", "accepted"), ("accepted", "rejected"), ("quarantined", "received")],
)
def test_a_status_cannot_move_other_than_as_allowed(partners: Engine, before: str, after: str) -> None:
    with session_scope(partners) as session:
        session.add(a_submission(1, before))
    with pytest.raises(IntegrityError, match=STATUS_RULE), session_scope(partners) as session:
        session.exec(text(f"UPDATE submission SET status = '{after}'"))  # type: ignore[call-overload]
    assert statuses(partners) == [(1, before)]


def test_an_unknown_status_is_refused(partners: Engine) -> None:
    with pytest.raises(IntegrityError, match=STATUS_RULE), session_scope(partners) as session:
        session.add(a_submission(1, "approved"))


def test_a_period_only_moves_forward(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert repo.advance_period(session, period="2026-10", to=PeriodState.due).state == "due"
        assert repo.advance_period(session, period="2026-10", to=PeriodState.open).state == "due"  # no-op
        assert repo.advance_period(session, period="2026-10", to=PeriodState.closed).state == "closed"
        assert repo.advance_period(session, period="2026-10", to=PeriodState.due).state == "closed"
    for state in ("due", "open", "reopened"):
        with pytest.raises(IntegrityError, match=PERIOD_RULE), session_scope(engine) as session:
            session.exec(text(f"UPDATE period SET state = '{state}'"))  # type: ignore[call-overload]
    with pytest.raises(IntegrityError, match=PERIOD_RULE), session_scope(engine) as session:
        session.add(PeriodRecord(id="2026-11", state="pending"))
    with session_scope(engine) as session:
        assert repo.period_state_of(session, period="2026-10") == "closed"
        assert repo.period_state_of(session, period="2026-11") is None
