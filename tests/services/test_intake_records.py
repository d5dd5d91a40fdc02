"""Intake against the records: earlier claims, other partners' claims, history, and what changed."""

from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from domain.periods import Period
from integrations.inbox import read_file
from models import repo
from models.db import session_scope
from services.claims import report_duplicate_claims
from services.deps import Deps
from services.intake import Outcome, RecordsContext, check_file, process_file
from tests.helpers import OCTOBER, clean_rows, named_partner, return_bytes, summary_of


def submit(deps: Deps, name: str, content: bytes, period: Period = OCTOBER, sender: str | None = None) -> Outcome:
    sender = sender or named_partner(content)  # the partner's own folder
    folder = deps.workspace.inbox / (sender or "")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    at = datetime(period.next().year, period.next().month, 3, 10, tzinfo=UTC)
    return process_file(deps, read_file(folder / name, received_at=at, sender=sender))


def rows_for(period: Period, count: int = 4, prefix: str = "P") -> list[dict[str, Any]]:
    rows = clean_rows(count, period=period)
    for n, row in enumerate(rows):
        row["participant_id"] = f"{prefix}{period.month:02d}-{n:03d}"
    return rows


def test_an_outcome_claimed_again_in_a_later_month_is_refused(deps: Deps) -> None:
    september = Period(2026, 9)
    first = rows_for(september)
    assert submit(deps, "sep.xlsx", return_bytes(deps.contract, period=september, rows=first)).status == "accepted"
    again = rows_for(OCTOBER)
    again[1]["participant_id"] = first[0]["participant_id"]  # housed in September, claimed again
    again[1]["housing_sustained"] = "Yes"
    outcome = submit(deps, "oct.xlsx", return_bytes(deps.contract, rows=again))
    assert outcome.status == "rejected"
    claimed = [(f.cell, f.params["expected"]) for f in outcome.findings if f.code == "OUTCOME_CLAIMED_BEFORE"]
    assert claimed == [("D3", "2026-09"), ("F3", "2026-09")]  # housing and wellbeing; into_work was No


def test_a_duplicate_claim_is_a_finding_for_both_partners_and_for_officers(deps: Deps) -> None:
    shared = rows_for(OCTOBER, prefix="S")
    first = submit(deps, "city.xlsx", return_bytes(deps.contract, "city-mind", rows=shared))
    theirs = rows_for(OCTOBER, prefix="H")
    theirs[2]["participant_id"] = shared[1]["participant_id"]
    second = submit(deps, "harbour.xlsx", return_bytes(deps.contract, rows=theirs, summary=summary_of(theirs)))
    assert (first.status, second.status) == ("accepted", "accepted")  # a warning: officers decide who reports
    assert [(f.code, f.cell) for f in second.findings] == [("DUPLICATE_CLAIM", "A4")]
    claims = report_duplicate_claims(deps, OCTOBER)
    assert claims == {shared[1]["participant_id"]: ["city-mind", "harbour-trust"]}
    with session_scope(deps.engine) as session:
        told = {(n.kind, n.channel) for n in repo.notifications(session)}
        city = repo.findings_of(session, submission_id=first.submission_id or 0)
    assert ("duplicate_claim", "#city-mind") in told
    assert ("duplicate_claims", "#alliance-officers") in told
    assert [(f.code, f.row, f.value) for f in city] == [("DUPLICATE_CLAIM", 3, shared[1]["participant_id"])]
    report_duplicate_claims(deps, OCTOBER)  # the same duplicates are not reported twice
    with session_scope(deps.engine) as session:
        assert sum(n.kind == "duplicate_claims" for n in repo.notifications(session)) == 1


def test_a_claim_recorded_while_a_return_is_checked_is_found_all_the_same(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partners' files are processed side by side: City's return lands between Harbour's checks and its record."""
    shared = rows_for(OCTOBER, prefix="S")
    theirs = rows_for(OCTOBER, prefix="H")
    theirs[2]["participant_id"] = shared[1]["participant_id"]
    looked_up = RecordsContext.__call__
    landed: list[Outcome] = []

    def city_lands_meanwhile(self: RecordsContext, partner: Any, period: Period, ids: list[str]) -> Any:
        context = looked_up(self, partner, period, ids)
        if partner.id == "harbour-trust" and not landed:
            landed.append(submit(deps, "city.xlsx", return_bytes(deps.contract, "city-mind", rows=shared)))
        return context

    monkeypatch.setattr(RecordsContext, "__call__", city_lands_meanwhile)
    second = submit(deps, "harbour.xlsx", return_bytes(deps.contract, rows=theirs, summary=summary_of(theirs)))
    assert [o.status for o in landed] == ["accepted"] and landed[0].findings == []
    assert second.status == "accepted"
    assert [(f.code, f.cell) for f in second.findings] == [("DUPLICATE_CLAIM", "A4")]
    with session_scope(deps.engine) as session:
        city = repo.findings_of(session, submission_id=landed[0].submission_id or 0)
        told = {(n.kind, n.channel) for n in repo.notifications(session)}
    assert [(f.code, f.row) for f in city] == [("DUPLICATE_CLAIM", 3)]
    assert ("duplicate_claim", "#city-mind") in told


def test_a_month_far_from_the_partners_history_is_a_warning_with_the_figures(deps: Deps) -> None:
    for month in (7, 8, 9):
        period = Period(2026, month)
        assert submit(deps, f"{month}.xlsx", return_bytes(deps.contract, period=period, rows=rows_for(period, 20)))
    big = rows_for(OCTOBER, 60)
    outcome = submit(deps, "oct.xlsx", return_bytes(deps.contract, rows=big))
    assert outcome.status == "accepted"
    [unusual] = [f for f in outcome.findings if f.code == "VOLUME_UNUSUAL"]
    assert "60 participant rows" in unusual.message and "20 (median 20)" in unusual.message


def test_a_second_version_shows_what_changed_and_says_where_its_feedback_is(deps: Deps) -> None:
    rows = rows_for(OCTOBER)
    first = submit(deps, "v1.xlsx", return_bytes(deps.contract, rows=rows, summary={"participants": 9}))
    assert first.status == "rejected"
    corrected = [dict(r) for r in rows[:3]] + rows_for(OCTOBER, 5)[4:]
    corrected[0]["into_work"] = "Yes"
    second = submit(deps, "v2.xlsx", return_bytes(deps.contract, rows=corrected))
    assert (second.status, second.version) == ("accepted", 2)
    assert second.feedback_path is not None
    changes = load_workbook(second.feedback_path)["Changes"]
    listed = [r[:5] for r in changes.iter_rows(min_row=4, values_only=True)]
    assert ("added", "P10-004", None, None, None) in listed
    assert ("removed", "P10-003", None, "was row 5", None) in listed
    assert ("changed", "P10-000", "into_work", "No", "Yes") in listed
    with session_scope(deps.engine) as session:
        texts = [n.text for n in repo.notifications(session) if n.kind == "return_processed"]
    assert "harbour-trust-2026-10-v2-feedback.xlsx" in texts[-1] and "what changed" in texts[-1]


def test_the_offline_self_check_gives_the_findings_the_cycle_gives(deps: Deps) -> None:
    rows = rows_for(OCTOBER)
    rows[0]["complexity_band"] = "hard"
    rows[1]["postcode_district"] = "NF1 2AB"
    content = return_bytes(deps.contract, rows=rows, summary=None)
    (deps.workspace.root / "mine.xlsx").write_bytes(content)
    _, offline, _ = check_file(read_file(deps.workspace.root / "mine.xlsx"), deps.contract)
    cycle = submit(deps, "mine.xlsx", content)
    assert [f.as_dict() for f in offline] == [f.as_dict() for f in cycle.findings]
    assert {f.code for f in offline} == {"BAND_UNKNOWN", "POSTCODE_INVALID", "SUMMARY_BLANK"}


def test_a_cell_holding_an_impossible_number_is_a_finding_not_a_crash(deps: Deps) -> None:
    import re

    from tests.helpers import PARTICIPANTS_PART, rewrite_parts

    content = rewrite_parts(
        return_bytes(deps.contract),
        {PARTICIPANTS_PART: lambda x: re.sub(rb'<c r="D2"[^>]*>.*?</c>', b'<c r="D2"><v>1e999</v></c>', x)},
    )
    outcome = submit(deps, "odd.xlsx", content)
    assert outcome.status == "rejected"
    assert [(f.code, f.cell, f.value) for f in outcome.findings if f.cell == "D2"] == [("YESNO_INVALID", "D2", "inf")]
    assert outcome.feedback_path is not None and load_workbook(outcome.feedback_path)["Participants"]["D2"].value
