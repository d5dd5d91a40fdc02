"""What a partner reads and does besides uploading: a test check recorded nowhere, its months in words, its review
and its reply (recorded exactly as `alliance review reply` records one), and pages that never show a traceback."""

from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from domain.return_status import Standing
from models.db import session_scope
from models.tables import AuditEntry, ReviewReply, Submission
from services import portal as portal_service
from tests.web.conftest import CITY, HARBOUR, Portal, bad_return, flag_for_review, good_return, start_portal, upload


def test_a_check_without_sending_shows_the_findings_and_records_nothing(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    page = person.post("/check", files={"return": ("draft.xlsx", bad_return(portal.deps))}, page="/check")
    assert page.status_code == 200 and "draft.xlsx: it would be sent back" in page.text
    assert "super complex" in page.text and "How to fix:" in page.text
    clean = person.post("/check", files={"return": ("draft.xlsx", good_return(portal.deps))}, page="/check")
    assert "it would be accepted" in clean.text
    with session_scope(portal.deps.engine) as session:
        assert session.exec(select(func.count()).select_from(Submission)).one() == 0
    workspace = portal.deps.workspace
    assert not workspace.archive.exists() and not workspace.inbox.exists()
    assert list(workspace.uploads.iterdir()) == []


def test_a_partner_cannot_check_another_partners_file_and_is_told_nothing_of_it(portal: Portal) -> None:
    person = portal.person(CITY)
    page = person.post("/check", files={"return": ("theirs.xlsx", bad_return(portal.deps))}, page="/check")
    assert page.status_code == 400 and "another partner&#39;s return: you can check your own" in page.text
    assert "super complex" not in page.text


def test_months_read_in_the_words_partners_know(portal: Portal) -> None:
    person = portal.person(HARBOUR)
    deps = portal.deps
    signed_in = portal_service.months  # the words come from services.portal, the page shows them
    upload(person, portal, "bad.xlsx", bad_return(deps))
    from services.accounts import current

    principal = current(deps, person.client.cookies.get("alliance_session"))
    assert principal is not None
    by_month = {str(m.period): m for m in signed_in(deps, principal.principal)}
    assert by_month["2026-10"].standing is Standing.sent_back and by_month["2026-10"].errors == 2
    assert by_month["2026-11"].standing is Standing.not_yet_due  # November has not ended
    assert by_month["2026-09"].standing is Standing.overdue  # due 14 October, nothing came
    assert list(by_month)[0] == "2026-11" and list(by_month)[-1] == "2026-04"  # newest first, from the start
    page = person.get("/returns").text
    assert "Sent back" in page and "Overdue" in page and "Not yet due" in page
    portal.clock.advance(days=30)  # 5 December: October's due date has passed, November's has not
    person = portal.person(HARBOUR)  # a month later: signed in again
    upload(person, portal, "good.xlsx", good_return(deps))
    by_month = {str(m.period): m for m in signed_in(deps, principal.principal)}
    assert (by_month["2026-10"].standing, by_month["2026-10"].late) == (Standing.accepted, False)  # v1 was on time
    assert by_month["2026-11"].standing is Standing.due


def test_a_flagged_partner_reads_its_notice_and_replies_with_a_document(portal: Portal) -> None:
    flag_for_review(portal.deps, "harbour-trust")
    person = portal.person(HARBOUR)
    review = person.get("/review").text
    assert "achieved well below what its case mix predicts" in review and "Open until 30 November 2026" in review
    letter = b"%PDF-1.4 our answer"
    response = person.post(
        "/review/1/reply",
        {"text": "We took the hardest cases <b>in the city</b>."},
        files={"document": ("../Our answer.pdf", letter)},
        page="/review/1/reply",
    )
    assert response.status_code == 303
    with session_scope(portal.deps.engine) as session:
        [reply] = session.exec(select(ReviewReply)).all()
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "review.reply")).one()
    assert reply.by == "Ann Harbour (ann@harbour.org)" and audited.actor == reply.by
    assert reply.text == "We took the hardest cases <b>in the city</b>." and reply.filename == "Our answer.pdf"
    assert (portal.deps.workspace.root / (reply.stored_path or "")).read_bytes() == letter
    shown = person.get("/review").text
    assert "with Our answer.pdf" in shown and "<b>in the city" not in shown
    city = portal.person(CITY)
    assert city.get("/review/1/reply").status_code == 404
    assert city.post("/review/1/reply", {"text": "not ours"}, page="/returns").status_code == 404


def test_an_empty_reply_or_an_attachment_over_the_limit_is_a_clear_message(tmp_path: Path) -> None:
    portal = start_portal(tmp_path / "ws", reply_limit=10_000)
    try:
        flag_for_review(portal.deps, "harbour-trust")
        person = portal.person(HARBOUR)
        empty = person.post("/review/1/reply", {"text": "  "}, page="/review/1/reply")
        assert empty.status_code == 400 and "Write your reply or attach a document" in empty.text
        big = person.post(
            "/review/1/reply", {"text": "x"}, files={"document": ("big.pdf", b"0" * 20_000)}, page="/review/1/reply"
        )
        assert big.status_code == 400 and "must be smaller than" in big.text
        with session_scope(portal.deps.engine) as session:
            assert session.exec(select(func.count()).select_from(ReviewReply)).one() == 0
        assert list(portal.deps.workspace.uploads.iterdir()) == []
    finally:
        portal.close()


def test_an_internal_error_is_a_page_that_says_what_to_do_never_a_traceback(portal: Portal, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded at /srv/secret/path")

    monkeypatch.setattr(portal_service, "statements", broken)
    page = portal.person(HARBOUR).get("/statements")
    assert page.status_code == 500 and "Sorry, there is a problem with the service" in page.text
    assert "Traceback" not in page.text and "exploded" not in page.text and "/srv/secret" not in page.text
