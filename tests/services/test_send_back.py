"""An officer sends an accepted return back with feedback: the partner sees it sent back with the feedback as a
finding, it stops counting (the paid month's run is made again without it), and a corrected version is accepted."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from domain.errors import UsageError
from domain.periods import Period
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import AuditEntry
from services.locks import send_back, unlock_return
from services.payment_approval import approve_run
from services.payment_reports import payment_report
from services.payments import run_payments
from services.status import period_cells
from tests.helpers import clean_rows, return_bytes
from tests.services.payments_helpers import ON_TIME, submit, with_approval

OCTOBER = Period(2026, 10)
AFTER_DUE = datetime(2026, 11, 16, 9, tzinfo=UTC)


def harbour_cell(deps: object) -> object:
    with session_scope(deps.engine) as session:  # type: ignore[attr-defined]
        cells = period_cells(session, contract=deps.contract, period=OCTOBER, now=AFTER_DUE)  # type: ignore[attr-defined]
    return next(c for c in cells if c.partner_id == "harbour-trust")


def test_a_sent_back_return_stops_counting_until_a_corrected_one_comes(workspace: Workspace) -> None:
    deps = with_approval(workspace, AFTER_DUE)
    first = submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"), ON_TIME)
    assert first.status == "accepted"
    run_payments(deps, OCTOBER)

    result = send_back(
        deps, OCTOBER, partner_id="harbour-trust", feedback="Rows 4-6 <b>belong</b> to November.", by="Ada Officer"
    )

    assert result.rerun and result.submission.status == "sent_back"
    cell = harbour_cell(deps)
    assert (cell.standing.value, cell.errors, cell.accepted_version) == ("sent back", 1, None)  # type: ignore[attr-defined]
    with session_scope(deps.engine) as session:
        report = payment_report(session, contract=deps.contract, period=OCTOBER)
        findings = repo.findings_of(session, submission_id=first.submission_id)
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "return.sent_back")).one()
        told = [n for n in repo.notifications(session) if n.kind == "return_sent_back"]
    assert report["version"] == 2  # the month's run made again without it
    harbour = next(p for p in report["partners"] if p["partner"] == "harbour-trust")
    assert harbour["outcome_pence"] == 0
    assert [(f.code, f.severity, f.value) for f in findings][-1] == (
        "RETURN_SENT_BACK",
        "error",
        "Rows 4-6 <b>belong</b> to November.",
    )
    assert audit.actor == "Ada Officer"
    assert sorted(n.channel for n in told) == ["#alliance-officers", "#harbour-trust"]
    assert "&lt;b&gt;" in told[0].text  # partner-visible text escaped for Slack

    corrected = submit(deps, "b.xlsx", return_bytes(deps.contract, "harbour-trust", rows=clean_rows(5)), AFTER_DUE)
    assert corrected.status == "accepted"
    assert harbour_cell(deps).standing.value == "accepted"  # type: ignore[attr-defined]


def test_only_an_accepted_unlocked_return_is_sent_back_and_feedback_is_required(workspace: Workspace) -> None:
    deps = with_approval(workspace, AFTER_DUE)
    with pytest.raises(UsageError, match="no accepted return"):
        send_back(deps, OCTOBER, partner_id="harbour-trust", feedback="x", by="Ada Officer")
    submit(deps, "a.xlsx", return_bytes(deps.contract, "harbour-trust"), ON_TIME)
    with pytest.raises(UsageError, match="write the feedback"):
        send_back(deps, OCTOBER, partner_id="harbour-trust", feedback="   ", by="Ada Officer")
    run_payments(deps, OCTOBER)
    approve_run(deps, OCTOBER, by="Ada Officer")
    with pytest.raises(UsageError, match="unlock it first"):
        send_back(deps, OCTOBER, partner_id="harbour-trust", feedback="wrong month", by="Ada Officer")
    assert harbour_cell(deps).standing.value == "locked"  # type: ignore[attr-defined]
    unlock_return(deps, OCTOBER, partner_id="harbour-trust", reason="query on rows 4-6", by="Ada Officer")
    assert send_back(deps, OCTOBER, partner_id="harbour-trust", feedback="wrong month", by="Ada Officer").rerun
