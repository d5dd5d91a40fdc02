"""The payment ledger on SQLite and PostgreSQL: exact amounts, append-only approvals and locks,
and points counted by the database equal to points counted row by row."""

import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, delete, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from domain.contract import Contract
from domain.returns import ParticipantRow, points_breakdown, points_from_counts
from models import ledger, repo
from models.db import session_scope
from models.tables import AchievementGroup, PaymentLine, Submission
from tests.models.test_db import a_run

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)
LIMIT = 2**53 + 1  # the first integer a double cannot hold: money must never pass through one


def amounts() -> list[int]:
    edges = [0, 1, -1, 99, 2**31, 2**53 - 1, 2**53, LIMIT, -LIMIT, -(2**53)]
    rng = random.Random(20261123)
    return edges + [rng.randint(-LIMIT, LIMIT) for _ in range(2_000)]


def test_amounts_up_to_2_53_plus_1_pence_round_trip_unchanged(engine: Engine, contract: Contract) -> None:
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
        run = a_run()
        session.add(run)
        session.flush()
        session.add_all(
            PaymentLine(run_id=run.id or 0, partner_id="city-mind", kind="adjustment", amount_pence=a, explanation="x")
            for a in amounts()
        )
    with session_scope(engine) as session:
        stored = [line.amount_pence for line in session.exec(select(PaymentLine).order_by(col(PaymentLine.id)))]
        assert stored == amounts()
        assert all(type(a) is int for a in stored)
        total = session.exec(text("SELECT SUM(amount_pence) FROM payment_line")).one()[0]  # type: ignore[call-overload]
        assert int(total) == sum(amounts())


def test_approvals_and_lock_events_are_append_only(engine: Engine, contract: Contract) -> None:
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
        run = a_run()
        session.add(run)
        session.flush()
        ledger.add_approval(session, run_id=run.id or 0, by="Ada", at=NOW)
        ledger.add_lock_event(session, period="2026-10", partner_id="city-mind", action="lock", by="Ada", at=NOW)
    for statement in (
        "UPDATE payment_approval SET approved_by = 'Mallory'",
        "DELETE FROM payment_approval",
        "UPDATE return_lock SET action = 'unlock'",
        "DELETE FROM return_lock",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with session_scope(engine) as session:
        lock = ledger.current_lock(session, period="2026-10", partner_id="city-mind")
        assert lock is not None and lock.by == "Ada"
        ledger.add_lock_event(session, period="2026-10", partner_id="city-mind", action="unlock", by="Bo", at=NOW)
    with session_scope(engine) as session:
        assert ledger.current_lock(session, period="2026-10", partner_id="city-mind") is None
        assert [e.action for e in ledger.lock_events(session, period="2026-10")] == ["lock", "unlock"]


def test_points_counted_by_the_database_equal_points_counted_row_by_row(engine: Engine, contract: Contract) -> None:
    rng = random.Random(7)
    bands, measures = list(contract.framework.bands), contract.framework.measure_ids
    rows = [
        ParticipantRow(
            participant_id=f"P{n:04d}",
            referral_date=date(2026, 10, 1),
            complexity_band=rng.choice(bands),
            achieved=frozenset(m for m in measures if rng.random() < 0.4),
        )
        for n in range(600)
    ]
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
        submission = repo.add_submission(
            session,
            submission=Submission(
                sha256="b" * 64,
                filename="r.xlsx",
                stored_path="r",
                received_at=NOW,
                partner_id="city-mind",
                period="2026-10",
                version=1,
                status="accepted",
            ),
            findings=[],
            rows=rows,
        )
        counts = repo.achievement_counts(session, submission_ids=[submission.id or 0])
        stored = session.exec(select(AchievementGroup).where(AchievementGroup.submission_id == submission.id)).all()
        assert sum(g.rows for g in stored) == len(rows)  # counted once, when the rows were recorded
        # Rows recorded without their groups (before migration 0012 filled them) are counted from the rows.
        session.exec(delete(AchievementGroup).where(col(AchievementGroup.submission_id) == submission.id))  # type: ignore[call-overload]
        from_rows = repo.achievement_counts(session, submission_ids=[submission.id or 0])
    assert sorted(from_rows[submission.id or 0], key=str) == sorted(counts[submission.id or 0], key=str)
    assert points_from_counts(counts[submission.id or 0], contract.framework) == points_breakdown(
        rows, contract.framework
    )
