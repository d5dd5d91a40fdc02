"""The office's and the board's pages do what their commands do, with the signed-in person recorded as acting."""

import json
import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from domain.errors import UsageError
from models.db import session_scope
from models.tables import AuditEntry, BoardDecisionRecord
from services.status import period_grid
from tests.web.conftest import BOARD, HARBOUR, OFFICER, OPERATOR, Portal, flag_for_review, good_return, upload

AFTER_REPLY = datetime(2026, 12, 2, 10, tzinfo=UTC)  # the flagged partner's right of reply closed on 30 November


def test_an_officer_sends_an_accepted_return_back_from_the_grid_and_the_partner_sees_it(portal: Portal) -> None:
    harbour, officer = portal.person(HARBOUR), portal.person(OFFICER)
    upload(harbour, portal, "october.xlsx", good_return(portal.deps))
    grid = officer.get("/office/returns?year=1")
    cell = re.search(r'data-partner="harbour-trust" data-period="2026-10" data-standing="([^"]+)"', grid.text)
    assert grid.status_code == 200 and cell and cell.group(1) == "accepted"
    version = re.search(r'href="/office/versions/(\d+)"', grid.text)
    assert version
    page = f"/office/versions/{version.group(1)}"
    assert officer.post(f"{page}/send-back", {"feedback": ""}, page=page).status_code == 400

    sent = officer.post(f"{page}/send-back", {"feedback": "Rows 4-6 are <November's>."}, page=page)

    assert sent.status_code == 303
    cells = {
        c.partner_id: c
        for c in period_grid(
            portal.deps, OPERATOR, period=__import__("domain.periods").periods.Period(2026, 10)
        ).cells.values()
    }
    assert cells["harbour-trust"].standing.value == "sent back"
    months = harbour.get("/returns").text
    assert "Sent back" in months
    shown = harbour.get(f"/versions/{version.group(1)}").text
    assert "Rows 4-6 are &lt;November&#39;s&gt;." in shown
    with session_scope(portal.deps.engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "return.sent_back")).one()
    assert audit.actor == "Olive Officer (olive@office.org)"  # the account, not a typed name


def test_the_board_is_told_why_a_decision_is_refused_then_records_one_in_its_own_name(portal: Portal) -> None:
    flag_for_review(portal.deps, "harbour-trust")
    board = portal.person(BOARD)
    page = "/board/review/1/harbour-trust"
    assert board.get("/board/review/1").status_code == 200
    early = board.post(f"{page}/decide", {"decision": "no_action", "reason": "r"}, page=page)
    assert early.status_code == 400 and "right of reply runs until" in early.text
    portal.clock.now = AFTER_REPLY
    board = portal.person(BOARD)  # a month on: signed out long ago (the session's time-outs), so in again

    refused = board.post(
        f"{page}/decide",
        {"decision": "step_down", "percent": "33", "effective": "2027-01", "reason": "Far below expected."},
        page=page,
    )
    assert refused.status_code == 400
    assert "one of 10, 25, 50, 100" in refused.text and 'value="33"' in refused.text  # the answer kept to correct

    decided = board.post(
        f"{page}/decide",
        {"decision": "step_down", "percent": "25", "effective": "2027-01", "reason": "Far below expected."},
        page=page,
    )

    assert decided.status_code == 303
    with session_scope(portal.deps.engine) as session:
        record = session.exec(select(BoardDecisionRecord)).one()
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "review.board_decision")).one()
    assert (record.kind, record.step_down_percent, record.decided_by, record.via) == (
        "step_down",
        25,
        "Sam Chair (sam@board.org)",
        "portal",
    )
    assert audit.actor == "Sam Chair (sam@board.org)" and json.loads(audit.detail)["via"] == "portal"
    assert "Sam Chair" in board.get(page).text
    officer = portal.person(OFFICER)
    assert officer.post(f"{page}/decide", {"decision": "no_action"}, page="/home").status_code == 403


def test_a_cycle_started_from_the_grid_runs_as_a_deployment_run_and_its_page_shows_where_it_is(portal: Portal) -> None:
    officer, harbour = portal.person(OFFICER), portal.person(HARBOUR)
    launcher = portal.app.state.runs
    assert "Run the cycle" in officer.get("/office/returns").text
    wrong = officer.post("/office/runs/cycle", {"period": "2019-01"}, page="/office/returns")
    assert wrong.status_code == 400 and "Choose the month" in wrong.text and launcher.started == []

    started = officer.post("/office/runs/cycle", {"period": "2026-10"}, page="/office/returns")

    assert started.status_code == 303
    [(what, parameters, run_id)] = launcher.started
    assert (what, parameters) == ("cycle", {"period": "2026-10", "workspace": str(portal.deps.workspace.root)})
    page = officer.get(started.headers["location"])
    assert page.status_code == 200 and "Scheduled" in page.text and "Started by Olive Officer" in page.text
    assert 'data-final="false"' in page.text and "/static/run-state.js" in page.text
    from services.runs import RunState

    launcher.states[run_id] = RunState("Completed", True, None)
    assert 'data-final="true"' in officer.get(f"/office/runs/{run_id}").text
    with session_scope(portal.deps.engine) as session:
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "flow_run.started")).one()
    assert audit.subject == run_id and json.loads(audit.detail) == {"what": "cycle", "period": "2026-10"}
    assert harbour.post("/office/runs/cycle", {"period": "2026-10"}, page="/returns").status_code == 403
    assert officer.get("/office/runs/00000000-0000-0000-0000-000000000000").status_code == 404  # not one of ours
    future = officer.post("/office/runs/cycle", {"period": "2027-01"}, page="/office/returns")
    assert future.status_code == 400 and "has not begun" in future.text
    early = officer.post("/office/runs/review", {"year": "1"}, page="/office/returns")
    assert early.status_code == 400 and "cannot be reviewed yet" in early.text  # year 1 ends in March 2027
    portal.clock.now = datetime(2027, 4, 20, 9, tzinfo=UTC)
    officer = portal.person(OFFICER)
    review = officer.post("/office/runs/review", {"year": "1"}, page="/office/returns")
    assert review.status_code == 303 and launcher.started[-1][:2] == (
        "review",
        {"year": 1, "workspace": str(portal.deps.workspace.root)},
    )


def test_what_an_officer_acts_on_is_what_the_page_showed(portal: Portal) -> None:
    from domain.periods import Period
    from services.statements import pay_period

    harbour, officer = portal.person(HARBOUR), portal.person(OFFICER)
    upload(harbour, portal, "v1.xlsx", good_return(portal.deps))
    upload(harbour, portal, "v2.xlsx", good_return(portal.deps, ids="Q"))
    with session_scope(portal.deps.engine) as session:
        from models import repo

        versions = sorted(s.id for s in repo.submissions_for_period(session, period="2026-10"))
    old = f"/office/versions/{versions[0]}"
    refused = officer.post(f"{old}/send-back", {"feedback": "wrong month"}, page=old)
    assert refused.status_code == 400 and "not the accepted version" in refused.text  # v2 is: never sent back unseen
    pay_period(portal.deps, Period(2026, 10))
    again = officer.post("/office/payments/2026-10/again", {}, page="/office/payments/2026-10")
    assert again.status_code == 400 and "nothing" in again.text  # its inputs have not moved: no new version
    assert officer.post("/office/payments/2026-11/again", {}, page="/home").status_code == 404  # no run to make again
    for odd in ("0000-01", "２０２６-１０", "2026-1", "9999-12"):
        assert officer.get(f"/office/checks/{odd}").status_code == 404, odd
        assert officer.get(f"/office/payments/{odd}").status_code == 404, odd


def test_the_board_form_takes_the_reviews_decisions_only(portal: Portal) -> None:
    flag_for_review(portal.deps, "harbour-trust")
    portal.clock.now = AFTER_REPLY
    board = portal.person(BOARD)
    page = "/board/review/1/harbour-trust"
    reverse = board.post(f"{page}/decide", {"decision": "reverse", "reason": "appeal"}, page=page)
    assert reverse.status_code == 400 and "Choose what the board decides" in reverse.text
    with session_scope(portal.deps.engine) as session:
        assert session.exec(select(BoardDecisionRecord)).first() is None


def test_an_officer_cannot_disable_their_own_account_nor_the_last_officers(portal: Portal) -> None:
    from services import accounts
    from tests.web.conftest import make_account

    officer = portal.person(OFFICER)
    own = officer.post("/office/accounts/disable", {"email": OFFICER}, page="/office/accounts")
    assert own.status_code == 400 and "your own account" in own.text
    with pytest.raises(UsageError, match="last officer"):
        accounts.disable(portal.deps, email=OFFICER, by=OPERATOR)
    make_account(portal.deps, "second@office.org")
    with session_scope(portal.deps.engine) as session:
        from models.accounts import account_by_email

        second = account_by_email(session, email="second@office.org")
        assert second is not None
        second.role = "officer"
        second.partner_id = None
        session.add(second)
    accounts.disable(portal.deps, email=OFFICER, by=OPERATOR)  # another officer remains
