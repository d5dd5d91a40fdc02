"""The record queries behind repeated claims, duplicate claims and plausibility (SQLite and PostgreSQL)."""

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from domain.contract import Contract
from domain.findings import Finding
from domain.returns import ParticipantRow
from models import repo
from models.db import session_scope
from models.tables import Submission

AT = datetime(2026, 11, 1, tzinfo=UTC)


def row(pid: str, *achieved: str, sheet_row: int = 2) -> ParticipantRow:
    return ParticipantRow(pid, date(2026, 4, 1), "standard", frozenset(achieved), sheet_row=sheet_row)


def store(
    engine: Engine, contract: Contract, partner: str, period: str, rows: list[ParticipantRow], status: str = "accepted"
) -> int:
    with session_scope(engine) as session:
        repo.sync_partners(session, contract=contract)
        version = repo.next_version(session, partner_id=partner, period=period)
        submission = repo.add_submission(
            session,
            submission=Submission(
                sha256=f"{partner}{period}{version}{status}".ljust(64, "0"),
                filename="r.xlsx",
                stored_path="archive/r.xlsx",
                received_at=AT,
                partner_id=partner,
                period=period,
                version=version,
                status=status,
            ),
            findings=[],
            rows=rows if status == "accepted" else [],
        )
        assert submission.id is not None
        return submission.id


def test_outcomes_claimed_in_other_accepted_months_are_found_with_the_first_month(
    engine: Engine, contract: Contract
) -> None:
    store(engine, contract, "harbour-trust", "2026-06", [row("A", "into_work"), row("B")])
    store(engine, contract, "harbour-trust", "2026-08", [row("A", "into_work", "wellbeing_up")])
    store(engine, contract, "harbour-trust", "2026-09", [row("C", "into_work")], status="rejected")
    store(engine, contract, "city-mind", "2026-07", [row("B", "into_work")])  # another partner's claim
    store(engine, contract, "harbour-trust", "2026-11", [row("D", "into_work")])  # a later month counts too
    store(engine, contract, "harbour-trust", "2026-10", [row("E", "into_work")])  # this month does not
    with session_scope(engine) as session:
        claims = repo.claims_in_other_months(
            session, partner_id="harbour-trust", period="2026-10", participant_ids=["A", "B", "C", "D", "E"]
        )
    assert claims == {"A": {"into_work": "2026-06", "wellbeing_up": "2026-08"}, "D": {"into_work": "2026-11"}}


def test_the_same_participant_in_two_partners_accepted_returns_is_a_duplicate_claim(
    engine: Engine, contract: Contract
) -> None:
    first = store(engine, contract, "city-mind", "2026-10", [row("A", sheet_row=7), row("B")])
    store(engine, contract, "harbour-trust", "2026-10", [row("A"), row("C")])
    store(engine, contract, "northfield-works", "2026-09", [row("C")])  # another month: not a duplicate
    with session_scope(engine) as session:
        others = repo.claims_elsewhere(
            session, partner_id="harbour-trust", period="2026-10", participant_ids=["A", "C"]
        )
        assert others == [repo.OtherClaim("A", "city-mind", first, 7)]
        assert repo.duplicate_claims(session, period="2026-10") == {"A": ["city-mind", "harbour-trust"]}


def test_a_superseded_version_no_longer_claims(engine: Engine, contract: Contract) -> None:
    store(engine, contract, "city-mind", "2026-10", [row("A")])
    store(engine, contract, "city-mind", "2026-10", [row("B")])  # v2 supersedes v1
    store(engine, contract, "harbour-trust", "2026-10", [row("A")])
    with session_scope(engine) as session:
        assert repo.duplicate_claims(session, period="2026-10") == {}


def test_many_ids_are_looked_up_at_once(engine: Engine, contract: Contract) -> None:
    ids = [f"P{n:05d}" for n in range(1_800)]
    store(engine, contract, "city-mind", "2026-10", [row(i) for i in ids])
    with session_scope(engine) as session:
        others = repo.claims_elsewhere(session, partner_id="harbour-trust", period="2026-10", participant_ids=ids)
    assert len(others) == 1_800


def test_ids_as_partners_write_them_are_found_exactly_and_only_themselves(engine: Engine, contract: Contract) -> None:
    """The ids go to the database as one value (a JSON array on SQLite, an array on PostgreSQL): quotes, commas,
    brackets, backslashes, spaces, other scripts and emoji come back as themselves, and nothing like them does."""
    odd = ['O"Brien', "it's", "a,b", "[x]", "back\\slash", " padded ", "Zoë", "名前", "🙂-1", "tab\tid", "null", "1.0"]
    near = ["OBrien", "its", "a b", "x", "back\\\\slash", "padded", "Zoe", "名", "🙂", "tab id", "", "1"]
    store(engine, contract, "city-mind", "2026-10", [row(i, sheet_row=n + 2) for n, i in enumerate(odd)])
    store(engine, contract, "harbour-trust", "2026-09", [row(i, "into_work") for i in odd])
    with session_scope(engine) as session:
        claims = repo.claims_of(session, partner_id="harbour-trust", period="2026-10", participant_ids=odd + near)
        missed = repo.claims_of(session, partner_id="harbour-trust", period="2026-10", participant_ids=near)
    assert [c.participant_id for c in claims.elsewhere] == sorted(odd)
    assert {c.participant_id: c.sheet_row for c in claims.elsewhere} == {i: n + 2 for n, i in enumerate(odd)}
    assert claims.in_other_months == {i: {"into_work": "2026-09"} for i in odd}
    assert missed == repo.Claims({}, [])


def test_recent_months_are_the_partners_accepted_figures_newest_first(engine: Engine, contract: Contract) -> None:
    store(engine, contract, "harbour-trust", "2026-07", [row("A", "into_work"), row("B")])
    store(engine, contract, "harbour-trust", "2026-08", [row("A", "into_work", "wellbeing_up")])
    store(engine, contract, "harbour-trust", "2026-09", [row("A")], status="rejected")
    with session_scope(engine) as session:
        months = repo.recent_months(session, partner_id="harbour-trust", before="2026-10", limit=6)
    assert [(m.period, m.rows, m.achieved) for m in months] == [
        ("2026-08", 1, {"into_work": 1, "wellbeing_up": 1}),
        ("2026-07", 2, {"into_work": 1}),
    ]


def test_findings_added_later_count_on_the_submission(engine: Engine, contract: Contract) -> None:
    submission_id = store(engine, contract, "city-mind", "2026-10", [row("A")])
    with session_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        repo.add_findings(session, submission=submission, findings=[Finding("DUPLICATE_CLAIM", value="A", row=2)])
    with session_scope(engine) as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None and submission.warning_count == 1
        assert [f.code for f in repo.findings_of(session, submission_id=submission_id)] == ["DUPLICATE_CLAIM"]
