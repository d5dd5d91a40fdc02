"""The gaming monitors from the records, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from domain.monitors import MonitorCode
from domain.periods import Period
from models import monitoring
from models.db import session_scope
from models.tables import ParticipantRecord, Submission
from services import messages
from services.deps import Deps
from services.monitors import deadline_periods, monitor_period, monitor_periods, window
from tests.services.review_helpers import PARTNERS, REVIEW_AT, START, Clock, review_deps, seed_year


def add_return(deps: Deps, partner_id: str, period: Period, rows: list[tuple[str, date, str]]) -> None:
    with session_scope(deps.engine) as session:
        submission = Submission(
            sha256=f"{partner_id}-{period}-extra".ljust(64, "x"),
            filename="x.xlsx",
            stored_path="archive/x",
            received_at=REVIEW_AT,
            partner_id=partner_id,
            period=str(period),
            version=1,
            status="accepted",
            row_count=len(rows),
        )
        session.add(submission)
        session.flush()
        session.add_all(
            ParticipantRecord(
                submission_id=submission.id or 0, participant_id=pid, referral_date=referred, complexity_band=band
            )
            for pid, referred, band in rows
        )


def test_participants_back_after_a_gap_or_referred_again_are_counted_once_each(engine: Engine, tmp_path: Path) -> None:
    deps = review_deps(tmp_path / "ws", Clock(REVIEW_AT), engine=engine)
    april, may, june = START, START.plus(1), START.plus(2)
    first, again = date(2026, 4, 1), date(2026, 6, 3)
    add_return(deps, "partner-01", april, [("P1", first, "standard"), ("P2", first, "complex")])
    add_return(deps, "partner-01", may, [("P2", first, "complex"), ("P3", date(2026, 5, 9), "standard")])
    add_return(deps, "partner-01", june, [("P1", first, "standard"), ("P2", again, "complex")])
    add_return(deps, "partner-02", may, [("P1", first, "standard")])  # another partner's P1 is another person
    with session_scope(deps.engine) as session:
        found = {c.partner_id: c for c in monitoring.cycling(session, periods=[str(april), str(may), str(june)])}
        new = monitoring.month_rows(session, period=str(may), first_day=may.first_day)
    assert (found["partner-01"].participants, found["partner-01"].reentered, found["partner-01"].rereferred) == (
        3,
        1,
        1,
    )
    assert (found["partner-02"].participants, found["partner-02"].reentered, found["partner-02"].rereferred) == (
        1,
        0,
        0,
    )
    assert sorted((r.partner_id, r.band, r.new, r.rows) for r in new) == [
        ("partner-01", "complex", False, 1),
        ("partner-01", "standard", True, 1),
        ("partner-02", "standard", False, 1),
    ]


def test_a_sudden_jump_in_volume_reaches_the_officers_summary(tmp_path: Path) -> None:
    deps = review_deps(tmp_path / "ws", Clock(REVIEW_AT))
    seed_year(deps, months=dict.fromkeys(PARTNERS, 7), rows_per_month=40)
    eighth_month = START.plus(7)
    jumped = [(f"J{n}", eighth_month.first_day, "standard") for n in range(130)]
    for pid in PARTNERS:
        rows = jumped if pid == "partner-07" else [(f"{pid}-{n}", eighth_month.first_day, "complex") for n in range(40)]
        add_return(deps, pid, eighth_month, rows)
    with session_scope(deps.engine) as session:
        alerts = monitor_period(session, contract=deps.contract, period=eighth_month)
        every_month = monitor_periods(session, contract=deps.contract, periods=[START.plus(6), eighth_month])
    jumps = [a for a in alerts if a.code is MonitorCode.volume_jump]
    assert [a.partner_id for a in jumps] == ["partner-07"]
    assert jumps[0].params["rows"] == 130 and jumps[0].params["median"] == 40
    assert [a for a in every_month if a.code is MonitorCode.volume_jump] == jumps
    text = messages.cycle_summary(
        period=str(eighth_month),
        counts={"accepted": 12},
        payable_pence=100,
        run_version=1,
        alerts=[(deps.contract.partner(a.partner_id), a) for a in jumps],
    )
    assert "`GAMING_VOLUME_JUMP`" in text and "Partner 07" in text and "130 rows" in text


def test_the_deadline_months_are_the_last_two_of_the_contract_year_and_the_window_twelve(tmp_path: Path) -> None:
    deps = review_deps(tmp_path / "ws", Clock(datetime(2027, 4, 20, tzinfo=UTC)))
    assert deadline_periods(deps.contract, START.plus(3)) == {Period(2027, 2), Period(2027, 3)}
    assert window(deps.contract, START.plus(2)) == [START, START.plus(1), START.plus(2)]
    assert len(window(deps.contract, START.plus(20))) == 12
